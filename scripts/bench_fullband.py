"""Full band at 48 kHz: the targets of the full-band work, measured on valid rows only, printed.

    .venv/bin/python scripts/bench_fullband.py [--model rtdenoise-spectral] [--split valid]

1. Clean full-band speech in (each held-out actor's clips, no noise): the energy above 8 kHz in
   speech frames (frames within 40 dB of the clip's loudest), output against input, in dB (target:
   within 1 dB); SI-SDR at 48 kHz, output against input (target: at least 25 dB).
2. Noise alone in (each held-out real noise that reaches above 16 kHz, its first 8 s, at -20, -35
   and -50 dBFS): how much the 4-8 kHz band and the band above 8 kHz lose, in dB (target: the band
   above loses at least as much as 4-8 kHz, less 3 dB).
3. Algorithmic latency at 16 and at 48 kHz (target: the same).
4. Compute per hop at 48 and at 16 kHz, onnx, one thread (target: at most 1.25 times).
5. The live engine's CPU time per second of audio from a 48 kHz device: the model at 48 kHz
   natively, and at 16 kHz behind two resamplers (how every device rate ran before full band).
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rtdenoise import StreamingDenoiser, enhance, load_model  # noqa: E402
from rtdenoise.data.fullband import RATE, fullband_speech, real_noise  # noqa: E402
from rtdenoise.evaluation.metrics import si_sdr  # noqa: E402
from rtdenoise.families import framing  # noqa: E402
from rtdenoise.families.runtime import for_model  # noqa: E402
from rtdenoise.live.engine import LiveEngine  # noqa: E402
from rtdenoise.live.file_clock import run_file  # noqa: E402

N, H = 1536, 768                    # 32 ms frames at 48 kHz, for measuring


def power(x: np.ndarray) -> np.ndarray:
    """|STFT|^2 [frames, bins] of x at 48 kHz (Hann, 32 ms, 16 ms hop)."""
    x = np.pad(x, (0, (-len(x)) % H + N))
    idx = np.arange((len(x) - N) // H + 1)[:, None] * H + np.arange(N)[None]
    return np.abs(np.fft.rfft(x[idx] * np.hanning(N), axis=1)) ** 2


def band(p: np.ndarray, lo: float, hi: float) -> np.ndarray:
    f = np.fft.rfftfreq(N, 1 / RATE)
    return p[:, (f >= lo) & (f < hi)].sum(axis=1)


def db(a: float, b: float) -> float:
    return float(10 * np.log10((a + 1e-30) / (b + 1e-30)))


def paired_hops(model, f16, f48, backend, hops: int = 5000) -> tuple[np.ndarray, np.ndarray]:
    """Milliseconds per hop of a 16 kHz and a 48 kHz stream, one hop of each in turn."""
    rng = np.random.default_rng(0)
    dens = [StreamingDenoiser(model, f, backend=backend) for f in (f16, f48)]
    ins = [(0.05 * rng.standard_normal(f.hop)).astype(np.float32) for f in (f16, f48)]
    outs = [np.empty(f.hop, np.float32) for f in (f16, f48)]
    times = np.zeros((2, hops))
    for i in range(-200, hops):                    # 200 hops of warm-up
        for k in (0, 1):
            t0 = time.perf_counter()
            dens[k].process_hop(ins[k], outs[k])
            if i >= 0:
                times[k, i] = 1000 * (time.perf_counter() - t0)
    return times[0], times[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="rtdenoise-spectral")
    ap.add_argument("--split", default="valid", help="rows to measure on (valid; train to tune without selecting on valid)")
    args = ap.parse_args()
    model = load_model(args.model, "cpu")
    be = for_model(model, "onnx", 1)

    print(f"# {args.model}, {args.split} rows, onnx fp32, one thread\n\n## 1. Clean full-band speech in")
    speech = fullband_speech(split=args.split)
    kept, sdrs = [], []
    for speaker in sorted({r.group for r in speech}):
        x = np.concatenate([r.audio for r in speech if r.group == speaker])
        x = 0.1 * x / np.sqrt(np.mean(x ** 2))                       # -20 dBFS
        y = enhance(model, x, RATE, backend=be)
        px, py = power(x), power(y)
        frames = px.sum(axis=1) > px.sum(axis=1).max() * 1e-4
        kept.append(db(band(py, 8000, 24000)[frames].sum(), band(px, 8000, 24000)[frames].sum()))
        sdrs.append(si_sdr(x, y))
        print(f"- {speaker}: above 8 kHz in speech frames {kept[-1]:+.2f} dB; SI-SDR {sdrs[-1]:.1f} dB")
    print(f"- all: above 8 kHz {min(kept):+.2f} to {max(kept):+.2f} dB (target within 1 dB); "
          f"SI-SDR median {np.median(sdrs):.1f} dB, least {min(sdrs):.1f} (target 25)")

    print("\n## 2. Noise alone in (dB removed: 4-8 kHz / above 8 kHz)")
    margins = []
    for rec in real_noise(split=args.split):
        x0 = rec.audio[:8 * RATE]
        row = []
        for level in (-20.0, -35.0, -50.0):
            x = (x0 * 10 ** (level / 20) / np.sqrt(np.mean(x0 ** 2))).astype(np.float32)
            y = enhance(model, x, RATE, backend=be)
            px, py = power(x), power(y)
            mid = -db(band(py, 4000, 8000).sum(), band(px, 4000, 8000).sum())
            high = -db(band(py, 8000, 24000).sum(), band(px, 8000, 24000).sum())
            margins.append(high - mid)
            row.append(f"{level:.0f} dBFS {mid:.1f} / {high:.1f}")
        print(f"- {Path(rec.name).stem} ({rec.bandwidth_hz / 1000:.1f} kHz): " + "; ".join(row))
    print(f"- above 8 kHz minus 4-8 kHz: least {min(margins):+.1f} dB, median {np.median(margins):+.1f} "
          f"(target at least -3)")

    print("\n## 3. Algorithmic latency")
    f16, f48 = framing(model), framing(model, rate=RATE)
    print(f"- 16 kHz: {f16.latency_ms:.1f} ms ({f16.window}/{f16.hop}); 48 kHz: {f48.latency_ms:.1f} ms "
          f"({f48.window}/{f48.hop})")

    print("\n## 4. Compute per hop (p50 / p99; the two streams' hops interleaved, so drift hits both alike)")
    t16, t48 = paired_hops(model, f16, f48, be)
    p = lambda t: f"{np.median(t):.3f} / {np.percentile(t, 99):.3f} ms"
    print(f"- 16 kHz: {p(t16)}; 48 kHz: {p(t48)}; ratio of medians {np.median(t48) / np.median(t16):.2f} "
          "(target at most 1.25)")

    print("\n## 5. Live engine, 48 kHz device, CPU per second of audio (as fast as possible, median of 3)")
    audio = (0.05 * np.random.default_rng(0).standard_normal((20 * RATE, 1))).astype(np.float32)
    for label, stream in (("native 48 kHz", f48), ("16 kHz behind two resamplers", f16)):
        runs = []
        for _ in range(3):
            engine = LiveEngine(model, RATE, stream=stream, backend=be)
            t0 = time.process_time()
            run_file(engine, audio)
            runs.append((time.process_time() - t0) / 20)
        print(f"- {label}: {1000 * np.median(runs):.1f} ms of CPU per second")


if __name__ == "__main__":
    main()
