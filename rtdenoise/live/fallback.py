"""The audio callback's last resort against gaps: the delayed dry input, where the output runs short.

When the inference thread is starved (the machine busy with other work), the output ring can run
dry before the next hop is ready. Silence there is what users hear as a dropout. Instead the
callback keeps a copy of what it captured and, for the samples the ring could not give, plays the
input from ``delay`` samples earlier (the engine's own latency, so it lines up with what the
enhanced output would have been), faded in from the last real sample and crossfaded back to the
enhanced output when it returns. The ring itself keeps time (its late samples are dropped when
they arrive), so the latency never grows.

Everything here is preallocated: the callback copies and multiplies into buffers it owns, and
never allocates, waits or logs. What it did is counted (:attr:`events`, :attr:`samples`).
"""
from __future__ import annotations

import numpy as np


class DryFallback:
    """A ring of the captured (mono, device-rate) input and the arithmetic to patch an output block."""

    def __init__(self, capacity: int, fade: int) -> None:
        self._hist = np.zeros(capacity, np.float32)
        self._captured = 0                       # input samples captured so far
        self._dry = np.zeros(capacity, np.float32)
        f = max(1, fade)
        self._ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(f) + 0.5) / f)).astype(np.float32)   # 0 -> 1
        self.delay = 0                           # output sample p plays input sample p - delay
        self.active = False                      # the last block ended on dry input
        self._last = 0.0                         # the last sample the output played
        self.events = 0                          # times the output turned to the dry input
        self.samples = 0                         # samples played from the dry input

    @property
    def fade(self) -> int:
        """Samples over which a dry spell fades in from the last sample played (and back out)."""
        return len(self._ramp)

    def capture(self, mono: np.ndarray) -> None:
        """Keep a captured block (the callback's own copy of the input)."""
        n, cap = len(mono), len(self._hist)
        if n >= cap:
            self._hist[:] = mono[n - cap:]
            self._captured += n
            return
        start = self._captured % cap
        first = min(n, cap - start)
        self._hist[start:start + first] = mono[:first]
        if n > first:
            self._hist[:n - first] = mono[first:]
        self._captured += n

    def _input(self, start: int, out: np.ndarray) -> None:
        """Input samples ``start .. start + len(out)`` into ``out``; zeros for any not captured (yet)."""
        cap = len(self._hist)
        out.fill(0.0)
        lo, hi = max(start, self._captured - cap, 0), min(start + len(out), self._captured)
        while lo < hi:
            pos = lo % cap
            take = min(hi - lo, cap - pos)
            out[lo - start:lo - start + take] = self._hist[pos:pos + take]
            lo += take

    def patch(self, block: np.ndarray, position: int, real: int) -> None:
        """``block`` (one output block, played from output sample ``position`` on) holds ``real``
        samples from the ring and a shortfall after them: fill the shortfall with the dry input,
        faded in from the last real sample; or, back from a dry spell, crossfade into the real samples."""
        n = len(block)
        F = len(self._ramp)
        if real < n:
            gap = n - real
            dry = self._dry[:gap]
            self._input(position + real - self.delay, dry)
            if not self.active:
                self.events += 1
                last = block[real - 1] if real else self._last
                f = min(F, gap)
                ramp = self._ramp[:f]
                dry[:f] *= ramp
                dry[:f] += last * (1.0 - ramp)
            block[real:] = dry
            self.samples += gap
            self.active = True
        elif self.active and n:
            f = min(F, n)
            dry = self._dry[:f]
            self._input(position - self.delay, dry)
            ramp = self._ramp[:f]
            block[:f] *= ramp
            dry *= 1.0 - ramp
            block[:f] += dry
            self.active = False
        if n:
            self._last = float(block[-1])
