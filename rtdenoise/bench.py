"""``rtdenoise bench``: rtdenoise and its peers, side by side, on the same audio, in one run.

Quality: PESQ (wide-band), STOI and SI-SDR on the fixed, seeded validation material (valid
speakers x valid noises: the 120 mixtures at -5 to 15 dB SNR, and the groups of rooms, telephone
band, quiet or clipped microphones and nearly clean speech; :mod:`rtdenoise.evaluate`), per group,
per SNR and overall, with the noisy input as a row. rtdenoise is scored as it runs live (the
streaming framing at the default latency, :func:`~rtdenoise.streaming.enhance_like_stream`) and,
for the seed family, offline (overlapping whole windows; a spectral model's offline output is its
stream's); peers as :mod:`rtdenoise.peers` runs them.

Speed, on this CPU in this run: the real-time factor over the whole files (compute / audio time,
resampling included for peers), and per hop (p50, p99) as a live stream would call each system,
with each system's algorithmic latency. rtdenoise's per-hop time is timed on every backend present
(and, with a GPU, the ``seed`` preset at a 16 ms hop with CUDA events).

Writes ``bench.md`` (the tables, with date, machine and command), ``bench.json`` and ``bench.png``
into ``--out``.
"""
from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import platform
import shlex
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import RtDenoiseError

log = logging.getLogger(__name__)


@dataclass
class SpeedRow:
    system: str
    backend: str
    latency_ms: float | None          # algorithmic; None for whole-signal (offline) systems
    file_rtf: float | None            # whole files: compute / audio duration
    hop_ms: float | None              # audio per call when streaming
    hop_p50_ms: float | None
    hop_p99_ms: float | None

    @property
    def hop_rtf(self) -> float | None:
        return None if self.hop_p50_ms is None or not self.hop_ms else self.hop_p50_ms / self.hop_ms

    def cells(self) -> list[str]:
        f = lambda v, fmt: "n/a" if v is None else format(v, fmt)
        return [self.system, self.backend, f(self.latency_ms, ".0f"), f(self.file_rtf, ".3f"), f(self.hop_ms, ".0f"),
                f(self.hop_p50_ms, ".2f"), f(self.hop_p99_ms, ".2f"), f(self.hop_rtf, ".3f")]


SPEED_HEADER = ["system", "backend", "latency ms", "RTF whole files", "hop ms", "hop p50 ms", "hop p99 ms", "RTF per hop"]


class Timed:
    """Wraps an enhancer and adds up its compute time and the audio it processed."""

    def __init__(self, fn: Callable[[np.ndarray], np.ndarray], rate: int = 16000) -> None:
        self.fn, self.rate = fn, rate
        self.seconds = 0.0
        self.audio = 0.0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        t0 = time.perf_counter()
        y = self.fn(x)
        self.seconds += time.perf_counter() - t0
        self.audio += len(x) / self.rate
        return y

    @property
    def rtf(self) -> float | None:
        return self.seconds / self.audio if self.audio else None


def machine() -> str:
    """CPU model, cores, GPU if any, and library versions: what the figures depend on."""
    import torch
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ", no GPU"
    ort = ""
    try:
        import onnxruntime
        ort = f", onnxruntime {onnxruntime.__version__}"
    except ImportError:
        pass
    return f"{cpu}, {os.cpu_count()} cores{gpu}; Python {platform.python_version()}, torch {torch.__version__}{ort}"


def cuda_hop_events(preset_name: str = "seed", hop: int = 256, hops: int = 500) -> dict[str, float]:
    """Compute per hop of a preset on the GPU (cuda backend, CUDA graph), timed with CUDA events
    around each graph replay after warm-up: the GPU target's figure."""
    import torch
    from .config import preset
    from .model import NoiseCanceler
    from .backends import cuda_fn
    from .streaming import StreamConfig, StreamingDenoiser
    torch.manual_seed(0)
    net = NoiseCanceler(preset(preset_name)).to("cuda").eval().requires_grad_(False)
    W = net.config.window
    stream = StreamConfig(W, hop, min(hop, W - hop))
    fn = cuda_fn(net)
    den = StreamingDenoiser(fn, stream, net.config.preemphasis)
    x = (0.05 * np.random.default_rng(0).standard_normal(hop)).astype(np.float32)
    out = np.empty(hop, np.float32)
    for _ in range(50):
        den.process_hop(x, out)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    gpu, wall = [], []
    for _ in range(hops):
        t0 = time.perf_counter()
        start.record()
        den.process_hop(x, out)              # host copy in, graph replay, copy out, one sync
        end.record()
        end.synchronize()
        wall.append(1000 * (time.perf_counter() - t0))
        gpu.append(start.elapsed_time(end))
    return {"preset": preset_name, "hop": hop, "hop_ms": 1000 * hop / 16000,
            "events_p50_ms": float(np.percentile(gpu, 50)), "events_p99_ms": float(np.percentile(gpu, 99)),
            "wall_p50_ms": float(np.percentile(wall, 50)), "wall_p99_ms": float(np.percentile(wall, 99))}


