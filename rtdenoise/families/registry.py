"""The families by name, and the one place a model or config is mapped to its family.

Adding a family: its module beside this one, and one entry in :data:`FAMILIES` (with its config
class in :data:`rtdenoise.model.config.FAMILIES` and its generator in
:data:`rtdenoise.model.weights.GENERATORS`).
"""
from __future__ import annotations

from typing import Any

from ..model.framing import StreamConfig
from .base import Family
from .seed import SEED
from .spectral import SPECTRAL

FAMILIES: dict[str, Family] = {f.name: f for f in (SEED, SPECTRAL)}
#: What a plain window function (a callable with no config: tests, custom models) streams as:
#: the seed family's sliding window.
WINDOW_FUNCTIONS: Family = SEED


def of(thing: Any) -> Family | None:
    """The family of a model (a torch module or a graph model) or of a config; None for anything
    else, such as a plain window function."""
    config = getattr(thing, "config", thing)
    return FAMILIES.get(getattr(type(config), "family", None))


def framing(thing: Any, hop: int | None = None, lookahead: int | None = None, rate: int | None = None) -> StreamConfig:
    """How a model (or a config) streams at ``rate`` (None: its own) with the user's optional hop
    and look-ahead: computed and checked here once; every caller reads what this returns."""
    family = of(thing)
    if family is None:
        raise TypeError(f"not a model or a model config: {type(thing).__name__}")
    return family.framing(getattr(thing, "config", thing), hop, lookahead, rate)
