"""The systems a benchmark compares: rtdenoise's models as they run live (and offline), and the peers.

Each system is a :class:`~rtdenoise.bench.speed.Timed` enhancer (16 kHz mono in, the same length
out, aligned), so scoring its quality also times it over whole files.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..model import backends
from ..model.config import SAMPLE_RATE
from ..model.pretrained import load_model
from ..model.config import family_of
from ..signal.offline import enhance_16k
from ..signal.streaming import StreamConfig, default_stream_config, enhance_like_stream, spectral_stream_config
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


def cpu_backends(family: str) -> list[tuple[str, str]]:
    """Every CPU backend at every precision it has for the family (the seed family's int8 only
    where its calibration clip is present)."""
    per = backends.SPECTRAL_PRECISIONS if family == "spectral" else backends.PRECISIONS
    return [(b, p) for b in backends.available() if b != "cuda" for p in per[b]
            if family == "spectral" or p == "fp32" or backends.resolve_precision(b) == p]


def rtdenoise_systems(names: list[str], threads: int) -> tuple[dict[str, Timed], list[LiveSystem]]:
    """Each model live at its default framing on the default CPU backend, beside it the other
    precision of that backend (what quantisation costs or gains), and the seed family offline."""
    default_cpu = backends.choose("auto", "cpu")
    systems: dict[str, Timed] = {}
    live: list[LiveSystem] = []
    for name in names:
        model = load_model(name, "cpu")
        family = model.config.family
        spectral = family_of(model) == "spectral"
        stream = spectral_stream_config(model.config) if spectral else default_stream_config(model.config.window)
        precision = backends.resolve_precision(default_cpu, "auto", family)
        be = backends.for_model(model, default_cpu, threads, precision)
        label = f"{name} live {1000 * stream.latency / SAMPLE_RATE:.0f} ms"
        systems[label] = Timed(lambda x, m=model, s=stream, b=be: enhance_like_stream(m, x, s, backend=b))
        other = next((p for b, p in cpu_backends(family) if b == default_cpu and p != precision), None)
        if other is not None:
            alt = backends.for_model(model, default_cpu, threads, other)
            systems[f"{label} ({default_cpu} {other})"] = Timed(
                lambda x, m=model, s=stream, b=alt: enhance_like_stream(m, x, s, backend=b))
        offline = None if spectral else f"{name} offline"
        if offline:
            systems[offline] = Timed(lambda x, m=model, b=be: enhance_16k(m, x, backend=b)[0])
        live.append(LiveSystem(label, model, stream, be, offline))
    return systems, live


def peer_systems(names: list[str] | None) -> tuple[dict[str, Timed], list[peers.Peer], list[str]]:
    """The installed peers as systems, the peers themselves (for their frame timing), and a note
    for each one that was skipped."""
    loaded, notes = peers.load(names)
    return {p.name: Timed(p.enhance) for p in loaded}, loaded, notes
