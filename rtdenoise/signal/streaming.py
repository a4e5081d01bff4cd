"""Streaming enhancement: one hop at a time, with known latency, for either generator family.

:class:`StreamingDenoiser` is the one streaming class; what happens inside a hop depends on the
model's family. The spectral family's hop (:class:`rtdenoise.stft.SpectralHop`) is one STFT frame
through a stateful network, with a fixed delay of ``n_fft - hop`` samples. The seed family's hop
is the sliding window described next. The user's controls, the late-hop fallback and the
bookkeeping of pending input are the same for both.

The generator only works on whole windows of ``W`` samples. Live, every hop of ``H`` new samples the
window slides by ``H`` and G runs once on the newest ``W`` samples. Its output is taken ``A``
samples back from the newest input (``A`` is the look-ahead: how much future G sees for the oldest
sample it emits), so each hop emits samples ``[t-A-H+1, t-A]`` once the sample ``t`` has arrived:
the algorithmic latency is ``H + A``.

Seams between hops are hidden by a crossfade of ``C = min(H, A)`` samples: the previous window
already estimated the first ``C`` samples of this hop (they were in its look-ahead), and the two
estimates are blended with a raised-cosine ramp whose two halves sum to one. With ``A = 0`` no
earlier window saw this hop, so hops butt against each other; that is the price of zero look-ahead.

The same blend, written as a weight over window positions, turns streaming into an ordinary
overlap-add, so :func:`enhance_like_stream` computes offline (batched, fast) exactly what the stream
emits. Tests use that to prove the stream has no off-by-one or state bugs.

Everything runs in G's pre-emphasised domain, with the filters' state carried across hops. Two
things are mixed in that domain on purpose: when the caller is late (``run_model=False``) the hop
is filled with the dry input as if G were the identity, and the normal crossfade slides between
wet and dry without a click. The user's controls (bypass, strength) act after de-emphasis, as a
per-sample ramp between the dry input and the wet output, so full bypass gives the input back
bit for bit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import AudioError, RtDenoiseError
from ..model import backends
from ..model.backends import WindowFn
from ..model.config import SAMPLE_RATE
from ..model.emphasis import deemphasise, emphasise
from ..model.config import family_of
from .audio import as_float_samples
from .overlap import overlap_add
from .stft import SpectralHop



@dataclass(frozen=True)
class StreamConfig:
    """Framing of the stream at the model's rate: window ``W``, hop ``H`` and look-ahead ``A``."""

    window: int
    hop: int
    lookahead: int

    def __post_init__(self) -> None:
        if not 0 < self.hop <= self.window:
            raise ValueError(f"hop must be in 1..{self.window} samples, got {self.hop}")
        if not 0 <= self.lookahead <= self.window - self.hop:
            raise ValueError(f"look-ahead must be in 0..{self.window - self.hop} samples "
                             f"(window {self.window} minus hop {self.hop}), got {self.lookahead}")

    @property
    def crossfade(self) -> int:
        return min(self.hop, self.lookahead)

    @property
    def latency(self) -> int:
        """Algorithmic latency in samples: a hop to fill, plus the look-ahead."""
        return self.hop + self.lookahead

    @property
    def tail(self) -> int:
        """The samples at the end of each window the stream reads: this hop's output and the
        crossfade into the next (all a backend need compute; see :mod:`rtdenoise.model.export`)."""
        return self.hop + self.lookahead

    def ramp(self) -> np.ndarray:
        """Raised-cosine fade-in of ``crossfade`` samples; ``1 - ramp`` is the matching fade-out."""
        c = self.crossfade
        return (0.5 - 0.5 * np.cos(np.pi * (np.arange(c) + 0.5) / c)).astype(np.float32) if c else np.zeros(0, np.float32)

    def weight(self) -> np.ndarray:
        """The stream's blend as a weight over window positions (see the module docstring)."""
        w = np.zeros(self.window, np.float32)
        own = self.window - self.lookahead - self.hop         # where this hop's output starts
        c = self.crossfade
        w[own:own + self.hop] = 1.0
        w[own:own + c] = self.ramp()
        w[own + self.hop:own + self.hop + c] = 1.0 - self.ramp()
        return w


