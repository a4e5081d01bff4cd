"""Offline enhancement: whole signals through the generator of any family (``enhance()``).

The family decides how a signal at the model's rate goes through its generator
(:meth:`rtdenoise.families.base.Family.enhance`: the spectral family's frames in order from a
silent start, the stream's output without its delay; the seed family's overlapping windows);
this module does what is the same for every family: other rates through soxr to the one the
family runs them at and back, channels enhanced independently, the input's shape and sample type kept, and the strength
control, which mixes the dry input back in exactly as the stream's does.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..families import of
from ..families.runtime import for_model
from ..model.backends import Backend
from .audio import as_float_samples, check_audio, like_input, resample
from .streaming import check_strength


def enhance_rows(model: Any, x: np.ndarray, overlap_hop: int | None = None,
                 progress: Callable[[int], None] | None = None, backend: "str | Backend | None" = "auto",
                 strength: float = 1.0, rate: int | None = None) -> np.ndarray:
    """Enhance rows of audio ([rows, n] or [n]) at ``rate``, one the model streams at (None: its
    own), on ``backend`` (see :mod:`rtdenoise.model.backends`). ``overlap_hop``: the seed family's
    hop between overlapping windows (default a quarter window); ``strength``: 1 fully denoised .. 0
    the input."""
    strength = check_strength(strength)
    x = np.atleast_2d(np.asarray(x, np.float32))
    family = of(model)
    family.check_overlap_hop(model.config, overlap_hop)
    y = family.enhance(model, for_model(model, backend), x, overlap_hop, progress, rate)
    return mix(x, y, strength)


def mix(dry: np.ndarray, wet: np.ndarray, strength: float) -> np.ndarray:
    """The strength control on aligned signals, as the stream applies it: ``dry + s (wet - dry)``
    (``wet`` itself at 1, bit for bit)."""
    return wet if strength == 1.0 else dry + np.float32(strength) * (wet - dry)


def enhance(model: Any, audio: np.ndarray, sample_rate: int, overlap_hop: int | None = None,
            progress: Callable[[int], None] | None = None, backend: "str | Backend | None" = "auto",
            strength: float = 1.0) -> np.ndarray:
    """Denoise ``audio`` ([frames] or [frames, channels], any rate) and return it in the same shape,
    rate and sample type (integer PCM is scaled from its full scale and back). Channels are enhanced
    independently. A rate the model runs at natively is not resampled (a spectral model: 16, 32 and
    48 kHz, the whole band); others go through soxr to the family's choice and back (44.1 kHz to
    48 kHz, 8 kHz to 16 kHz). NaN or Inf samples are refused."""
    template = np.asarray(audio)
    audio = as_float_samples(template)
    check_audio(audio)
    mono = audio.ndim == 1
    frames = audio[:, None] if mono else audio
    rate = of(model).stream_rate(model.config, sample_rate)
    x = resample(frames, sample_rate, rate).T                             # [channels, n at the rate it runs at]
    y = enhance_rows(model, x, overlap_hop, progress, backend, strength, rate).T
    y = resample(y, rate, sample_rate)
    y = _fit(y, len(frames))
    return like_input(y[:, 0] if mono else y, template)


def work_units(model: Any, frames: int, channels: int, sample_rate: int, overlap_hop: int | None = None) -> int:
    """How many generator calls (windows or frames) ``enhance`` will make for such audio, for
    progress bars."""
    family = of(model)
    rate = family.stream_rate(model.config, sample_rate)
    n = int(np.ceil(frames * rate / sample_rate))
    return channels * family.work_units(model.config, n, overlap_hop, rate)


def _fit(y: np.ndarray, n: int) -> np.ndarray:
    """Trim or zero-pad axis 0 to n (resampling round trips can differ by a sample)."""
    if len(y) >= n:
        return y[:n]
    return np.concatenate([y, np.zeros((n - len(y),) + y.shape[1:], y.dtype)])
