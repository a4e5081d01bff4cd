"""Speed, measured on this machine in this run: compute per streaming hop, and whole files.

:func:`time_hops` times :meth:`StreamingDenoiser.process_hop` back to back on one thread of work
(the inference thread's job), after a warm-up, and reports p50/p99 and the real-time factor
(compute / hop duration). Shipped models are timed with their weights; other presets with random
weights, which cost the same. :class:`Timed` adds up the compute of whole files as quality is
scored, and :func:`cuda_hop_events` gives the GPU figure with CUDA events.
"""
from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from typing import Any

import numpy as np

from ..families import framing
from ..model.backends import Backend
from ..model.config import ALL_PRESETS, SAMPLE_RATE, preset
from ..model.framing import StreamConfig
from ..model.pretrained import torch_module
from ..signal.streaming import StreamingDenoiser, enhance_like_stream


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


@dataclass
class HopTiming:
    preset: str
    params_m: float
    window: int
    hop: int
    lookahead: int
    backend: str
    p50_ms: float
    p99_ms: float
    real_time_factor: float

    def row(self) -> str:
        return (f"| {self.preset} | {self.params_m:.1f} M | {self.window} | {self.hop} ({1000 * self.hop / SAMPLE_RATE:.0f} ms) "
                f"| {self.lookahead} | {self.backend} | {self.p50_ms:.1f} | {self.p99_ms:.1f} | {self.real_time_factor:.2f} |")


HEADER = ("| preset | G params | window | hop | look-ahead | backend | p50 ms | p99 ms | real-time factor |\n"
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- |")


def time_hops(model: Any, stream: StreamConfig | None = None, hops: int = 200, name: str = "",
              backend: str | Backend | None = "auto") -> HopTiming:
    """Median and 99th percentile compute per hop over ``hops`` hops of noise input."""
    if stream is None:
        stream = framing(model)
    den = StreamingDenoiser(model, stream, backend=backend)
    den.warm_up()
    x = (0.05 * np.random.default_rng(0).standard_normal(stream.hop)).astype(np.float32)
    out = np.empty(stream.hop, np.float32)
    for _ in range(5):
        den.process_hop(x, out)
    times = np.empty(hops)
    for i in range(hops):
        t0 = time.perf_counter()
        den.process_hop(x, out)
        times[i] = time.perf_counter() - t0
    p50, p99 = np.percentile(times, [50, 99]) * 1000
    params = sum(p.numel() for p in model.parameters()) / 1e6 if hasattr(model, "parameters") else float("nan")
    return HopTiming(name or "model", params, stream.window, stream.hop, stream.lookahead,
                     den.backend.label, float(p50), float(p99), float(times.mean() / (stream.hop / stream.rate)))


def random_model(name: str, device: str = "cpu") -> Any:
    """A preset's generator with seeded random weights (they cost what trained ones do). Needs PyTorch."""
    import torch
    from ..model.weights import build_generator
    torch.manual_seed(0)
    return build_generator(preset(name)).to(device).eval().requires_grad_(False)


def presets() -> list[str]:
    """Every preset of both families but those for tests."""
    return [p for p in ALL_PRESETS if not p.endswith("tiny")]


class Timed:
    """Wraps an enhancer and adds up its compute time and the audio it processed."""

    def __init__(self, fn: Callable[[np.ndarray, int], np.ndarray]) -> None:
        self.fn = fn
        self.seconds = 0.0
        self.audio = 0.0

    def __call__(self, x: np.ndarray, rate: int = SAMPLE_RATE) -> np.ndarray:
        t0 = time.perf_counter()
        y = self.fn(x, rate)
        self.seconds += time.perf_counter() - t0
        self.audio += len(x) / rate
        return y

    @property
    def rtf(self) -> float | None:
        return self.seconds / self.audio if self.audio else None


def file_rtf(model, stream, backend, examples) -> float | None:
    """Whole-file real-time factor of the live framing on another backend (quality is the same),
    over the examples at the framing's rate (None if there are none)."""
    timed = Timed(lambda x, rate: enhance_like_stream(model, x, stream, backend=backend))
    for ex in (e for e in examples if e.rate == stream.rate):
        timed(ex.noisy, ex.rate)
    return timed.rtf


def machine() -> str:
    """CPU model, cores, GPU if any, and library versions: what the figures depend on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    torch = torch_module()
    if torch is None:
        gpu, version = ", no PyTorch", ""
    else:
        gpu = f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ", no GPU"
        version = f", torch {torch.__version__}"
    ort = ""
    try:
        import onnxruntime
        ort = f", onnxruntime {onnxruntime.__version__}"
    except ImportError:
        pass
    return f"{cpu}, {os.cpu_count()} cores{gpu}; Python {platform.python_version()}{version}{ort}"


def cuda_hop_events(preset_name: str = "seed", hop: int = 256, hops: int = 500) -> dict[str, float]:
    """Compute per hop of a preset on the GPU (cuda backend, CUDA graph), timed with CUDA events
    around each graph replay after warm-up: the GPU target's figure."""
    import torch
    from ..model.cuda import window_fn
    from ..model.seed import NoiseCanceler
    torch.manual_seed(0)
    net = NoiseCanceler(preset(preset_name)).to("cuda").eval().requires_grad_(False)
    W = net.config.window
    stream = StreamConfig(W, hop, min(hop, W - hop))
    den = StreamingDenoiser(window_fn(net), stream, net.config.preemphasis)
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
    return {"preset": preset_name, "hop": hop, "hop_ms": 1000 * hop / SAMPLE_RATE,
            "events_p50_ms": float(np.percentile(gpu, 50)), "events_p99_ms": float(np.percentile(gpu, 99)),
            "wall_p50_ms": float(np.percentile(wall, 50)), "wall_p99_ms": float(np.percentile(wall, 99))}
