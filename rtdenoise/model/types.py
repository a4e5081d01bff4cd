"""The shapes of a generator as the signal path calls it, one alias per kind of call.

A leaf: backends build these, the families' signal code calls them, and neither needs the other
to name them.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

#: The seed family's ``fn(frames [B, W] float32) -> [B, W]`` (or the last ``tail`` samples).
WindowFn = Callable[[np.ndarray], np.ndarray]
#: The spectral family's ``fn(spec [B, T, bins, 2] float32, state) -> (enhanced spec, new state)``.
StepFn = Callable[[np.ndarray, Sequence[np.ndarray]], tuple[np.ndarray, list[np.ndarray]]]
#: ``skip(state, spec [1, 1, bins, 2]) -> state`` after a frame the network did not run on.
SkipFn = Callable[[list, np.ndarray], list]
