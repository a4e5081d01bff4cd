"""Offline enhancement: whole signals through the generator of either family (``enhance()``).

A spectral model runs its frames in order from a silent start, as a stream does, in chunks with
the state carried (:func:`rtdenoise.signal.stft.enhance`): the result is the stream's output sample
for sample, without its delay. A seed-family generator runs over overlapping windows
(:mod:`rtdenoise.signal.overlap`), pre-emphasis to de-emphasis. Other rates go through soxr to
16 kHz and back; channels are enhanced independently.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..errors import RtDenoiseError
from ..model import backends
from ..model.config import family_of
from ..model.emphasis import deemphasise, emphasise
from ..model.framing import frame_count
from . import stft
from .audio import as_float_samples, check_audio, like_input, resample
from .overlap import default_hop, overlap_add


def enhance_16k(model: Any, x: np.ndarray, hop: int | None = None, batch: int = 16,
                progress: Callable[[int], None] | None = None, backend: "str | backends.Backend | None" = "auto") -> np.ndarray:
    """Enhance rows of 16 kHz audio ([rows, n] or [n]) on ``backend`` (see :mod:`rtdenoise.model.backends`):
    seed family pre-emphasis to de-emphasis over overlapping windows, spectral family frame by frame."""
    cfg = model.config
    x = np.atleast_2d(np.asarray(x, np.float32))
    if family_of(model) == "spectral":
        check_hop(model, hop)
        be = backends.for_model(model, backend)
        return stft.enhance(be.fn, be.initial_state, x, cfg, progress)
    check_hop(model, hop)
    pre, _ = emphasise(x, cfg.preemphasis)
    fn = backends.for_model(model, backend).fn
    y = overlap_add(pre, cfg.window, hop or default_hop(cfg.window), fn, batch, progress)
    out, _ = deemphasise(y, cfg.preemphasis)
    return out


def check_hop(model: Any, hop: int | None) -> None:
    """A hop the model can run, or a one-line error that says which it can: a spectral model has
    one hop, its own; a seed-family model any from 1 to its window."""
    if family_of(model) == "seed" and hop is not None and not 1 <= hop <= model.config.window:
        raise RtDenoiseError(f"--hop must be between 1 and the model's window ({model.config.window}), got {hop}")
    if family_of(model) == "spectral" and hop not in (None, model.config.hop):
        raise RtDenoiseError(f"--hop {hop}: this spectral model runs one frame every {model.config.hop} samples "
                             f"(use --hop {model.config.hop} or leave it out)")


def enhance(model: Any, audio: np.ndarray, sample_rate: int, hop: int | None = None,
            progress: Callable[[int], None] | None = None, backend: "str | backends.Backend | None" = "auto") -> np.ndarray:
    """Denoise ``audio`` ([frames] or [frames, channels], any rate) and return it in the same shape,
    rate and sample type (integer PCM is scaled from its full scale and back). Channels are enhanced
    independently; other rates go through soxr to 16 kHz and back. NaN or Inf samples are refused."""
    template = np.asarray(audio)
    audio = as_float_samples(template)
    check_audio(audio)
    mono = audio.ndim == 1
    frames = audio[:, None] if mono else audio
    x = resample(frames, sample_rate, model.config.sample_rate).T          # [channels, n16]
    y = enhance_16k(model, x, hop, progress=progress, backend=backend).T
    y = resample(y, model.config.sample_rate, sample_rate)
    y = _fit(y, len(frames))
    return like_input(y[:, 0] if mono else y, template)


def windows_for(model: Any, frames: int, channels: int, sample_rate: int,
                hop: int | None = None) -> int:
    """How many generator windows (spectral family: frames) ``enhance`` will run for such audio,
    for progress bars."""
    n = int(np.ceil(frames * model.config.sample_rate / sample_rate))
    if family_of(model) == "spectral":
        return channels * frame_count(n, model.config.n_fft, model.config.hop)
    w = model.config.window
    h = hop or default_hop(w)
    return channels * max(1, -(-(n + 2 * (w // 2) - w) // h) + 1)


def _fit(y: np.ndarray, n: int) -> np.ndarray:
    """Trim or zero-pad axis 0 to n (resampling round trips can differ by a sample)."""
    if len(y) >= n:
        return y[:n]
    return np.concatenate([y, np.zeros((n - len(y),) + y.shape[1:], y.dtype)])


