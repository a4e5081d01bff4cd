"""Compute per hop of the streaming generator, per preset: the figure that says what runs live.

Times :meth:`StreamingDenoiser.process_hop` back to back on one thread of work (the inference
thread's job), after a warm-up, and reports p50/p99 and the real-time factor (compute / hop
duration). Shipped models are timed with their weights; other presets with random weights, which
cost the same.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from .config import ALL_PRESETS, preset
from .model import count_parameters
from .backends import Backend
from .pretrained import Generator, build_generator
from .spectral import SpectralCanceler
from .streaming import StreamConfig, StreamingDenoiser, default_stream_config, spectral_stream_config


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
        return (f"| {self.preset} | {self.params_m:.1f} M | {self.window} | {self.hop} ({1000 * self.hop / 16000:.0f} ms) "
                f"| {self.lookahead} | {self.backend} | {self.p50_ms:.1f} | {self.p99_ms:.1f} | {self.real_time_factor:.2f} |")


HEADER = ("| preset | G params | window | hop | look-ahead | backend | p50 ms | p99 ms | real-time factor |\n"
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- |")


def time_hops(model: Generator, stream: StreamConfig | None = None, hops: int = 200, name: str = "",
              backend: str | Backend | None = "auto") -> HopTiming:
    """Median and 99th percentile compute per hop over ``hops`` hops of noise input."""
    if stream is None:
        stream = (spectral_stream_config(model.config) if isinstance(model, SpectralCanceler)
                  else default_stream_config(model.config.window))
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
    return HopTiming(name or "model", count_parameters(model) / 1e6, stream.window, stream.hop, stream.lookahead,
                     den.backend.label, float(p50), float(p99), float(times.mean() / (stream.hop / 16000)))


def random_model(name: str, device: str = "cpu") -> Generator:
    torch.manual_seed(0)
    return build_generator(preset(name)).to(device).eval().requires_grad_(False)


def presets() -> list[str]:
    """Every preset of both families but those for tests."""
    return [p for p in ALL_PRESETS if not p.endswith("tiny")]
