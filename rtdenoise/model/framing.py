"""How a model streams: its framing, one frozen value that every caller reads.

A :class:`StreamConfig` says what a stream holds (``window``), how often the generator runs
(``hop``), how much future it sees (``lookahead``), how far behind its analysis puts the output
beyond that (``analysis_delay``: a spectral model's overlapping frames) and the rate it all counts
in. The family decides it once from the model's config and the user's optional hop and look-ahead
(:func:`rtdenoise.families.framing`); the stream, the live engine, eval, bench, export and the
window read it from there. It needs no weights: the config alone decides it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from .config import SAMPLE_RATE


@dataclass(frozen=True)
class StreamConfig:
    """Framing of a stream at the model's rate: window ``W``, hop ``H``, look-ahead ``A``."""

    window: int
    hop: int
    lookahead: int = 0
    analysis_delay: int = 0      # output held back beyond the look-ahead by the analysis itself
    rate: int = SAMPLE_RATE

    def __post_init__(self) -> None:
        if not 0 < self.hop <= self.window:
            raise ParameterError("hop", f"{{name}} must be between 1 and {self.window}, got {self.hop}")
        room = self.window - self.hop - self.analysis_delay
        if not 0 <= self.lookahead <= room:
            raise ParameterError("lookahead", f"{{name}} must be in 0..{room} samples (window {self.window} "
                                              f"minus hop {self.hop}), got {self.lookahead}")

    @property
    def delay(self) -> int:
        """Output sample ``m`` estimates input sample ``m - delay``."""
        return self.lookahead + self.analysis_delay

    @property
    def latency(self) -> int:
        """Algorithmic latency in samples: a hop to fill, plus the delay."""
        return self.hop + self.delay

    @property
    def latency_ms(self) -> float:
        return 1000 * self.latency / self.rate

    @property
    def hop_ms(self) -> float:
        return 1000 * self.hop / self.rate

    @property
    def crossfade(self) -> int:
        return min(self.hop, self.lookahead)

    @property
    def tail(self) -> int:
        """The samples at the end of each window a sliding-window stream reads: this hop's output
        and the crossfade into the next (all a backend need compute; see :mod:`rtdenoise.model.export`)."""
        return self.hop + self.lookahead

    def ramp(self) -> np.ndarray:
        """Raised-cosine fade-in of ``crossfade`` samples; ``1 - ramp`` is the matching fade-out."""
        c = self.crossfade
        return (0.5 - 0.5 * np.cos(np.pi * (np.arange(c) + 0.5) / c)).astype(np.float32) if c else np.zeros(0, np.float32)

    def weight(self) -> np.ndarray:
        """A sliding-window stream's blend as a weight over window positions (see
        :mod:`rtdenoise.families.seed`)."""
        w = np.zeros(self.window, np.float32)
        own = self.window - self.lookahead - self.hop         # where this hop's output starts
        c = self.crossfade
        w[own:own + self.hop] = 1.0
        w[own:own + c] = self.ramp()
        w[own + self.hop:own + self.hop + c] = 1.0 - self.ramp()
        return w
