"""The spectral family's signal path, in numpy: analysis, synthesis, whole signals and live hops.

Whatever runs the network (eager torch, ONNX Runtime, a CUDA graph; :mod:`rtdenoise.model.backends`),
the frames around it are cut and put back together here, the same way for a file and for a live
stream, so that the two give the same samples:

* **Analysis**: frame ``k`` holds the ``n_fft`` input samples that end with sample ``(k+1) hop - 1``
  (zeros before the signal began), times a square-root Hann window, as a real FFT.
* **The network**: a *step function* ``fn(spec [B, T, bins, 2], state) -> (spec, state)`` over any
  number of frames, with the recurrent state passed in and returned
  (:data:`rtdenoise.model.types.StepFn`).
* **Synthesis**: the inverse FFT of each enhanced frame, windowed again and overlap-added. The
  output of a stream's hop ``k`` is complete once frame ``k`` is: it is the input delayed by
  ``n_fft - hop`` samples, so the algorithmic latency is ``n_fft`` (32 ms for 512 at 16 kHz).

A hop the caller has no time for (``run_model=False``) passes its frame through unchanged, so the
overlap-add itself crossfades from the enhanced output to the dry input over one hop and back
when the network runs again; the recurrent state simply skips that frame, and the deep filter's
history of input frames still advances (the backend's ``skip``, by default
:func:`rtdenoise.model.spectral_numpy.skip_frame`), so the state stays consistent.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..model.types import SkipFn, StepFn
from ..model.config import SpectralConfig
from ..model.spectral_numpy import frame_count, sqrt_hann

#: Frames per call when a whole signal runs: bounds memory for long files (the state carries over).
CHUNK_FRAMES = 2048


def analyse(x: np.ndarray, config: SpectralConfig) -> np.ndarray:
    """Rows of 16 kHz audio [rows, n] -> their frames [rows, T, bins, 2], framed as a stream sees them."""
    N, H = config.n_fft, config.hop
    x = np.atleast_2d(np.asarray(x, np.float32))
    rows, n = x.shape
    T = frame_count(n, N, H)
    padded = np.zeros((rows, (T - 1) * H + N), np.float32)
    padded[:, N - H:N - H + n] = x
    idx = np.arange(T)[:, None] * H + np.arange(N)[None]
    spec = np.fft.rfft(padded[:, idx] * sqrt_hann(N), axis=-1)
    return np.stack([spec.real, spec.imag], axis=-1).astype(np.float32)


def synthesise(spec: np.ndarray, n: int, config: SpectralConfig) -> np.ndarray:
    """Frames [rows, T, bins, 2] -> [rows, n] audio aligned with what :func:`analyse` was given."""
    N, H = config.n_fft, config.hop
    y = np.fft.irfft(spec[..., 0] + 1j * spec[..., 1], n=N, axis=-1).astype(np.float32) * sqrt_hann(N)
    rows, T = y.shape[:2]
    out = np.zeros((rows, T + 1, H), np.float32)
    out[:, :T] += y[..., :H]
    out[:, 1:] += y[..., H:]
    return out.reshape(rows, -1)[:, N - H:N - H + n]


def run(fn: StepFn, spec: np.ndarray, state: Sequence[np.ndarray], chunk: int = CHUNK_FRAMES,
        progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
    """All frames of ``spec`` through ``fn`` from ``state``, ``chunk`` frames per call; returns the
    enhanced frames and the state after the last."""
    out = np.empty_like(spec)
    state = list(state)
    for t in range(0, spec.shape[1], chunk):
        out[:, t:t + chunk], state = fn(np.ascontiguousarray(spec[:, t:t + chunk]), state)
        if progress:
            progress(min(chunk, spec.shape[1] - t))
    return out, state


def enhance(fn: StepFn, initial_state: Callable[[int], list[np.ndarray]], x: np.ndarray, config: SpectralConfig,
            progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Rows of 16 kHz audio [rows, n] (or [n]) enhanced from a silent start: exactly what a stream
    emits for them, without its delay."""
    x = np.atleast_2d(np.asarray(x, np.float32))
    spec = analyse(x, config)
    return synthesise(run(fn, spec, initial_state(len(x)), progress=progress)[0], x.shape[1], config)


