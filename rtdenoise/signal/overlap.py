"""Overlap-add of fixed windows: how the seed family's generator covers a signal of any length.

The generator sees fixed windows. A signal is cut into windows every ``hop`` samples (padded by
half a window at both ends, so every sample is seen by overlapping windows), each window is
enhanced, and the outputs are blended with a Hann weight normalised by the summed weights. Window
edges, where the convolutions see zero padding, count least, and an identity generator gives back
the input exactly: no seams at window borders. SEGAN's own inference cut files into
non-overlapping windows and had audible seams there. A stream's framing is the same blend with
another weight (:meth:`rtdenoise.signal.streaming.StreamConfig.weight`).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..model.backends import WindowFn


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
