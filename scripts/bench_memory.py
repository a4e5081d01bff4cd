"""Peak memory (RSS) of `rtdenoise enhance` (or `live --in-file`) against the length of the file: it should not grow.

    .venv/bin/python scripts/bench_memory.py                       # 3 s, 5 min and 20 min at 48 kHz stereo
    .venv/bin/python scripts/bench_memory.py --command live        # the same through `live --in-file --out-file`
    .venv/bin/python scripts/bench_memory.py --checkout ../other   # the same, for another checkout's code

Each file is synthetic (speech-like tones and noise, 16-bit PCM), made once into a temporary
folder; each run is a fresh process timed by GNU time, so the figure includes Python, the model
and the libraries (`rtdenoise` loaded without PyTorch unless it is installed and chosen).
"""
import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent


def make(path: Path, seconds: float, rate: int, channels: int) -> None:
    """Write a long file in blocks (so making it does not itself need the memory being measured)."""
    rng = np.random.default_rng(0)
    with sf.SoundFile(str(path), "w", rate, channels, "PCM_16") as f:
        block = 10 * rate
        done = 0
        total = int(seconds * rate)
        while done < total:
            n = min(block, total - done)
            t = (done + np.arange(n)) / rate
            x = 0.2 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 3 * t) > 0) + 0.05 * rng.standard_normal(n)
            f.write(np.repeat(x[:, None], channels, 1).astype(np.float32))
            done += n


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkout", default=str(ROOT), help="the checkout whose code runs (default: this one)")
    p.add_argument("--seconds", type=float, nargs="+", default=[3, 300, 1200])
    p.add_argument("--rate", type=int, default=48000)
    p.add_argument("--channels", type=int, default=2)
    p.add_argument("--model", default=None)
    p.add_argument("--command", choices=["enhance", "live"], default="enhance")
    a = p.parse_args()
    env = {**os.environ, "PYTHONPATH": a.checkout}
    print(f"`rtdenoise {a.command}`\n\n| file | peak RSS (MB) | wall time (s) |\n| --- | --- | --- |")
    with tempfile.TemporaryDirectory() as d:
        for s in a.seconds:
            src = Path(d) / f"in-{s:g}s.wav"
            make(src, s, a.rate, a.channels)
            out = Path(d) / "out.wav"
            out.unlink(missing_ok=True)
            io = ["enhance", str(src), "-o", str(out)] if a.command == "enhance" else \
                ["live", "--in-file", str(src), "--out-file", str(out), "--stats-every", "0"]
            cmd = ["/usr/bin/time", "-f", "%M %e", sys.executable, "-m", "rtdenoise", *io]
            cmd += ["-m", a.model] if a.model else []
            r = subprocess.run(cmd, env=env, cwd=a.checkout, capture_output=True, text=True)
            if r.returncode != 0:
                raise SystemExit(r.stderr[-2000:])
            kb, wall = r.stderr.strip().splitlines()[-1].split()
            label = f"{s / 60:g} min" if s >= 60 else f"{s:g} s"
            print(f"| {label} at {a.rate // 1000} kHz, {a.channels} ch | {int(kb) / 1024:.0f} | {float(wall):.1f} |")


if __name__ == "__main__":
    main()
