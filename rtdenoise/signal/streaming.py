"""Streaming enhancement: one hop at a time, with known latency, for any generator family.

:class:`StreamingDenoiser` is the one streaming class. Its framing is the model's
(:func:`rtdenoise.families.framing`: decided once, from the config, with the caller's optional hop
and look-ahead), and what happens inside a hop is the family's hop core
(:meth:`rtdenoise.families.base.Family.hop_core`): the seed family's sliding window, or the
spectral family's STFT frame through a stateful network. Everything else is the same for both and
lives here: the bookkeeping of input that is not a whole hop yet, NaN and Inf scrubbed once at the
entry, the late-hop fallback, and the user's controls, which act after the hop core as a
per-sample ramp between the dry input and the wet output, so full bypass gives the input back bit
for bit. :func:`enhance_like_stream` computes offline (batched, fast) exactly what the stream emits,
which tests use to prove the stream has no off-by-one or state bugs.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import AudioError, ParameterError, check_range
from ..families import WINDOW_FUNCTIONS, of
from ..families.runtime import for_model
from ..model.backends import Backend
from ..model.framing import StreamConfig
from ..model.types import WindowFn
from .audio import as_float_samples

__all__ = ["StreamConfig", "StreamingDenoiser", "check_strength", "effective_strength", "enhance_like_stream"]


def check_strength(strength: float) -> float:
    """The strength control's one range check (0 dry .. 1 fully denoised), for every caller."""
    if not 0.0 <= strength <= 1.0 or math.isnan(strength):
        raise ParameterError("strength", "{name} must be between 0 and 1")
    return float(strength)


def attenuation_strength(db: float | None) -> float:
    """The strength that removes at most ``db`` dB of noise (None or inf: no limit): the removed
    part scaled by 10**(-db/20)."""
    check_range("atten_limit", db, 0)
    return 1.0 if db is None or math.isinf(db) else 1.0 - 10 ** (-db / 20)


def effective_strength(strength: float = 1.0, atten_limit: float | None = None) -> float:
    """The one strength that the two controls give together, both checked: an attenuation limit,
    where one is set, decides (as :meth:`StreamingDenoiser.set_attenuation_limit` after
    :meth:`~StreamingDenoiser.set_strength`)."""
    strength = check_strength(strength)
    return strength if atten_limit is None else attenuation_strength(atten_limit)


