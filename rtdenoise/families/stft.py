"""The spectral family's signal path, in numpy: analysis, synthesis, whole signals and live hops,
at the model's rate or at a multiple of it (full band).

Whatever runs the network (eager torch, ONNX Runtime, a CUDA graph; :mod:`rtdenoise.model.backends`),
the frames around it are cut and put back together here, the same way for a file and for a live
stream, so that the two give the same samples:

* **Analysis**: frame ``k`` holds the ``N`` input samples that end with sample ``(k+1) H - 1``
  (zeros before the signal began), times a square-root Hann window, as a real FFT.
* **The network**: a *step function* ``fn(spec [B, T, bins, 2], state) -> (spec, state)`` over any
  number of frames, with the recurrent state passed in and returned
  (:data:`rtdenoise.model.types.StepFn`).
* **Synthesis**: the inverse FFT of each enhanced frame, windowed again and overlap-added. The
  output of a stream's hop ``k`` is complete once frame ``k`` is: it is the input delayed by
  ``N - H`` samples, so the algorithmic latency is ``N`` (32 ms for 512 at 16 kHz).

**Full band** (:class:`Band`). At ``f`` times the model's rate (48 kHz for a 16 kHz model: ``f = 3``)
the frames are ``f`` times longer (1536/768): the same 31.25 Hz bins and the same 32 ms, so no
resampling and no added latency. Their lowest bins are the model's whole spectrum, scaled by
``1 / f`` (a window ``f`` times longer sums ``f`` times the samples), and go through the network as
at its own rate. The bins above its Nyquist get their gains from the model's learned head
(:mod:`rtdenoise.model.upper_band`) where it ships one. Without one they get one gain per frame:
the share of its top band's energy (4 to 8 kHz) that the model keeps in that frame, between a floor
and one, smoothed over frames. Where the model keeps the sibilants and air of speech at 4 to 8 kHz,
the band above is kept with them; where it takes noise away there, the band above goes as much.

A hop the caller has no time for (``run_model=False``) passes its frame through unchanged, so the
overlap-add itself crossfades from the enhanced output to the dry input over one hop and back
when the network runs again; the recurrent state simply skips that frame, and the deep filter's
history of input frames still advances (the backend's ``skip``, by default
:func:`rtdenoise.model.spectral_numpy.skip_frame`), so the state stays consistent.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import scipy.fft
from scipy.signal import lfilter

from ..model.config import SpectralConfig
from ..model.spectral_numpy import frame_count, sqrt_hann
from ..model.upper_band import UpperBandFile
from ..model.types import SkipFn, StepFn

#: Frames per call when a whole signal runs: bounds memory for long files (the state carries over).
CHUNK_FRAMES = 2048
#: The model's band whose kept share of energy the band above its Nyquist follows.
REFERENCE_HZ = (4000.0, 8000.0)
#: The least gain the band above the model's Nyquist gets (-60 dB), and the smoothing of the energies
#: that gain follows, from frame to frame (a one-pole filter: about 1.5 frames, 24 ms at 16 ms hops).
UPPER_FLOOR = 1e-3
UPPER_SMOOTHING = 0.5
#: How much louder than all the model keeps below its Nyquist the band above may be (dB).
UPPER_HEADROOM_DB = 6.0
#: Where the model keeps its top band nearly whole (losing at most 3 dB of it: speech, to the model),
#: the band above is kept whole; from 3 to 6 dB lost it eases into following the model exactly. On
#: the training actors' clean full-band speech this kept the band above 8 kHz within 0.06 dB on the
#: median (0.83 dB lost without it), at 1.1 dB more of noise left there on the median.
UPPER_KNEE_DB = (-3.0, -6.0)


class Band:
    """The frames of a stream at ``factor`` times a spectral model's rate, and the model's place in
    them (see the module docstring). ``factor`` 1 is the model's own framing, unchanged."""

    def __init__(self, config: SpectralConfig, factor: int = 1, upper: UpperBandFile | None = None) -> None:
        if factor < 1 or factor != int(factor):
            raise ValueError(f"factor must be a whole number of times the model's rate, got {factor}")
        self.config, self.factor = config, int(factor)
        #: The model's learned head for the bins above its Nyquist, if it ships one; else the rule below.
        self.learned = upper.at(config, self.factor) if upper is not None and self.factor > 1 else None
        self.n_fft, self.hop = config.n_fft * self.factor, config.hop * self.factor
        self.bins = self.n_fft // 2 + 1
        lo, hi = (int(round(hz * config.n_fft / config.sample_rate)) for hz in REFERENCE_HZ)
        self._reference = slice(lo, min(hi, config.bins - 1) + 1)
        # scipy's FFT runs the longer full-band frames in half numpy's time (a live hop's budget);
        # the model's own framing keeps numpy's, so its output stays what it always was.
        self.fft = np.fft if self.factor == 1 else scipy.fft

    def initial_gain(self, rows: int) -> np.ndarray:
        """The upper band's gain state before the first frame: for each row, the learned head's
        (:meth:`UpperBand.initial_state`), or the smoothed energies the rule follows
        (:meth:`_upper`), none yet."""
        if self.learned is not None:
            return self.learned.initial_state(rows)
        return np.zeros((rows, 4), np.float64)

    def run(self, fn: StepFn, spec: np.ndarray, state: list, gain: np.ndarray
            ) -> tuple[np.ndarray, list, np.ndarray]:
        """Frames [rows, T, bins, 2] through the network (its own bins) and the upper band's gain;
        returns the enhanced frames, the network's state and the gain's."""
        if self.factor == 1:
            out, state = fn(spec, state)
            return out, state, gain
        m, f = self.config.bins, np.float32(self.factor)
        low = np.ascontiguousarray(spec[:, :, :m] / f)
        y, state = fn(low, state)
        out = spec.copy()
        out[:, :, :m] = y * f
        if self.learned is not None:
            g, gain = self.learned.gains(low, y, spec[:, :, m:], gain)
            out[:, :, m:] *= g[..., None]
        else:
            g, gain = self._upper(low, y, spec[:, :, m:], gain)
            out[:, :, m:] *= g[:, :, None, None]
        return out, state, gain

    def _upper(self, x: np.ndarray, y: np.ndarray, upper: np.ndarray, previous: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
        """Per frame, the upper band's gain (``x``, ``y``: the model's input and output frames, at
        its scale; ``upper``: the bins above, at the stream's).

        The amplitude share of the reference band's energy that the model kept (through a knee:
        :data:`UPPER_KNEE_DB`), and no more than lets the band above be :data:`UPPER_HEADROOM_DB`
        louder than everything the model kept below it: speech's energy above 8 kHz stays near or below that, while a noise that lives
        only up there (a whistle at 12 kHz) would otherwise pass wherever the reference band is
        empty. Every energy is smoothed over frames before a ratio is taken (a ratio of averages,
        so the band above loses what the reference band loses, not more or less as single frames
        swing); the gain lies between the floor and one."""
        ref, a, scale = self._reference, UPPER_SMOOTHING, 1.0 / self.factor ** 2
        if x.shape[:2] == (1, 1):                 # a live hop: the same arithmetic on scalars, at a tenth of the cost
            flat = lambda z: z.reshape(-1)             # views: the slices are whole rows
            e = (flat(y[0, 0, ref]), flat(x[0, 0, ref]), flat(y[0, 0]), flat(upper[0, 0]))
            energy = [float(np.dot(v, v)) for v in e]
            energy[3] *= scale
            smooth = [a * p + (1 - a) * v for p, v in zip(previous[0].tolist(), energy)]
            return np.full((1, 1), self._gain(*smooth), np.float32), np.array([smooth])
        power = lambda z: np.sum(np.square(z, dtype=np.float64), axis=(2, 3))
        energy = np.stack([power(y[:, :, ref]), power(x[:, :, ref]), power(y), scale * power(upper)])   # [4, rows, T]
        smooth, _ = lfilter([1 - a], [1, -a], energy, axis=2, zi=(a * previous.T)[:, :, None])
        g = np.vectorize(self._gain, otypes=[np.float64])(*smooth)
        return g.astype(np.float32), smooth[:, :, -1].T.copy()

    @staticmethod
    def _gain(kept: float, had: float, kept_all: float, upper: float) -> float:
        """One frame's gain from its smoothed energies: the knee on the reference band's kept
        share, at most the headroom over all the model kept, between the floor and one."""
        tiny = 1e-20
        share = _knee(10 * math.log10(min((kept + tiny) / (had + tiny), 1.0)))
        room = math.sqrt(10 ** (UPPER_HEADROOM_DB / 10) * (kept_all + tiny) / (upper + tiny))
        return min(1.0, max(UPPER_FLOOR, min(share, room)))


def _knee(share_db: float) -> float:
    """The upper band's amplitude gain for the model's kept share of its top band, in dB (see
    :data:`UPPER_KNEE_DB`): 1 above the knee, the share itself below it, a smooth rise between."""
    hi, lo = UPPER_KNEE_DB
    g_db = 0.0 if share_db >= hi else share_db if share_db <= lo else share_db * (hi - share_db) / (hi - lo)
    return 10 ** (g_db / 20)


def analyse(x: np.ndarray, config: SpectralConfig, factor: int = 1) -> np.ndarray:
    """Rows of audio at ``factor`` times the model's rate [rows, n] -> their frames
    [rows, T, bins, 2], framed as a stream sees them."""
    band = Band(config, factor)
    N, H = band.n_fft, band.hop
    x = np.atleast_2d(np.asarray(x, np.float32))
    rows, n = x.shape
    T = frame_count(n, N, H)
    padded = np.zeros((rows, (T - 1) * H + N), np.float32)
    padded[:, N - H:N - H + n] = x
    idx = np.arange(T)[:, None] * H + np.arange(N)[None]
    spec = band.fft.rfft(padded[:, idx] * sqrt_hann(N), axis=-1)
    return np.stack([spec.real, spec.imag], axis=-1).astype(np.float32)


def synthesise(spec: np.ndarray, n: int, config: SpectralConfig, factor: int = 1) -> np.ndarray:
    """Frames [rows, T, bins, 2] -> [rows, n] audio aligned with what :func:`analyse` was given."""
    band = Band(config, factor)
    N, H = band.n_fft, band.hop
    y = band.fft.irfft(spec[..., 0] + 1j * spec[..., 1], n=N, axis=-1).astype(np.float32) * sqrt_hann(N)
    rows, T = y.shape[:2]
    out = np.zeros((rows, T + 1, H), np.float32)
    out[:, :T] += y[..., :H]
    out[:, 1:] += y[..., H:]
    return out.reshape(rows, -1)[:, N - H:N - H + n]


def run(band: Band, fn: StepFn, spec: np.ndarray, state: list, gain: np.ndarray, chunk: int = CHUNK_FRAMES,
        progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, list, np.ndarray]:
    """All frames of ``spec`` through ``band.run`` from ``state`` and ``gain``, ``chunk`` frames per
    call; returns the enhanced frames and the states after the last."""
    out = np.empty_like(spec)
    state = list(state)
    for t in range(0, spec.shape[1], chunk):
        out[:, t:t + chunk], state, gain = band.run(fn, np.ascontiguousarray(spec[:, t:t + chunk]), state, gain)
        if progress:
            progress(min(chunk, spec.shape[1] - t))
    return out, state, gain


def enhance(fn: StepFn, initial_state: Callable[[int], list[np.ndarray]], x: np.ndarray, config: SpectralConfig,
            progress: Callable[[int], None] | None = None, factor: int = 1, upper: UpperBandFile | None = None) -> np.ndarray:
    """Rows of audio at ``factor`` times the model's rate [rows, n] (or [n]) enhanced from a silent
    start: exactly what a stream emits for them, without its delay."""
    band = Band(config, factor, upper)
    x = np.atleast_2d(np.asarray(x, np.float32))
    spec = analyse(x, config, factor)
    out = run(band, fn, spec, initial_state(len(x)), band.initial_gain(len(x)), progress=progress)[0]
    return synthesise(out, x.shape[1], config, factor)


class BlockEnhancer:
    """:func:`enhance` for a signal that arrives in blocks (a long file, read piece by piece): the
    same samples, with the analysis window's tail, the synthesis overlap and the network's state
    carried from block to block, so memory is bounded by the block, not the signal."""

    def __init__(self, fn: StepFn, initial_state: Callable[[int], list[np.ndarray]], config: SpectralConfig,
                 rows: int, progress: Callable[[int], None] | None = None, factor: int = 1,
                 upper: UpperBandFile | None = None) -> None:
        self.band = band = Band(config, factor, upper)
        N, H = band.n_fft, band.hop
        self.config, self._fn, self._progress = config, fn, progress
        self._buf = np.zeros((rows, N - H), np.float32)      # from the start of the next frame's window
        self._overlap = np.zeros((rows, H), np.float32)
        self._state = initial_state(rows)
        self._gain = band.initial_gain(rows)
        self._history = N - H                                 # output samples of the silence before the signal
        self._frames = 0
        self._n = 0                                           # input samples pushed
        self._emitted = 0                                     # output samples returned

    def push(self, x: np.ndarray) -> np.ndarray:
        """Rows of new samples [rows, m] in; the enhanced samples that are complete out."""
        self._n += x.shape[1]
        return self._run(np.concatenate([self._buf, np.asarray(x, np.float32)], axis=1))

    def finish(self) -> np.ndarray:
        """The rest, after silence has pushed the last frames through; the total output is as long
        as the total input."""
        N, H = self.band.n_fft, self.band.hop
        missing = frame_count(self._n, N, H) - self._frames
        zeros = np.zeros((len(self._buf), max(0, missing * H - (self._buf.shape[1] - (N - H)))), np.float32)
        out = self._run(np.concatenate([self._buf, zeros], axis=1))
        return out[:, :max(0, self._n - self._emitted + out.shape[1])]

    def _run(self, buf: np.ndarray) -> np.ndarray:
        N, H = self.band.n_fft, self.band.hop
        T = max(0, (buf.shape[1] - (N - H)) // H)
        if T == 0:
            self._buf = buf
            return np.zeros((len(buf), 0), np.float32)
        idx = np.arange(T)[:, None] * H + np.arange(N)[None]
        window = sqrt_hann(N)
        X = self.band.fft.rfft(buf[:, idx] * window, axis=-1)
        spec = np.stack([X.real, X.imag], axis=-1).astype(np.float32)
        out, self._state, self._gain = run(self.band, self._fn, spec, self._state, self._gain, progress=self._progress)
        y = self.band.fft.irfft(out[..., 0] + 1j * out[..., 1], n=N, axis=-1).astype(np.float32) * window
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
    Preallocated: a hop allocates little beyond what the backend returns."""

    def __init__(self, fn: StepFn, initial_state: Callable[[int], list[np.ndarray]], skip: SkipFn,
                 config: SpectralConfig, factor: int = 1, upper: UpperBandFile | None = None) -> None:
        self.config = config
        self.band = band = Band(config, factor, upper)
        N, H = band.n_fft, band.hop
        self._fn, self._skip = fn, skip
        self.state = initial_state(1)
        self._gain = band.initial_gain(1)
        self._window = sqrt_hann(N)
        self._input = np.zeros(N, np.float32)            # the newest N input samples
        self._overlap = np.zeros(H, np.float32)          # the previous frame's second half, synthesised
        self._spec = np.zeros((1, 1, band.bins, 2), np.float32)

    @property
    def delay(self) -> int:
        """Output sample ``m`` is the estimate of input sample ``m - delay``."""
        return self.band.n_fft - self.band.hop

    def process(self, hop_in: np.ndarray, wet: np.ndarray, run_model: bool = True, before: int = 0) -> np.ndarray:
        """Fill ``wet`` with this hop's output; returns the input samples it lines up with (a view).
        (``before``, the samples that precede the stream, needs nothing here: the network keeps no
        state from them that a caller's silence would not also leave.)"""
        N, H = self.band.n_fft, self.band.hop
        self._input[:-H] = self._input[H:]
        self._input[-H:] = hop_in
        X = self.band.fft.rfft(self._input * self._window)
        self._spec[0, 0, :, 0] = X.real
        self._spec[0, 0, :, 1] = X.imag
        if run_model:
            Y, self.state, self._gain = self.band.run(self._fn, self._spec, self.state, self._gain)
            X = Y[0, 0, :, 0] + 1j * Y[0, 0, :, 1]
        else:                                             # the identity: the overlap-add crossfades to dry
            self.state = self._skip(self.state, self._spec[:, :, :self.config.bins] / np.float32(self.band.factor))
        y = self.band.fft.irfft(X, n=N).astype(np.float32) * self._window
        wet[:] = self._overlap + y[:H]
        self._overlap[:] = y[H:]
        return self._input[N - 2 * H:N - H]

    def warm_up(self) -> None:
        """One call on silence, state untouched (first calls are slow: lazy kernels, allocators)."""
        self._fn(np.zeros((1, 1, self.config.bins, 2), np.float32), self.state)
