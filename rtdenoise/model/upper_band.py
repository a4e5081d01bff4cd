"""A spectral model's band above its own Nyquist, learned: the gains a 16 kHz model's 48 kHz stream
gives its bins above 8 kHz.

Why: a model trained at 16 kHz decides nothing above 8 kHz. Without this head the band above gets
one gain per frame that follows what the model keeps of its own top band
(:class:`rtdenoise.families.stft.Band`), which keeps a hiss that lives only up there wherever speech
is on and takes noise alone above 8 kHz down only as far as the model takes 4 to 8 kHz. This head
is a small network trained on full-band speech in real noise (:mod:`rtdenoise.training.upper_band`)
beside a frozen model: per frame it sees the level of each band above 8 kHz, how far each is above
its own slow floor, and what the model kept of each band below, and gives each band above a gain
(-60 dB to 1), spread over the bins by linear interpolation between the bands' centres, so no bin
sees a step. It is causal and costs about 30,000 multiplies a frame (0.03 ms a 48 kHz hop here), in
numpy: no latency, and no torch to run it.

It ships as ``NAME.upper.safetensors`` beside a model, named in the model's JSON (``upper_band``:
file and checksum); a model without one keeps the rule-based gain.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..errors import ModelError
from .config import SpectralConfig

#: The tensors of the head, in the order of its layers.
TENSORS = ("w1", "b1", "w2", "b2", "w3", "b3")


@dataclass(frozen=True)
class UpperBandConfig:
    """The head's bands and features (stored in its file, so a head is read as it was trained)."""

    #: The bands above the model's Nyquist that get a gain each (Hz; the last reaches 48 kHz's Nyquist).
    edges_hz: tuple[float, ...] = (8000.0, 9500.0, 11000.0, 12500.0, 14000.0, 16000.0, 18000.0, 20000.0, 24000.0)
    #: The model's own bands whose kept share the head sees (Hz).
    reference_hz: tuple[float, ...] = (0.0, 1000.0, 2000.0, 4000.0, 6000.0, 8000.0)
    hidden: int = 32
    #: One-pole smoothing of the levels the head also sees slowly (0.9: about 10 frames, 160 ms).
    slow: float = 0.9
    #: How fast each band's floor may rise (dB per frame; it falls at once): a floor that follows
    #: stationary noise within seconds but not speech, which comes and goes faster.
    floor_rise_db: float = 0.25
    #: The least gain (dB).
    min_gain_db: float = -60.0

    @property
    def upper(self) -> int:
        return len(self.edges_hz) - 1

    @property
    def reference(self) -> int:
        return len(self.reference_hz) - 1

    @property
    def features(self) -> int:
        return 4 * self.upper + 3 * self.reference


#: dB of a band with nothing in it (and a floor's start: above anything, so the first frame sets it).
SILENT_DB, FLOOR_START_DB = -100.0, 200.0


