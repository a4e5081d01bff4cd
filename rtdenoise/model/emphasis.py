"""SEGAN's pre-emphasis (applied to input and target) and its inverse (applied to the output).

Pre-emphasis lifts high frequencies so the L1 loss does not ignore them. The filters keep their
state in an explicit ``zi`` so that a stream cut into blocks gives the same result as one call.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.signal import lfilter

if TYPE_CHECKING:
    import torch


def emphasise(x: np.ndarray, preemphasis: float, zi: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """y[n] = x[n] - preemphasis * x[n-1] along the last axis. ``zi`` holds x[-1] per row (zeros at start).
    Returns (y, new state)."""
    x = np.asarray(x, dtype=np.float32)
    prev = np.zeros(x.shape[:-1] + (1,), np.float32) if zi is None else np.asarray(zi, np.float32).reshape(x.shape[:-1] + (1,))
    if x.shape[-1] == 0:
        return x.copy(), prev
    shifted = np.concatenate([prev, x[..., :-1]], axis=-1)
    return (x - preemphasis * shifted).astype(np.float32), x[..., -1:].copy()


def deemphasise(y: np.ndarray, preemphasis: float, zi: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The inverse IIR filter x[n] = y[n] + preemphasis * x[n-1]. ``zi`` holds x[-1] per row. Returns (x, new state)."""
    y = np.asarray(y, dtype=np.float64)
    prev = np.zeros(y.shape[:-1] + (1,)) if zi is None else np.asarray(zi, np.float64).reshape(y.shape[:-1] + (1,))
    if y.shape[-1] == 0:
        return y.astype(np.float32), prev
    x, _ = lfilter([1.0], [1.0, -preemphasis], y, axis=-1, zi=preemphasis * prev)
    return x.astype(np.float32), x[..., -1:].copy()


def emphasise_torch(x: "torch.Tensor", preemphasis: float) -> "torch.Tensor":
    """Pre-emphasis of independent windows [..., n] (each window starts from zero state)."""
    import torch
    return torch.cat([x[..., :1], x[..., 1:] - preemphasis * x[..., :-1]], dim=-1)