class BlockEnhancer:
    """:func:`enhance` for a signal that arrives in blocks (a long file, read piece by piece): the
    same samples, with the analysis window's tail, the synthesis overlap and the network's state
    carried from block to block, so memory is bounded by the block, not the signal."""

    def __init__(self, fn: StepFn, initial_state: Callable[[int], list[np.ndarray]], config: SpectralConfig,
                 rows: int, progress: Callable[[int], None] | None = None) -> None:
        N, H = config.n_fft, config.hop
        self.config, self._fn, self._progress = config, fn, progress
        self._buf = np.zeros((rows, N - H), np.float32)      # from the start of the next frame's window
        self._overlap = np.zeros((rows, H), np.float32)
        self._state = initial_state(rows)
        self._history = N - H                                 # output samples of the silence before the signal
        self._frames = 0
        self._n = 0                                           # input samples pushed
        self._emitted = 0                                     # output samples returned

    def push(self, x: np.ndarray) -> np.ndarray:
        """Rows of new 16 kHz samples [rows, m] in; the enhanced samples that are complete out."""
        self._n += x.shape[1]
        return self._run(np.concatenate([self._buf, np.asarray(x, np.float32)], axis=1))

    def finish(self) -> np.ndarray:
        """The rest, after silence has pushed the last frames through; the total output is as long
        as the total input."""
        N, H = self.config.n_fft, self.config.hop
        missing = frame_count(self._n, N, H) - self._frames
        zeros = np.zeros((len(self._buf), max(0, missing * H - (self._buf.shape[1] - (N - H)))), np.float32)
        out = self._run(np.concatenate([self._buf, zeros], axis=1))
        return out[:, :max(0, self._n - self._emitted + out.shape[1])]

    def _run(self, buf: np.ndarray) -> np.ndarray:
        N, H = self.config.n_fft, self.config.hop
        T = max(0, (buf.shape[1] - (N - H)) // H)
        if T == 0:
            self._buf = buf
            return np.zeros((len(buf), 0), np.float32)
        idx = np.arange(T)[:, None] * H + np.arange(N)[None]
        window = sqrt_hann(N)
        X = np.fft.rfft(buf[:, idx] * window, axis=-1)
        spec = np.stack([X.real, X.imag], axis=-1).astype(np.float32)
        out, self._state = run(self._fn, spec, self._state, progress=self._progress)
        y = np.fft.irfft(out[..., 0] + 1j * out[..., 1], n=N, axis=-1).astype(np.float32) * window
        first, second = y[..., :H], y[..., H:]
        samples = first.copy()
        samples[:, 0] += self._overlap
        samples[:, 1:] += second[:, :-1]
        self._overlap = second[:, -1].copy()
        self._buf = buf[:, T * H:]
        self._frames += T
        samples = samples.reshape(len(buf), -1)
        drop = min(self._history, samples.shape[1])
        self._history -= drop
        self._emitted += samples.shape[1] - drop
        return samples[:, drop:]


class SpectralHop:
    """One hop of a stream: ``hop`` samples in, ``hop`` enhanced samples out, state carried.
    Preallocated: a hop allocates nothing but what the backend returns."""

    def __init__(self, fn: StepFn, initial_state: Callable[[int], list[np.ndarray]], skip: SkipFn,
                 config: SpectralConfig) -> None:
        self.config = config
        N, H = config.n_fft, config.hop
        self._fn, self._skip = fn, skip
        self.state = initial_state(1)
        self._window = sqrt_hann(N)
        self._input = np.zeros(N, np.float32)            # the newest N input samples
        self._overlap = np.zeros(H, np.float32)          # the previous frame's second half, synthesised
        self._spec = np.zeros((1, 1, config.bins, 2), np.float32)

    @property
    def delay(self) -> int:
        """Output sample ``m`` is the estimate of input sample ``m - delay``."""
        return self.config.n_fft - self.config.hop

    def process(self, hop_in: np.ndarray, wet: np.ndarray, run_model: bool = True, before: int = 0) -> np.ndarray:
        """Fill ``wet`` with this hop's output; returns the input samples it lines up with (a view).
        (``before``, the samples that precede the stream, needs nothing here: the network keeps no
        state from them that a caller's silence would not also leave.)"""
        N, H = self.config.n_fft, self.config.hop
        self._input[:-H] = self._input[H:]
        self._input[-H:] = hop_in
        X = np.fft.rfft(self._input * self._window)
        self._spec[0, 0, :, 0] = X.real
        self._spec[0, 0, :, 1] = X.imag
        if run_model:
            Y, self.state = self._fn(self._spec, self.state)
            X = Y[0, 0, :, 0] + 1j * Y[0, 0, :, 1]
        else:                                             # the identity: the overlap-add crossfades to dry
            self.state = self._skip(self.state, self._spec)
        y = np.fft.irfft(X, n=N).astype(np.float32) * self._window
        wet[:] = self._overlap + y[:H]
        self._overlap[:] = y[H:]
        return self._input[N - 2 * H:N - H]

    def warm_up(self) -> None:
        """One call on silence, state untouched (first calls are slow: lazy kernels, allocators)."""
        self._fn(np.zeros_like(self._spec), self.state)
