"""Audio files through the generator in blocks: memory bounded whatever the length.

A file is read a block at a time (:data:`BLOCK_SECONDS` at its own rate), resampled to the model's
rate by a stateful soxr stream, enhanced by the family's block enhancer
(:meth:`rtdenoise.families.base.Family.block_enhancer`: every state carried from block to block,
the same samples :func:`~rtdenoise.signal.offline.enhance` gives the whole signal), mixed with the
input by the strength control, resampled back, and written. The removed noise is the input minus the output, the input read again alongside.
What is held at any time is a few blocks and one window: about 10 MB for stereo at 48 kHz, plus
the model, whatever the length of the file.

Outputs keep the input's rate, channels, length and sample format (24-bit stays 24-bit, float
stays float) unless the output's file type cannot hold it or ``subtype`` says otherwise; they are
written under a temporary name and renamed when complete, so a failed run never leaves half a file.
"""
from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any, Callable

import numpy as np
import soundfile as sf
import soxr

from ..families import of
from ..families.runtime import for_model
from .audio import open_input, output_subtype, read_blocks, writable, writing
from .offline import mix
from .streaming import check_strength

log = logging.getLogger(__name__)

BLOCK_SECONDS = 10.0


class _Mixed:
    """A block enhancer whose output is mixed with its input by the strength control."""

    def __init__(self, inner: Any, strength: float) -> None:
        self._inner, self._strength = inner, strength
        self._dry: list[np.ndarray] = []               # input not yet matched by output

    def push(self, x: np.ndarray) -> np.ndarray:
        self._dry.append(x)
        return self._out(self._inner.push(x))

    def finish(self) -> np.ndarray:
        return self._out(self._inner.finish())

    def _out(self, y: np.ndarray) -> np.ndarray:
        dry = np.concatenate(self._dry, axis=1)
        self._dry = [dry[:, y.shape[1]:]]
        return mix(dry[:, :y.shape[1]], y, self._strength)


def block_enhancer(model: Any, backend: Any, rows: int, overlap_hop: int | None = None,
                   progress: Callable[[int], None] | None = None, strength: float = 1.0,
                   rate: int | None = None) -> Any:
    """An object with ``push(x [rows, n]) -> y`` and ``finish() -> y`` that enhances rows at
    ``rate`` (one the model streams at; None: its own) arriving in blocks exactly as
    :func:`~rtdenoise.signal.offline.enhance_rows` does the whole."""
    strength = check_strength(strength)
    inner = of(model).block_enhancer(model, for_model(model, backend), rows, overlap_hop, progress, rate)
    return inner if strength == 1.0 else _Mixed(inner, strength)


def enhance_file(model: Any, src: Path, dst: Path, backend: Any = "auto", overlap_hop: int | None = None,
                 noise: Path | None = None, subtype: str | None = None,
                 progress: Callable[[int], None] | None = None, block_seconds: float = BLOCK_SECONDS,
                 strength: float = 1.0) -> None:
    """Denoise ``src`` into ``dst`` (and the removed noise into ``noise``), block by block, at
    ``strength`` (1 fully denoised .. 0 the input, as the stream's control)."""
    with open_input(src) as f:
        rate, channels, frames = f.samplerate, f.channels, f.frames
        kind = output_subtype(dst, f.subtype, subtype)
        model_rate = of(model).stream_rate(model.config, rate)        # the rate it runs at: no resampling if native
        enhancer = block_enhancer(model, backend, channels, overlap_hop, progress, strength, model_rate)
        down = soxr.ResampleStream(rate, model_rate, channels, dtype="float32", quality="HQ") if rate != model_rate else None
        up = soxr.ResampleStream(model_rate, rate, channels, dtype="float32", quality="HQ") if rate != model_rate else None
        with contextlib.ExitStack() as stack:
            if noise is not None:
                writable(noise)                            # both places checked before any work
            put = stack.enter_context(writing(dst, rate, channels, kind))
            put_noise = stack.enter_context(writing(noise, rate, channels, kind)) if noise is not None else None
            again = stack.enter_context(sf.SoundFile(str(src))) if noise is not None else None
            written = 0
            clip = not kind.startswith(("FLOAT", "DOUBLE"))

            def write(y: np.ndarray) -> None:
                nonlocal written
                y = y[:max(0, frames - written)]
                if clip:                                   # the noise is the input minus what the file holds
                    y = np.clip(y, -1.0, 1.0)
                put(y)
                if put_noise is not None and again is not None:
                    put_noise(again.read(len(y), dtype="float32", always_2d=True) - y)
                written += len(y)

            block = max(1, int(block_seconds * rate))
            for x in read_blocks(f, block):
                x16 = down.resample_chunk(x) if down is not None else x
                y16 = enhancer.push(np.ascontiguousarray(x16.T))
                write(up.resample_chunk(np.ascontiguousarray(y16.T)) if up is not None else y16.T)
            rest = [] if down is None else [enhancer.push(np.ascontiguousarray(
                down.resample_chunk(np.zeros((0, channels), np.float32), last=True).T))]
            y16 = np.concatenate([*rest, enhancer.finish()], axis=1)
            write(up.resample_chunk(np.ascontiguousarray(y16.T), last=True) if up is not None else y16.T)
            if written < frames:                           # resampling round trips can end a sample short
                write(np.zeros((frames - written, channels), np.float32))
