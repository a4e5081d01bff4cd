"""The file clock: a file played through the live engine as a device would, block by block.

What ``rtdenoise live --in-file`` and the window's file source run: the same callback and
inference code as a device, either as fast as possible (each block processed as it arrives:
deterministic) or at real-time pace with the inference thread, so late hops and underruns happen
as they would live.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

import numpy as np

from .engine import LiveEngine


def run_file(engine: LiveEngine, audio: np.ndarray, realtime: bool = False,
             on_block: Callable[[LiveEngine], None] | None = None,
             stop: threading.Event | None = None) -> np.ndarray:
    """Play ``audio`` ([frames, channels] at the engine's rate) through the engine as a device
    would, block by block, and return what the output produced, [frames + latency, channels].

    ``realtime`` paces the blocks by the wall clock and runs the inference thread, so late hops
    and underruns happen as they would live; otherwise each block is processed at once. Setting
    ``stop`` (from another thread: the GUI's stop button) ends the run after the current block, as
    unplugging a microphone would; the output is then cut where the run ended."""
    block = engine.block
    n = len(audio)
    extra = engine.latency_samples + 2 * engine.block
    total = -(-(n + extra) // block) * block
    src = np.zeros((total, audio.shape[1]), np.float32)
    src[:n] = audio
    out = np.zeros((total, engine.out_channels), np.float32)
    engine.realtime = realtime
    if realtime:
        engine.start()
    t0 = time.monotonic()
    try:
        for i in range(0, total, block):
            if realtime:
                delay = t0 + i / engine.rate - time.monotonic()
                if delay > 0:
                    if stop is not None:
                        if stop.wait(delay):
                            return out[:i]
                    else:
                        time.sleep(delay)
            if stop is not None and stop.is_set():
                return out[:i]
            engine.capture(src[i:i + block])
            if not realtime:
                engine.pump()          # done at once: as if compute took no time
            engine.playback(out[i:i + block])
            if on_block:
                on_block(engine)
    finally:
        engine.stop()
    return out