def default_stream_config(window: int, sample_rate: int = SAMPLE_RATE, hop_ms: float | None = None,
                          lookahead_ms: float | None = None) -> StreamConfig:
    """Defaults that keep a CPU real time with headroom: a 32 ms hop (G runs 31 times a second)
    and 32 ms of look-ahead, so 64 ms algorithmic latency; both are clamped to what the window allows."""
    hop = int(round((32.0 if hop_ms is None else hop_ms) * sample_rate / 1000))
    hop = max(1, min(hop, window))
    look = int(round((32.0 if lookahead_ms is None else lookahead_ms) * sample_rate / 1000))
    return StreamConfig(window, hop, max(0, min(look, window - hop)))


def spectral_stream_config(config) -> StreamConfig:
    """A spectral model's fixed framing in the stream's terms: a window of ``n_fft``, one frame per
    hop, and output ``n_fft - hop`` samples behind the newest input (latency: one window)."""
    return StreamConfig(config.n_fft, config.hop, config.n_fft - config.hop)


class StrengthError(RtDenoiseError, ValueError):
    """A strength outside 0..1 (a ValueError for the API, a one-line error for the commands)."""


def check_strength(strength: float, what: str = "strength") -> float:
    """The strength control's one range check (0 dry .. 1 fully denoised), for every caller;
    ``what`` names it in the error (a command says ``--strength``)."""
    if not 0.0 <= strength <= 1.0 or math.isnan(strength):
        raise StrengthError(f"{what} must be between 0 and 1")
    return float(strength)


def check_lookahead(model: Any, lookahead: int | None) -> None:
    """A spectral model looks at no future frame: a look-ahead other than 0 is a one-line error."""
    if family_of(model) == "spectral" and lookahead not in (None, 0):
        raise RtDenoiseError(f"--lookahead {lookahead}: this spectral model uses no look-ahead (use --lookahead 0 or "
                             f"leave it out); its latency is one {1000 * model.config.latency / model.config.sample_rate:.0f} ms window")


