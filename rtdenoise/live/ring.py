"""A lock-free single-producer/single-consumer ring of float32 samples.

The audio callback must never wait, allocate or log, so it talks to the inference thread through
two of these rings: the callback writes captured samples into one and reads processed samples from
the other. Each side only ever advances its own counter (``_written`` by the producer, ``_read`` by
the consumer), and Python's assignment of an int is atomic, so no lock is needed. Counters grow
without wrapping (Python ints), which makes "how many samples are waiting" a plain subtraction.

What does not fit is counted, never blocked on: a write into a full ring drops the samples that
do not fit (``overruns``), a read from a ring that holds too few fills the rest with zeros
(``underruns``). Both counts are samples, so a test can say exactly how much was lost. An underrun
keeps time: the samples that were missing are dropped when they arrive, instead of being played
late, so a glitch never adds latency for the rest of the session.
"""
from __future__ import annotations

import numpy as np


class SampleRing:
    """A fixed-capacity FIFO of float32 samples for one producer thread and one consumer thread."""

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self.capacity = int(capacity)
        self._buf = np.zeros(self.capacity, np.float32)
        self._written = 0        # total samples ever written (producer's counter)
        self._read = 0           # total samples ever read (consumer's counter)
        self.overruns = 0        # samples dropped because the ring was full
        self.underruns = 0       # samples the consumer wanted but did not find (filled with zeros)
        self._debt = 0           # samples owed by an underrun: dropped on arrival (consumer's counter)

    # -- either side -----------------------------------------------------------------------------
    def available(self) -> int:
        """Samples waiting to be read."""
        return self._written - self._read

    def queued(self) -> int:
        """Samples waiting that will be played: those owed to an earlier underrun are dropped on
        arrival, so they do not count (what the producer should judge latency by)."""
        return max(0, self.available() - self._debt)

    def free(self) -> int:
        """Room for samples before a write would drop any."""
        return self.capacity - (self._written - self._read)

    # -- producer --------------------------------------------------------------------------------
    def write(self, data: np.ndarray) -> int:
        """Append as much of ``data`` (1-D float32) as fits; returns how many samples were written."""
        n = min(len(data), self.free())
        if n < len(data):
            self.overruns += len(data) - n
        start = self._written % self.capacity
        first = min(n, self.capacity - start)
        self._buf[start:start + first] = data[:first]
        if n > first:
            self._buf[:n - first] = data[first:n]
        self._written += n            # publish only after the samples are in place
        return n

    # -- consumer --------------------------------------------------------------------------------
    def read_into(self, out: np.ndarray, count_underrun: bool = True) -> int:
        """Fill ``out`` (1-D float32) with the oldest samples; what is missing becomes zeros.
        Returns how many real samples were read. ``count_underrun=False`` is for start-up, when an
        empty ring is expected and is not a glitch. Samples still owed by an earlier underrun are
        dropped first."""
        want = len(out)
        if self._debt:
            late = min(self._debt, self.available())
            self._read += late
            self._debt -= late
        n = min(want, self.available())
        start = self._read % self.capacity
        first = min(n, self.capacity - start)
        out[:first] = self._buf[start:start + first]
        if n > first:
            out[first:n] = self._buf[:n - first]
        if n < want:
            out[n:] = 0.0
            self._debt += want - n
            if count_underrun:
                self.underruns += want - n
        self._read += n               # release the space only after the samples are copied out
        return n

    def read(self, count: int) -> np.ndarray:
        """Read up to ``count`` samples into a new array (for the non-real-time side only)."""
        out = np.empty(min(count, self.available()), np.float32)
        self.read_into(out)
        return out

    def skip(self, count: int) -> int:
        """Drop up to ``count`` of the oldest samples (to shed latency); returns how many."""
        n = min(count, self.available())
        self._read += n
        return n