def markdown(header: list[str], rows: list[list[str]]) -> str:
    return "\n".join(["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
                     + ["| " + " | ".join(r) + " |" for r in rows])


def plot(path: Path, summary: list[dict], speed: list[SpeedRow], title: str) -> None:
    """PESQ by input SNR on the mixtures, SI-SDR per validation group, and the per-hop real-time
    factor, per system."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    systems = list(dict.fromkeys(e["system"] for e in summary))
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.8))
    for s in systems:
        pts = sorted((float(e["snr"]), e["pesq"]) for e in summary if e["system"] == s and e["group"] == "mixtures"
                     and e["snr"] not in ("all", "n/a", "10+"))
        if pts:
            axes[0].plot(*zip(*pts), marker="o", label=s, linestyle="--" if s == "noisy" else "-")
    axes[0].set_xlabel("input SNR (dB), the 120 mixtures")
    axes[0].set_ylabel("PESQ (wb)")
    axes[0].grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    groups = list(dict.fromkeys(e["group"] for e in summary if e["snr"] == "all"))
    width = 0.8 / max(1, len(systems))
    for i, s in enumerate(systems):
        vals = [next((e["si_sdr"] for e in summary if e["system"] == s and e["group"] == g and e["snr"] == "all"), np.nan)
                for g in groups]
        axes[1].bar(np.arange(len(groups)) + i * width, vals, width, label=s)
    axes[1].set_xticks(np.arange(len(groups)) + 0.4 - width / 2, groups, fontsize=8)
    axes[1].set_ylabel("SI-SDR (dB)")
    axes[1].grid(alpha=0.3, axis="y")
    streaming = [r for r in speed if r.hop_rtf is not None]
    names = [f"{r.system}\n{r.backend}, {r.latency_ms:.0f} ms" for r in streaming]
    axes[2].barh(names, [r.hop_rtf for r in streaming], color="tab:blue")
    axes[2].set_xlabel("real-time factor per hop (lower is faster)")
    axes[2].tick_params(axis="y", labelsize=7)
    axes[2].invert_yaxis()
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- the command -----------------------------------------------------------------------------------

def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", help="recordings folder (default: ../shared/data or $RTDENOISE_DATA)")
    p.add_argument("--count", type=int, default=120, help="validation mixtures (default 120)")
    p.add_argument("--group-count", type=int, default=40,
                   help="examples in each other validation group: rooms, telephone, levels, clean (default 40; 0: none)")
    p.add_argument("--seconds", type=float, default=4.0, help="seconds per mixture")
    p.add_argument("--models", nargs="*", help="rtdenoise models (default: every shipped model)")
    p.add_argument("--peers", nargs="*", help="peers to run (default: all installed): rnnoise deepfilternet3 spectral-gating")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for rtdenoise (default 1, as rtdenoise live)")
    p.add_argument("--hops", type=int, default=300, help="hops timed per streaming system")
    p.add_argument("--out", default="bench-results", help="folder for bench.md, bench.json, bench.png")


def main(args: argparse.Namespace) -> int:
    import torch
    from . import backends, peers as peer_mod
    from .data import GROUPS, Corpus, default_data_dir
    from .enhance import enhance_16k
    from .evaluate import evaluate, summarise, table, validation_examples
    from .hop_timing import time_hops
    from .pretrained import load_model, model_dirs
    from .spectral import SpectralCanceler
    from .streaming import default_stream_config, enhance_like_stream, spectral_stream_config

    if args.count < 1:
        raise RtDenoiseError("--count must be at least 1")
    out = Path(args.out)
    torch.set_num_threads(max(1, args.threads))
    data = Path(args.data) if args.data else default_data_dir()
    try:
        examples = validation_examples(Corpus.load(data, "valid"), GROUPS, args.count, args.group_count, args.seconds)
    except (FileNotFoundError, ValueError) as e:
        raise RtDenoiseError(str(e)) from None
    names = args.models or sorted(dict.fromkeys(p.stem for d in model_dirs() for p in d.glob("*.json")))
    if not names:
        raise RtDenoiseError("no models found (models/ folder or --models)")
    default_cpu = backends.resolve("auto", "cpu")

    def cpu_backends(family: str) -> list[tuple[str, str]]:
        """Every CPU backend at every precision it has for the family (the seed family's int8 only
        where its calibration clip is present)."""
        table_ = backends.SPECTRAL_PRECISIONS if family == "spectral" else backends.PRECISIONS
        return [(b, p) for b in backends.available() if b != "cuda" for p in table_[b]
                if family == "spectral" or p == "fp32" or backends.resolve_precision(b) == p]

    systems: dict[str, Timed] = {}
    speed: list[SpeedRow] = []
    live_rows: dict[str, tuple] = {}              # live label -> (model, stream, backend, offline label or None)
    for name in names:
        model = load_model(name, "cpu")
        family = model.config.family
        spectral = isinstance(model, SpectralCanceler)
        stream = spectral_stream_config(model.config) if spectral else default_stream_config(model.config.window)
        default_precision = backends.resolve_precision(default_cpu, "auto", family)
        be = backends.for_model(model, default_cpu, args.threads, default_precision)
        live = f"{name} live {1000 * stream.latency / 16000:.0f} ms"
        systems[live] = Timed(lambda x, m=model, s=stream, b=be: enhance_like_stream(m, x, s, backend=b))
        other = next((p for b, p in cpu_backends(family) if b == default_cpu and p != default_precision), None)
        if other is not None:                # what the other precision costs or gains, side by side
            alt = backends.for_model(model, default_cpu, args.threads, other)
            systems[f"{live} ({default_cpu} {other})"] = Timed(
                lambda x, m=model, s=stream, b=alt: enhance_like_stream(m, x, s, backend=b))
        offline = None if spectral else f"{name} offline"
        if offline:
            systems[offline] = Timed(lambda x, m=model, b=be: enhance_16k(m, x, backend=b)[0])
        live_rows[live] = (model, stream, be, offline)
    peers, notes = peer_mod.load(args.peers)
    for p in peers:
        systems[p.name] = Timed(p.enhance)

    log.info("quality on %d validation mixtures: %s", len(examples), ", ".join(["noisy", *systems]))
    rows = evaluate(examples, systems)
    summary = summarise(rows)

    log.info("speed per hop")
    for label, (model, stream, be, offline) in live_rows.items():
        for b, precision in cpu_backends(model.config.family):
            chosen = backends.for_model(model, b, args.threads, precision)
            t = time_hops(model, stream, hops=args.hops, backend=chosen)
            speed.append(SpeedRow(label, chosen.label, 1000 * stream.latency / 16000,
                                  systems[label].rtf if chosen is be else _file_rtf(model, stream, chosen, examples),
                                  1000 * stream.hop / 16000, t.p50_ms, t.p99_ms))
        if offline:
            speed.append(SpeedRow(offline, be.label, None, systems[offline].rtf, None, None, None))
    for p in peers:
        times = p.time_frames() * 1000
        frame_ms = None if p.frame is None else 1000 * p.frame / p.native_rate
        speed.append(SpeedRow(p.name, f"{p.package} ({p.native_rate // 1000} kHz)", p.latency_ms, systems[p.name].rtf,
                              frame_ms, float(np.percentile(times, 50)) if len(times) else None,
                              float(np.percentile(times, 99)) if len(times) else None))
    gpu = None
    if torch.cuda.is_available():
        log.info("GPU: seed preset, hop 256, CUDA events")
        gpu = cuda_hop_events()

    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    command = "rtdenoise bench " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    about = f"{when}; {machine()}; `{command}`; {len(examples)} validation examples of {args.seconds:g} s"
    speed_md = markdown(SPEED_HEADER, [r.cells() for r in speed])
    parts = ["# rtdenoise bench", "", about, "", "## Quality (validation groups; '10+': 10 dB SNR and above, or no noise)",
             "", table(summary, by_snr=False), "", "## Quality of the 120 mixtures per SNR", "",
             table([e for e in summary if e["group"] == "mixtures" and e["snr"] not in ("all", "10+")]), "",
             "## Speed (this CPU, this run)", "", speed_md, ""]
    if gpu:
        parts += ["## GPU", "", f"seed preset, hop {gpu['hop']} ({gpu['hop_ms']:.0f} ms), cuda backend: compute per hop "
                  f"(CUDA events) p50 {gpu['events_p50_ms']:.3f} ms, p99 {gpu['events_p99_ms']:.3f} ms; "
                  f"wall clock p50 {gpu['wall_p50_ms']:.3f} ms, p99 {gpu['wall_p99_ms']:.3f} ms", ""]
    if notes:
        parts += ["## Skipped", "", *[f"- {n}" for n in notes], ""]
    report = "\n".join(parts)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.md").write_text(report)
    (out / "bench.json").write_text(json.dumps({
        "about": about, "machine": machine(), "date": when, "command": command, "summary": summary,
        "speed": [{**asdict(r), "hop_rtf": r.hop_rtf} for r in speed], "gpu": gpu, "skipped": notes,
        "rows": [asdict(r) for r in rows]}, indent=1) + "\n")
    plot(out / "bench.png", summary, speed, about.split("; `")[0])
    print(report)
    log.info("wrote %s, %s and %s", out / "bench.md", out / "bench.json", out / "bench.png")
    return 0


def _file_rtf(model, stream, backend, examples) -> float:
    """Whole-file real-time factor of the live framing on another backend (quality is the same)."""
    from .streaming import enhance_like_stream
    timed = Timed(lambda x: enhance_like_stream(model, x, stream, backend=backend))
    for ex in examples:
        timed(ex.noisy)
    return timed.rtf or 0.0