class StreamingDenoiser:
    """Enhance a 16 kHz mono stream hop by hop. Not thread-safe: one thread owns it.

    ``push(x)`` takes any number of samples and returns what became ready (whole hops); the output
    is the input delayed by ``config.latency`` samples counted from the end of each hop, i.e. output
    sample ``m`` is the estimate of input sample ``m - lookahead``. ``flush()`` pushes silence until
    every sample pushed so far has come out.
    """

    def __init__(self, model: "Any | WindowFn", config: StreamConfig | None = None,
                 preemphasis: float | None = None, backend: "str | backends.Backend | None" = "auto") -> None:
        family = family_of(model)
        if family == "spectral":
            fixed = spectral_stream_config(model.config)
            if config is not None and config != fixed:
                raise ValueError(f"a spectral model streams with its own framing: hop {fixed.hop}, no look-ahead "
                                 f"({1000 * model.config.latency / model.config.sample_rate:.0f} ms)")
            config = fixed
            self.backend = backends.for_model(model, backend)
            self._core: "SpectralHop | _WindowHop" = SpectralHop(self.backend.fn, self.backend.initial_state,
                                                                  self.backend.skip, model.config)
        else:
            if config is None:
                if family is None:
                    raise ValueError("a window function needs an explicit StreamConfig")
                config = default_stream_config(model.config.window, model.config.sample_rate)
            if family == "seed":
                if config.window != model.config.window:
                    raise ValueError(f"stream window {config.window} differs from the model's {model.config.window}")
                # G's output is read only from the hop's start to the window's end: ask for that tail.
                self.backend = backends.for_model(model, backend, tail=config.tail)
                preemphasis = model.config.preemphasis if preemphasis is None else preemphasis
            else:
                self.backend = backends.for_model(model)
                preemphasis = 0.95 if preemphasis is None else preemphasis
            self._core = _WindowHop(self.backend.fn, config, preemphasis)
        self.config = config
        H = config.hop
        self._pending = np.zeros(H, np.float32)      # input of an incomplete hop
        self._npending = 0
        self._wet = np.zeros(H, np.float32)
        self._emitted = 0                            # output samples emitted so far
        self._wet_gain = 1.0                         # current dry/wet position, ramped towards the target
        self.strength = 1.0                          # target: 1 = fully denoised, 0 = dry input
        self.bypass = False
        self.late_hops = 0                           # hops emitted dry because the caller was late
        self.nonfinite_samples = 0                   # NaN/Inf input samples, made silence
        self.last_dry = self._pending[:0]

    def warm_up(self) -> None:
        """Run G once on silence: first calls are slow (lazy kernels, allocator), and a live
        stream should not pay that on its first hop."""
        self._core.warm_up()

    # -- controls ----------------------------------------------------------------------------------
    def set_strength(self, strength: float) -> None:
        """Dry/wet mix: 1 removes all the noise G finds, 0 passes the input. Applied over one hop."""
        self.strength = check_strength(strength)

    def set_attenuation_limit(self, db: float | None) -> None:
        """Remove at most ``db`` dB of noise (None or inf: no limit). The same knob as strength:
        the removed part is scaled by 10**(-db/20)."""
        self.set_strength(1.0 if db is None or math.isinf(db) else 1.0 - 10 ** (-max(db, 0.0) / 20))

    # -- the stream --------------------------------------------------------------------------------
    def push(self, x: np.ndarray, run_model: bool = True) -> np.ndarray:
        """Feed mono samples ([n], or [n, 1]; float, or integer PCM, which is scaled from its full
        scale); returns the float32 output of every hop completed by them (possibly empty). Several
        channels are refused: mix them down first (``x.mean(axis=1)``)."""
        x = as_float_samples(x, "StreamingDenoiser.push")
        if x.ndim > 1 and x.shape[1:] != (1,):
            raise AudioError(f"StreamingDenoiser.push takes mono samples [n], got shape {x.shape}: "
                             "mix the channels down first, e.g. x.mean(axis=1)")
        x = x.reshape(-1)
        H = self.config.hop
        outs = []
        i = 0
        while i < len(x):
            take = min(H - self._npending, len(x) - i)
            self._pending[self._npending:self._npending + take] = x[i:i + take]
            self._npending += take
            i += take
            if self._npending == H:
                out = np.empty(H, np.float32)
                self.process_hop(self._pending, out, run_model)
                outs.append(out)
                self._npending = 0
        return np.concatenate(outs) if outs else np.zeros(0, np.float32)

    def flush(self) -> np.ndarray:
        """Push silence until all real input has come out; returns that remaining output."""
        need = self.config.latency + self._npending
        need = -(-need // self.config.hop) * self.config.hop - self._npending
        return self.push(np.zeros(need, np.float32))

    def process_hop(self, hop_in: np.ndarray, out: np.ndarray, run_model: bool = True) -> None:
        """One hop: ``H`` new samples in, ``H`` output samples into ``out``. With ``run_model=False``
        G is skipped and the hop is the dry input, crossfaded (the caller is behind real time).
        NaN and Inf samples become silence (counted in :attr:`nonfinite_samples`) before anything
        sees them: one would otherwise stay in the filters' and the network's state for good."""
        H = self.config.hop
        bad = ~np.isfinite(hop_in)
        if bad.any():
            self.nonfinite_samples += int(bad.sum())
            hop_in = np.where(bad, np.float32(0.0), hop_in).astype(np.float32)
        # Fully bypassed, G is not heard; the seed family then skips it, the spectral family keeps
        # running it so that its state is current when bypass ends.
        idle = self.bypass and self._wet_gain == 0.0 and self._emitted > 0 and isinstance(self._core, _WindowHop)
        before = max(0, min(H, self.delay - self._emitted))   # samples from before the stream began
        dry = self._core.process(hop_in, self._wet, run_model and not idle, before)
        self.late_hops += not run_model
        self.last_dry = dry                            # the input this hop's output lines up with
        self._mix(dry, self._wet, out)
        out[:before] = 0.0
        self._emitted += H

    def _mix(self, dry: np.ndarray, wet: np.ndarray, out: np.ndarray) -> None:
        target = 0.0 if self.bypass else self.strength
        if self._emitted == 0:                         # settings made before the stream: no fade-in
            self._wet_gain = target
        start = self._wet_gain
        if start == target:
            gain: float | np.ndarray = target
        else:
            gain = start + (target - start) * (np.arange(1, len(dry) + 1, dtype=np.float32) / len(dry))
            self._wet_gain = target
        if isinstance(gain, float) and gain == 0.0:
            out[:] = dry                               # bit-exact bypass
        else:
            out[:] = dry + gain * (wet - dry)

    @property
    def delay(self) -> int:
        """Output sample ``m`` estimates input sample ``m - delay`` (the look-ahead; for the
        spectral family the window's overlap)."""
        return self.config.lookahead


class _WindowHop:
    """The seed family's hop: the generator over a sliding window (see the module docstring)."""

    def __init__(self, fn: WindowFn, config: StreamConfig, preemphasis: float) -> None:
        W, H = config.window, config.hop
        self._g = fn
        self.config = config
        self.preemphasis = preemphasis
        self._ramp = config.ramp()
        self._raw = np.zeros(W, np.float32)          # newest W input samples, as they came
        self._pre = np.zeros(W, np.float32)          # the same, pre-emphasised
        self._pre_state = np.zeros(1, np.float32)
        self._de_state = np.zeros(1)
        self._tail = np.zeros(config.crossfade, np.float32)   # previous window's estimate of the next hop's start

    def warm_up(self) -> None:
        self._g(np.zeros((1, self.config.window), np.float32))

    def process(self, hop_in: np.ndarray, wet: np.ndarray, run_model: bool, before: int) -> np.ndarray:
        """Fill ``wet``; returns the dry input it lines up with. The first ``before`` samples
        precede the stream: they are silence, not G's guess, and leave no filter state."""
        cfg = self.config
        W, H, A, C = cfg.window, cfg.hop, cfg.lookahead, cfg.crossfade
        self._raw[:-H] = self._raw[H:]
        self._raw[-H:] = hop_in
        pre, self._pre_state = emphasise(hop_in, self.preemphasis, self._pre_state)
        self._pre[:-H] = self._pre[H:]
        self._pre[-H:] = pre
        y = self._g(self._pre[None])[0] if run_model else self._pre   # dry: the identity, same domain
        own = len(y) - A - H                           # where this hop's output starts in y
        wet_pre = y[own:own + H].copy()
        if C:
            wet_pre[:C] = self._ramp * wet_pre[:C] + (1.0 - self._ramp) * self._tail
            self._tail[:] = y[own + H:own + H + C]
        if before:
            wet_pre[:before] = 0.0
        wet[:], self._de_state = deemphasise(wet_pre, self.preemphasis, self._de_state)
        return self._raw[W - A - H:W - A]


def enhance_like_stream(model: "Any | WindowFn", x: np.ndarray, config: StreamConfig,
                        preemphasis: float = 0.95, batch: int = 16,
                        backend: "str | backends.Backend | None" = "auto") -> np.ndarray:
    """Offline, batched: what :class:`StreamingDenoiser` emits for ``x`` (16 kHz mono), aligned to
    ``x`` (so without the stream's delay). Used to check the stream and to score quality at a
    given latency without running in real time."""
    if family_of(model) == "spectral":                  # its stream is its offline enhancement
        from .offline import enhance_16k
        return enhance_16k(model, x, backend=backend)[0]
    W, H, A = config.window, config.hop, config.lookahead
    if family_of(model) == "seed":
        preemphasis = model.config.preemphasis
        model = backends.whole_windows(backends.for_model(model, backend, tail=config.tail), W)
    x = np.asarray(x, np.float32).ravel()
    # The stream's first window ends at input sample H-1, after W-H samples of silent history; its
    # flush feeds silence through the pre-emphasis filter until A samples past the input's end.
    pre, _ = emphasise(np.concatenate([x, np.zeros(A + H, np.float32)]), preemphasis)
    y = overlap_add(pre[None], W, H, model, batch, weight=config.weight(), pad=(W - H, 0))
    out, _ = deemphasise(y[:, :len(x)], preemphasis)
    return out[0]
