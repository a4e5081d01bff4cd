"""A live engine for a model given by name, with the live commands' defaults: what ``rtdenoise
live`` and the window both start (:func:`build_engine`)."""
from __future__ import annotations

import logging
from pathlib import Path

from ..errors import check_range
from ..families.runtime import open_model
from ..model.pretrained import torch_module
from .engine import LiveConfig, LiveEngine

log = logging.getLogger(__name__)


def build_engine(rate: int, in_channels: int = 1, out_channels: int = 1, *, model: str | None = None,
                 backend: str | None = "auto", device: str | None = None, precision: str | None = "auto",
                 threads: int = 1, hop: int | None = None, lookahead: int | None = None,
                 safety_ms: float | None = None, block_ms: float = LiveConfig.block_ms,
                 record: Path | None = None, noise_output: bool = False,
                 realtime_priority: int | None = None, hold_latency: bool = True) -> LiveEngine:
    """A :class:`LiveEngine` at device ``rate`` for a model by name. The model streams at the rate
    its family runs that device rate at (a spectral model at 48 kHz natively, with no resampler;
    44.1 kHz resampled to 48 kHz). ``hop`` and ``lookahead`` are in samples at the model's rate
    (None: the model's defaults); they are checked, with the other values, before the model loads."""
    check_range("threads", threads, 1)
    check_range("safety_ms", safety_ms, 0, 2000)
    check_range("block_ms", block_ms, 1, 100)
    check_range("realtime_priority", realtime_priority, 2, 98)
    torch = torch_module()
    if torch is not None:                              # torch runs G on the torch and cuda backends
        torch.set_num_threads(max(1, threads))
    opened = open_model(model, backend, device, threads=threads, precision=precision, hop=hop,
                        lookahead=lookahead, rate=rate, stream=True)
    f = opened.framing
    config = LiveConfig(safety_ms=safety_ms, block_ms=block_ms, realtime_priority=realtime_priority,
                        hold_tolerance_ms=LiveConfig.hold_tolerance_ms if hold_latency else None)
    engine = LiveEngine(opened.model, rate, in_channels, out_channels, config, f, record, noise_output=noise_output,
                        backend=opened.backend)
    log.info("model %s on %s at %d Hz; windows of %d samples every %d, %s: algorithmic latency %.0f ms",
             opened.model.source.stem, opened.backend.label, f.rate, f.window, f.hop,
             f"look-ahead {f.lookahead} samples" if f.lookahead else "no look-ahead", f.latency_ms)
    return engine