class UpperBand:
    """The head at one stream's framing: ``factor`` times the model's rate, bins of ``model``'s
    width. :meth:`gains` is what :class:`rtdenoise.families.stft.Band` calls each chunk of frames.

    What the head sees of a frame (:meth:`features`, 4 per band above and 3 per band below) is an
    affine map of fewer levels (:meth:`_levels`: each band's level now, smoothed, and floored), so
    the map is folded into the first layer once here, and a live hop costs a few dozen numpy calls."""

    def __init__(self, config: UpperBandConfig, weights: dict[str, np.ndarray], model: SpectralConfig,
                 factor: int) -> None:
        self.config, self.factor = config, factor
        self.w = [np.asarray(weights[k], np.float32) for k in TENSORS]
        n_fft, rate = model.n_fft * factor, model.sample_rate * factor
        hz = np.arange(n_fft // 2 + 1) * rate / n_fft
        m, U, R = model.bins, config.upper, config.reference

        def members(edges: tuple[float, ...], freqs: np.ndarray) -> np.ndarray:
            inside = [(freqs >= lo) & ((freqs < hi) | (hi == edges[-1]) & (freqs <= hi)) for lo, hi in zip(edges[:-1], edges[1:])]
            return np.stack(inside, axis=1).astype(np.float32)             # [bins, bands]
        # The bins of [input below, output below, input above] -> the energies of [above, had, kept],
        # the band above at the model's scale (a window factor times longer sums factor times the samples).
        self._members = np.zeros((2 * m + len(hz) - m, U + 2 * R), np.float32)
        self._members[2 * m:, :U] = members(config.edges_hz, hz[m:]) / factor ** 2
        self._members[:m, U:U + R] = members(config.reference_hz, hz[:m])
        self._members[m:2 * m, U + R:] = members(config.reference_hz, hz[:m])
        centres = np.array([(lo + hi) / 2 for lo, hi in zip(config.edges_hz[:-1], config.edges_hz[1:])])
        # Each band's gain at its centre, linearly between centres, flat beyond the outer ones.
        self._spread = np.stack([np.interp(hz[m:], centres, row) for row in np.eye(U)]).astype(np.float32)
        # features = levels @ A.T + offset; the levels: [above, had, share] now, the same smoothed, the floors.
        n = U + 2 * R
        A, offset = np.zeros((config.features, 2 * n + U), np.float32), np.zeros(config.features, np.float32)
        eye = lambda k: np.eye(k, dtype=np.float32) / 20
        rows = np.cumsum([0, U, R, R, U, R, U, U])
        A[rows[0]:rows[1], 0:U], offset[rows[0]:rows[1]] = eye(U), 3.0                 # (above + 60) / 20
        A[rows[1]:rows[2], U:U + R], offset[rows[1]:rows[2]] = eye(R), 3.0             # (had + 60) / 20
        A[rows[2]:rows[3], U + R:n] = eye(R)                                             # share / 20
        A[rows[3]:rows[4], n:n + U], offset[rows[3]:rows[4]] = eye(U), 3.0             # (slow above + 60) / 20
        A[rows[4]:rows[5], n + U + R:2 * n] = eye(R)                                     # slow share / 20
        A[rows[5]:rows[6], 0:U], A[rows[5]:rows[6], 2 * n:] = eye(U), -eye(U)           # (above - floor) / 20
        A[rows[6]:rows[7], 0:U], A[rows[6]:rows[7], U + R - 1] = eye(U), -1 / 20        # (above - had at 6-8 kHz) / 20
        self._A, self._offset = A, offset
        w1, b1 = self.w[0], self.w[1]
        self._w1_levels, self._b1_levels = (w1 @ A).T.copy(), b1 + w1 @ offset

    def initial_state(self, rows: int) -> np.ndarray:
        """Per row: the smoothed [above, had, share] (silence before the stream), and the floors."""
        U, R = self.config.upper, self.config.reference
        return np.concatenate([np.full((rows, U + R), SILENT_DB), np.zeros((rows, R)),
                               np.full((rows, U), FLOOR_START_DB)], axis=1).astype(np.float32)

    def _levels(self, x: np.ndarray, y: np.ndarray, upper: np.ndarray, state: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
        """Per frame, the levels the features are made of [rows, T, levels], and the state after
        the last frame. ``x``, ``y``: the model's input and output frames [rows, T, bins, 2], at its
        scale; ``upper``: the bins above, at the stream's."""
        c = self.config
        U, n = c.upper, c.upper + 2 * c.reference
        spec = np.concatenate([x, y, upper], axis=2)
        now = 10 * np.log10(np.einsum("rtbk,rtbk->rtb", spec, spec) @ self._members + 1e-10)
        now[..., U + c.reference:] = np.minimum(now[..., U + c.reference:] - now[..., U:U + c.reference], 0.0)
        slow, floor = state[:, :n].copy(), state[:, n:].copy()
        levels = np.empty(now.shape[:2] + (2 * n + U,), np.float32)
        levels[..., :n] = now
        a, rise = np.float32(c.slow), np.float32(c.floor_rise_db)
        for t in range(now.shape[1]):             # the recursions, per row and band
            slow = a * slow + (1 - a) * now[:, t]
            floor = np.minimum(now[:, t, :U], floor + rise)
            levels[:, t, n:2 * n], levels[:, t, 2 * n:] = slow, floor
        return levels, np.concatenate([slow, floor], axis=1)

    def features(self, x: np.ndarray, y: np.ndarray, upper: np.ndarray, state: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Per frame, what the head sees [rows, T, features] (what it is trained on), and the state."""
        levels, state = self._levels(x, y, upper, state)
        return (levels @ self._A.T + self._offset).astype(np.float32), state

    def band_gains(self, f: np.ndarray) -> np.ndarray:
        """Features [..., features] -> each band's amplitude gain [..., upper]."""
        w1, b1 = self.w[0], self.w[1]
        return self._tail(f @ w1.T + b1)

    def _tail(self, first: np.ndarray) -> np.ndarray:
        """The first layer's output -> each band's gain: tanh, the second layer, tanh, the third, a
        sigmoid onto min_gain_db .. 0 dB."""
        _, _, w2, b2, w3, b3 = self.w
        z = np.tanh(np.tanh(first) @ w2.T + b2) @ w3.T + b3
        return 10 ** (self.config.min_gain_db / 20 * (1 - 1 / (1 + np.exp(-z))))

    def gains(self, x: np.ndarray, y: np.ndarray, upper: np.ndarray, state: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
        """Per frame and bin above the model's, the gain [rows, T, upper bins]; and the state."""
        levels, state = self._levels(x, y, upper, state)
        return (self._tail(levels @ self._w1_levels + self._b1_levels) @ self._spread).astype(np.float32), state


@dataclass(frozen=True)
class UpperBandFile:
    """A trained head as read from its file: bound to a framing by :meth:`at`."""

    config: UpperBandConfig
    weights: dict[str, np.ndarray]

    def at(self, model: SpectralConfig, factor: int) -> UpperBand:
        return UpperBand(self.config, self.weights, model, factor)


def save_upper_band(path: Path, config: UpperBandConfig, weights: dict[str, np.ndarray],
                    metadata: dict[str, str] | None = None) -> None:
    from safetensors.numpy import save_file
    save_file({k: np.ascontiguousarray(weights[k], np.float32) for k in TENSORS}, str(path),
              metadata={"config": json.dumps(asdict(config)), **(metadata or {})})


def read_upper_band(path: Path) -> UpperBandFile:
    """A head's file, or a one-line :class:`ModelError` (missing, not safetensors, wrong shapes)."""
    from safetensors import SafetensorError, safe_open
    try:
        with safe_open(str(path), framework="numpy") as f:
            raw = json.loads((f.metadata() or {})["config"])
            weights = {k: f.get_tensor(k) for k in TENSORS}
        config = UpperBandConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})
    except (OSError, KeyError, TypeError, ValueError, SafetensorError) as e:
        raise ModelError(f"{path}: not a readable upper-band head ({e.__class__.__name__})") from None
    shapes = {"w1": (config.hidden, config.features), "b1": (config.hidden,), "w2": (config.hidden, config.hidden),
              "b2": (config.hidden,), "w3": (config.upper, config.hidden), "b3": (config.upper,)}
    bad = [k for k, s in shapes.items() if weights[k].shape != s]
    if bad:
        raise ModelError(f"{path}: upper-band head's {', '.join(bad)} do not match its config")
    return UpperBandFile(config, weights)
