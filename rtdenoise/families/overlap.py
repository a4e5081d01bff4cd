"""Overlap-add of fixed windows: how the seed family's generator covers a signal of any length.

The generator sees fixed windows. A signal is cut into windows every ``hop`` samples (padded by
half a window at both ends, so every sample is seen by overlapping windows), each window is
enhanced, and the outputs are blended with a Hann weight normalised by the summed weights. Window
edges, where the convolutions see zero padding, count least, and an identity generator gives back
the input exactly: no seams at window borders. SEGAN's own inference cut files into
non-overlapping windows and had audible seams there. A stream's framing is the same blend with
another weight (:meth:`rtdenoise.model.framing.StreamConfig.weight`).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..model.types import WindowFn


def default_hop(window: int) -> int:
    """A quarter window: each sample is blended from four windows, which smooths out edge effects."""
    return window // 4


def overlap_add(x: np.ndarray, window: int, hop: int, fn: WindowFn, batch: int = 16,
                progress: Callable[[int], None] | None = None, weight: np.ndarray | None = None,
                pad: tuple[int, int] | None = None) -> np.ndarray:
    """Apply ``fn`` ([k, window] -> [k, window]) to overlapping windows of the rows of ``x``
    ([rows, n]) and blend the outputs back into [rows, n].

    ``weight`` (per window position; default a Hann window) says how much each window's output
    counts where windows overlap; ``pad`` is the silence (before, after) the first and last
    windows reach into (default half a window each side, so every sample is seen by several)."""
    if hop <= 0 or hop > window:
        raise ValueError(f"hop must be in 1..{window}, got {hop}")
    rows, n = x.shape
    front, back = pad if pad is not None else (window // 2, window // 2)
    count = max(1, -(-(n + front + back - window) // hop) + 1)
    total = (count - 1) * hop + window
    padded = np.zeros((rows, total), np.float32)
    padded[:, front:front + n] = x
    if weight is None:
        weight = np.hanning(window + 1)[:window].astype(np.float32) + 1e-3
    out = np.zeros_like(padded)
    norm = np.zeros(total, np.float32)
    starts = np.arange(count) * hop
    for s in starts:
        norm[s:s + window] += weight
    frames = [(r, s) for r in range(rows) for s in starts]
    for i in range(0, len(frames), batch):
        chunk = frames[i:i + batch]
        y = fn(np.stack([padded[r, s:s + window] for r, s in chunk]))
        for (r, s), yy in zip(chunk, y):
            out[r, s:s + window] += weight * yy
        if progress:
            progress(len(chunk))
    out, norm = out[:, front:front + n], norm[front:front + n]
    return np.divide(out, norm, out=np.zeros_like(out), where=norm > 0)


class OverlapAddStream:
    """:func:`overlap_add` (default weight and padding) for a signal that arrives in blocks: the
    same windows and the same sums in the same order, with only a window's worth of input and
    output held, so memory is bounded by the block, not the signal.

    A sample is final once every window over it has run: windows start every ``hop`` samples, so
    everything before the next window's start can go out."""

    def __init__(self, fn: WindowFn, window: int, hop: int, rows: int, batch: int = 16,
                 progress: Callable[[int], None] | None = None) -> None:
        if hop <= 0 or hop > window:
            raise ValueError(f"hop must be in 1..{window}, got {hop}")
        self._fn, self.W, self.H, self._batch, self._progress = fn, window, hop, batch, progress
        self._front = window // 2
        self._weight = np.hanning(window + 1)[:window].astype(np.float32) + 1e-3
        self._buf = np.zeros((rows, self._front), np.float32)   # padded input from padded position _next
        self._acc = np.zeros((rows, window), np.float32)         # sums from padded position _done
        self._norm = np.zeros(window, np.float32)
        self._next = 0          # padded position where the next window starts
        self._done = 0          # padded position of the next sample to hand out
        self._n = 0             # real samples pushed

    def push(self, x: np.ndarray) -> np.ndarray:
        """Rows of new samples [rows, m] in; the blended samples that are final out."""
        self._n += x.shape[1]
        self._buf = np.concatenate([self._buf, np.asarray(x, np.float32)], axis=1)
        self._windows(self._next + self._buf.shape[1])
        return self._emit(self._next)

    def finish(self) -> np.ndarray:
        """The rest: the last windows over the silence after the signal, as :func:`overlap_add`
        places them; the total output is as long as the total input."""
        n, W, H, front = self._n, self.W, self.H, self._front
        count = max(1, -(-(n + 2 * front - W) // H) + 1)
        total = (count - 1) * H + W
        have = self._next + self._buf.shape[1]
        if total > have:
            self._buf = np.concatenate([self._buf, np.zeros((len(self._buf), total - have), np.float32)], axis=1)
        self._windows(total, last=(count - 1) * H)
        return self._emit(front + n)

    def _windows(self, available: int, last: int | None = None) -> None:
        """Run every window that lies inside the ``available`` padded samples (and starts at or
        before ``last``), in order, ``batch`` at a time."""
        W, H, rows = self.W, self.H, len(self._buf)
        starts = []
        following = self._next
        while following + W <= available and (last is None or following <= last):
            starts.append(following)
            following += H
        if not starts:
            return
        need = starts[-1] + W - self._done
        if need > self._acc.shape[1]:
            grow = need - self._acc.shape[1]
            self._acc = np.concatenate([self._acc, np.zeros((rows, grow), np.float32)], axis=1)
            self._norm = np.concatenate([self._norm, np.zeros(grow, np.float32)])
        for s in starts:
            self._norm[s - self._done:s - self._done + W] += self._weight
        frames = [(r, s) for r in range(rows) for s in starts]
        for i in range(0, len(frames), self._batch):
            chunk = frames[i:i + self._batch]
            y = self._fn(np.stack([self._buf[r, s - self._next:s - self._next + W] for r, s in chunk]))
            for (r, s), yy in zip(chunk, y):
                self._acc[r, s - self._done:s - self._done + W] += self._weight * yy
            if self._progress:
                self._progress(len(chunk))
        self._buf = self._buf[:, following - self._next:]
        self._next = following

    def _emit(self, upto: int) -> np.ndarray:
        """The samples before padded position ``upto`` that are not the front padding."""
        k = max(0, upto - self._done)
        acc, norm = self._acc[:, :k], self._norm[:k]
        out = np.divide(acc, norm, out=np.zeros_like(acc), where=norm > 0)
        self._acc, self._norm = self._acc[:, k:], self._norm[k:]
        skip = max(0, min(k, self._front - self._done))
        self._done += k
        return out[:, skip:]