class StreamingDenoiser:
    """Enhance a mono stream at one of the model's rates, hop by hop. Not thread-safe: one thread owns it.

    ``push(x)`` takes any number of samples and returns what became ready (whole hops); the output
    is the input delayed by ``config.latency`` samples counted from the end of each hop, i.e. output
    sample ``m`` is the estimate of input sample ``m - config.delay``. ``flush()`` pushes silence
    until every sample pushed so far has come out.

    ``config``: the framing; by default the model's own at ``rate`` (one it streams at: a
    spectral model 16, 32 or 48 kHz, the last the whole band; None: its own) with the optional
    ``hop`` and ``lookahead`` (samples at the model's rate), as :func:`rtdenoise.families.framing`
    decides it for ``rtdenoise live``; a plain window function needs one. ``preemphasis``: a window
    function's (default the model's, or the seed design's 0.95).
    """

    def __init__(self, model: "Any | WindowFn", config: StreamConfig | None = None,
                 preemphasis: float | None = None, backend: "str | Backend | None" = "auto", *,
                 hop: int | None = None, lookahead: int | None = None, rate: int | None = None) -> None:
        family = of(model)
        if config is not None and (hop, lookahead, rate) != (None, None, None):
            raise ValueError("give a StreamConfig or a hop, look-ahead and rate, not all")
        if family is None:                           # a plain window function
            if config is None:
                raise ValueError("a window function needs an explicit StreamConfig")
            family, settings = WINDOW_FUNCTIONS, None
        else:
            settings = model.config
            if config is not None:
                rate = config.rate
                f = config.rate // settings.sample_rate or 1      # the framing counts the model's samples
                hop, lookahead = config.hop // f, config.lookahead // f
            own = family.framing(settings, hop, lookahead, rate)
            if config is not None and config != own:
                raise ValueError(f"this model streams with window {own.window} at {own.rate} Hz, not {config}")
            config = own
        self.backend = for_model(model, backend, tail=family.stream_tail(config))
        self._core = family.hop_core(self.backend, config, settings, preemphasis)
        self._rests = family.rests_when_bypassed      # bypassed, G may rest (it keeps no state)
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
        self.set_strength(attenuation_strength(db))

    # -- the stream --------------------------------------------------------------------------------
    def push(self, x: np.ndarray, run_model: bool = True) -> np.ndarray:
        """Feed mono samples ([n], or [n, 1]; float, or integer PCM, which is scaled from its full
        scale); returns the float32 output of every hop completed by them (possibly empty). Several
        channels are refused: mix them down first (``x.mean(axis=1)``)."""
        x = as_float_samples(x, "StreamingDenoiser.push")
        if x.ndim > 1 and x.shape[1:] != (1,):
            raise AudioError(f"StreamingDenoiser.push takes mono samples [n], got shape {x.shape}: "
                             "mix the channels down first, e.g. x.mean(axis=1)")
        hops = self.hops(x.reshape(-1))
        out = np.empty(hops.size, np.float32)
        for k, hop_in in enumerate(hops):
            self.process_hop(hop_in, out[k * len(hop_in):(k + 1) * len(hop_in)], run_model)
        return out

    def hops(self, x: np.ndarray) -> np.ndarray:
        """The whole hops that the pending input and ``x`` make, [k, hop] (for a caller that runs
        :meth:`process_hop` itself, one decision per hop); the rest stays pending."""
        H = self.config.hop
        data = np.concatenate([self._pending[:self._npending], np.asarray(x, np.float32)])
        k = len(data) // H
        self._npending = len(data) - k * H
        self._pending[:self._npending] = data[k * H:]
        return data[:k * H].reshape(k, H)

    @property
    def pending(self) -> int:
        """Input samples held until they make a whole hop."""
        return self._npending

    def padding(self, more: int = 0) -> int:
        """Samples of silence that, pushed after ``more`` further samples, bring every real
        sample out: the delay, rounded up to whole hops."""
        H, pending = self.config.hop, self._npending + more
        return -(-(self.config.latency + pending) // H) * H - pending

    def flush(self) -> np.ndarray:
        """Push silence until all real input has come out; returns that remaining output."""
        return self.push(np.zeros(self.padding(), np.float32))

    def scrub(self, x: np.ndarray) -> np.ndarray:
        """NaN and Inf samples made silence, in place, and counted (:attr:`nonfinite_samples`):
        one would otherwise stay in the filters' and the network's state for good. Whoever
        feeds the stream through a stateful stage of its own (a resampler) scrubs first with this."""
        bad = ~np.isfinite(x)
        if bad.any():
            self.nonfinite_samples += int(bad.sum())
            x[bad] = 0.0
        return x

    def process_hop(self, hop_in: np.ndarray, out: np.ndarray, run_model: bool = True) -> None:
        """One hop: ``H`` new samples in, ``H`` output samples into ``out``. With ``run_model=False``
        G is skipped and the hop is the dry input, crossfaded (the caller is behind real time).
        NaN and Inf samples become silence (counted in :attr:`nonfinite_samples`) before anything
        sees them: one would otherwise stay in the filters' and the network's state for good."""
        H = self.config.hop
        if not np.isfinite(hop_in).all():
            hop_in = self.scrub(np.array(hop_in, np.float32))
        # Fully bypassed, G is not heard: a family that keeps no state G must update rests.
        idle = self.bypass and self._wet_gain == 0.0 and self._emitted > 0 and self._rests
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
        """Output sample ``m`` estimates input sample ``m - delay`` (the look-ahead and any
        analysis delay: the framing's)."""
        return self.config.delay


def enhance_like_stream(model: "Any | WindowFn", x: np.ndarray, config: StreamConfig | None = None,
                        preemphasis: float | None = None, backend: "str | Backend | None" = "auto") -> np.ndarray:
    """Offline, batched: what :class:`StreamingDenoiser` emits for ``x`` (mono, the model's rate)
    at framing ``config`` (default the model's), aligned to ``x`` (so without the stream's delay).
    Used to check the stream and to score quality at a given latency without running in real time."""
    family = of(model) or WINDOW_FUNCTIONS
    if config is None:
        config = family.framing(model.config)
    be = for_model(model, backend, tail=family.stream_tail(config))
    return family.like_stream(model if of(model) else None, be, x, config, preemphasis)


