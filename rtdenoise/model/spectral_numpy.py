"""The spectral family's numpy half: its window, ERB bands, frame count and recurrent state.

The torch module (:class:`rtdenoise.model.spectral.SpectralCanceler`) and the numpy signal path
(:mod:`rtdenoise.families.stft`) share these, so a stream on ONNX Runtime needs no torch at all.
"""
from __future__ import annotations

import numpy as np

from .config import SpectralConfig

#: Names of the state tensors, in the order :meth:`SpectralCanceler.step` takes and returns them.
STATE_GRU, STATE_DF = "gru", "df"


def sqrt_hann(n: int) -> np.ndarray:
    """Periodic square-root Hann window: used for analysis and synthesis, its square overlap-adds to
    exactly one at 50% overlap, so a frame passed through unchanged reconstructs the input."""
    return np.sqrt(0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)).astype(np.float32)


def erb_centres(n_fft: int, rate: int, count: int, min_bins: float = 2.0) -> np.ndarray:
    """``count`` band centres in Hz from 0 to Nyquist, spaced in proportion to the ear's ERB
    bandwidth (Glasberg and Moore) but never closer than ``min_bins`` FFT bins, where ERB spacing
    would put several bands inside one bin."""
    nyquist, bin_hz = rate / 2, rate / n_fft

    def walk(k: float) -> np.ndarray:
        c = [0.0]
        for _ in range(count - 1):
            c.append(c[-1] + max(min_bins * bin_hz, k * 24.7 * (4.37 * c[-1] / 1000 + 1)))
        return np.asarray(c)

    if walk(0.0)[-1] > nyquist:
        raise ValueError(f"{count} bands at least {min_bins} bins apart do not fit below {nyquist:g} Hz")
    lo, hi = 0.0, 10.0
    for _ in range(60):                      # the last centre grows with k: bisect it onto Nyquist
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if walk(mid)[-1] < nyquist else (lo, mid)
    c = walk(hi)
    return c * (nyquist / c[-1])


def erb_triangles(n_fft: int, rate: int, count: int) -> np.ndarray:
    """[count, bins] triangular bands on :func:`erb_centres`. Each bin's weights sum to one over
    the bands, so spreading band gains with them interpolates between neighbouring bands."""
    c = erb_centres(n_fft, rate, count)
    f = np.arange(n_fft // 2 + 1) * rate / n_fft
    tri = np.zeros((count, len(f)), np.float64)
    for i in range(count):
        if i > 0:
            rise = (f >= c[i - 1]) & (f <= c[i])
            tri[i, rise] = (f[rise] - c[i - 1]) / (c[i] - c[i - 1])
        if i < count - 1:
            fall = (f >= c[i]) & (f <= c[i + 1])
            tri[i, fall] = (c[i + 1] - f[fall]) / (c[i + 1] - c[i])
        tri[i, f == c[i]] = 1.0
    return (tri / tri.sum(axis=0, keepdims=True)).astype(np.float32)


def frame_count(n: int, n_fft: int, hop: int) -> int:
    """Frames that cover ``n`` samples, each sample by two frames, after ``n_fft - hop`` samples of
    silence (the stream's framing)."""
    return max(1, (n - 1 + n_fft - hop) // hop + 1)


def skip_frame(state: list, spec: np.ndarray, config: SpectralConfig) -> list:
    """The state after a frame the network did not run on (a late hop): the recurrent part as it
    was, and the deep filter's history of input frames advanced by this one, so the taps still
    line up with the frames they were trained on. Numpy arrays [B, ...]; ``spec`` [B, 1, bins, 2]."""
    if len(state) < 2:
        return list(state)
    history = np.concatenate([state[1][:, 1:], spec[:, -1:, :config.df_bins]], axis=1)
    return [state[0], history.astype(np.float32)]


def initial_state(config: SpectralConfig, batch: int = 1) -> list[np.ndarray]:
    """The state at the start of a stream (silence before it), in the order the step takes it:
    the GRUs' hidden state [layers, batch, hidden], then (with a deep filter of more than one tap)
    the last ``df_order - 1`` input frames of its bins [batch, df_order - 1, df_bins, 2]."""
    state = [np.zeros((config.layers, batch, config.hidden), np.float32)]
    if config.df_bins and config.df_order > 1:
        state.append(np.zeros((batch, config.df_order - 1, config.df_bins, 2), np.float32))
    return state


def state_names(config: SpectralConfig) -> list[str]:
    """The state tensors' names (the ONNX graph's input names after ``spec``)."""
    return [STATE_GRU] + ([STATE_DF] if config.df_bins and config.df_order > 1 else [])
