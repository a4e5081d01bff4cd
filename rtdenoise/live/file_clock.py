"""The file clock: a file played through the live engine as a device would, block by block.

What ``rtdenoise live --in-file`` and the window's file source run: the same callback and
inference code as a device, either as fast as possible (each block processed as it arrives:
deterministic) or at real-time pace with the inference thread, so late hops and underruns happen
as they would live.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Iterable

import numpy as np

from .engine import LiveEngine


def play_file(engine: LiveEngine, blocks: Iterable[np.ndarray], emit: Callable[[np.ndarray], None],
              realtime: bool = False, on_block: Callable[[LiveEngine], None] | None = None,
              stop: threading.Event | None = None) -> int:
    """Play input ``blocks`` ([frames, channels] at the engine's rate, any lengths: read from a
    file as it goes, so memory does not grow with its length) through the engine as a device
    would, one engine block at a time, then silence until the input's last sample has come out;
    ``emit`` gets each output block [block, out_channels] (a reused buffer: copy what you keep).
    Returns the output frames emitted: the input's frames, the latency and up to three blocks.

    ``realtime`` paces the blocks by the wall clock and runs the inference thread, so late hops
    and underruns happen as they would live; otherwise each block is processed at once. Setting
    ``stop`` (from another thread: the GUI's stop button) ends the run after the current block, as
    unplugging a microphone would."""
    block = engine.block
    src = np.zeros((block, engine.in_channels), np.float32)
    out = np.zeros((block, engine.out_channels), np.float32)
    engine.realtime = realtime
    if realtime:
        engine.start()
    t0 = time.monotonic()
    played = 0

    def step() -> bool:
        nonlocal played
        if realtime:
            delay = t0 + played / engine.rate - time.monotonic()
            if delay > 0 and (stop.wait(delay) if stop is not None else time.sleep(delay)):
                return False
        if stop is not None and stop.is_set():
            return False
        engine.capture(src)
        if not realtime:
            engine.pump()          # done at once: as if compute took no time
        engine.playback(out)
        emit(out)
        played += block
        if on_block:
            on_block(engine)
        return True

    try:
        filled = 0
        for x in blocks:
            while len(x):
                take = min(block - filled, len(x))
                src[filled:filled + take] = x[:take]
                filled, x = filled + take, x[take:]
                if filled == block:
                    if not step():
                        return played
                    filled = 0
        src[filled:] = 0.0
        tail = filled + engine.latency_samples + 2 * block     # the last input sample, out
        while tail > 0:
            if not step():
                return played
            src[:] = 0.0
            tail -= block
    finally:
        engine.stop()
    return played


def run_file(engine: LiveEngine, audio: np.ndarray, realtime: bool = False,
             on_block: Callable[[LiveEngine], None] | None = None,
             stop: threading.Event | None = None) -> np.ndarray:
    """:func:`play_file` for audio in memory: returns what the output produced,
    [frames + latency (+ up to three blocks), channels], cut where ``stop`` ended the run."""
    chunks: list[np.ndarray] = []
    played = play_file(engine, [audio], lambda y: chunks.append(y.copy()), realtime, on_block, stop)
    return np.concatenate(chunks)[:played] if chunks else np.zeros((0, engine.out_channels), np.float32)
