"""The systems a benchmark compares: rtdenoise's models as they run live (and offline), and the peers.

Each system is a :class:`~rtdenoise.bench.speed.Timed` enhancer (mono at the example's rate in,
the same length out, aligned), so scoring its quality also times it over whole files. Each runs
full-band audio at its native rate where it has one for it (a spectral model and RNNoise and
DeepFilterNet3 at 48 kHz), and otherwise through its own rate and back, band-limited to it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..evaluation.evaluate import Enhancer, at_rate
from ..families import of
from ..families.runtime import for_model
from ..model import backends
from ..model.framing import StreamConfig
from ..model.pretrained import load_model
from ..signal.offline import enhance
from ..signal.streaming import enhance_like_stream
from . import peers
from .speed import Timed


@dataclass
class LiveSystem:
    """A model as ``rtdenoise live`` runs it by default: what its per-hop timing needs."""

    label: str
    model: Any                       # a torch generator, or a GraphModel without torch
    framing: StreamConfig
    backend: backends.Backend
    offline: str | None              # the label of its offline row (none for a spectral model: it is the same)


def cpu_backends(model: Any) -> list[tuple[str, str]]:
    """Every CPU backend at every precision the model's family runs there (the seed family's int8
    only where its calibration clip is present)."""
    family = of(model)
    return [(b, p) for b in backends.available() if b != "cuda" for p in family.usable_precisions(b)]


def rtdenoise_systems(names: list[str], threads: int) -> tuple[dict[str, Timed], list[LiveSystem]]:
    """Each model live at its default framing on the default CPU backend, beside it the other
    precision of that backend (what quantisation costs or gains), and the seed family offline."""
    default_cpu = backends.choose("auto", "cpu")
    systems: dict[str, Timed] = {}
    live: list[LiveSystem] = []
    for name in names:
        model = load_model(name, "cpu")
        family = of(model)
        stream = family.framing(model.config)
        precision = family.resolve_precision(default_cpu, "auto")
        be = for_model(model, default_cpu, threads, precision)
        label = f"{name} live {stream.latency_ms:.0f} ms"
        systems[label] = Timed(as_streamed(model, stream, be))
        other = next((p for b, p in cpu_backends(model) if b == default_cpu and p != precision), None)
        if other is not None:
            alt = for_model(model, default_cpu, threads, other)
            systems[f"{label} ({default_cpu} {other})"] = Timed(as_streamed(model, stream, alt))
        offline = None if family.fixed_framing else f"{name} offline"     # a fixed framing's offline is its stream's
        if offline:
            systems[offline] = Timed(lambda x, rate, m=model, b=be: enhance(m, x, rate, backend=b))
        live.append(LiveSystem(label, model, stream, be, offline))
    return systems, live


def as_streamed(model: Any, stream: StreamConfig, backend: backends.Backend) -> Enhancer:
    """The model as its stream runs at ``stream``'s framing, offline: at another rate it streams at
    natively, with its own framing there (the same latency); at any other, through ``stream``'s rate."""
    family = of(model)
    at_own = at_rate(lambda x: enhance_like_stream(model, x, stream, backend=backend), stream.rate)

    def run(x: np.ndarray, rate: int) -> np.ndarray:
        if rate != stream.rate and rate in family.rates(model.config):
            return enhance_like_stream(model, x, family.framing(model.config, rate=rate), backend=backend)
        return at_own(x, rate)
    return run


def peer_systems(names: list[str] | None) -> tuple[dict[str, Timed], list[peers.Peer], list[str]]:
    """The installed peers as systems, the peers themselves (for their frame timing), and a note
    for each one that was skipped."""
    loaded, notes = peers.load(names)
    return {p.name: Timed(p.enhance) for p in loaded}, loaded, notes
