"""Reading, checking, resampling and writing audio files.

Everything outside the model's 16 kHz mono world is handled here, so that bad files fail with one
clear line before any work is done, and outputs keep the rate and channel count of their inputs.
"""
from __future__ import annotations

import contextlib
import logging
import os
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from ..errors import AudioError, ParameterError

log = logging.getLogger(__name__)

#: File endings that ``rtdenoise enhance`` picks up when given a folder.
AUDIO_SUFFIXES = {f".{fmt.lower()}" for fmt in sf.available_formats()} | {".ogg", ".oga", ".opus"}


def open_input(path: str | os.PathLike[str]) -> sf.SoundFile:
    """``path`` opened for reading, or a one-line AudioError that says why not (missing, not audio,
    empty); a WAV file cut short (its header promises more than it holds) is warned about."""
    path = Path(path)
    if not path.exists():
        raise AudioError(f"{path}: no such file")
    if path.is_dir():
        raise AudioError(f"{path}: is a folder, not an audio file")
    try:
        f = sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError, TypeError, ValueError) as e:
        raise AudioError(f"{path}: cannot read audio ({str(e).splitlines()[0][:160]})") from None
    if f.frames == 0:
        f.close()
        raise AudioError(f"{path}: no samples")
    short = truncated(path, f.frames)
    if short:
        log.warning("%s: truncated: its header promises %.2f s, the file holds %.2f s; enhancing what is there",
                    path, short / f.samplerate, f.frames / f.samplerate)
    return f


def truncated(path: Path, frames: int) -> int | None:
    """The frames a WAV file's header promises when the file holds fewer (it was cut short), else None."""
    if path.suffix.lower() != ".wav":
        return None
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
    except OSError:
        return None
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos, align = 12, 0
    while pos + 8 <= len(head):
        cid, size = head[pos:pos + 4], struct.unpack("<I", head[pos + 4:pos + 8])[0]
        if cid == b"fmt " and pos + 22 <= len(head):
            align = struct.unpack("<H", head[pos + 20:pos + 22])[0]
        if cid == b"data":
            if not align or size in (0, 0xFFFFFFFF):          # streamed WAVs leave the size open
                return None
            promised = size // align
            return promised if promised > frames else None
        pos += 8 + size + (size & 1)
    return None


def read_audio(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """Read ``path`` as float32 [frames, channels]. Raises AudioError for missing, unreadable,
    empty or non-finite audio (see :func:`open_input`)."""
    with open_input(path) as f:
        try:
            data = f.read(dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as e:
            raise AudioError(f"{path}: cannot read audio ({str(e).splitlines()[0][:160]})") from None
        rate = f.samplerate
    check_audio(data, str(path))
    return data, int(rate)


def read_blocks(f: sf.SoundFile, frames: int) -> Iterator[np.ndarray]:
    """An open file read as float32 blocks [frames, channels], each checked as it comes (so a file
    of any length is read in bounded memory); a read error or NaN/Inf samples are a one-line
    AudioError naming the file."""
    try:
        for x in f.blocks(blocksize=frames, dtype="float32", always_2d=True):
            check_audio(x, f.name)
            yield x
    except (sf.LibsndfileError, RuntimeError) as e:
        raise AudioError(f"{f.name}: cannot read audio ({str(e).splitlines()[0][:160]})") from None


def file_format(path: str | os.PathLike[str]) -> str:
    """The soundfile format a file name asks for (by its ending), or a one-line AudioError."""
    path = Path(path)
    ext = path.suffix.lstrip(".").upper()
    ext = {"OGA": "OGG", "OPUS": "OGG"}.get(ext, ext)
    if not ext or ext not in sf.available_formats():
        raise AudioError(f"{path}: unsupported output format {path.suffix!r}")
    return ext


def output_subtype(path: str | os.PathLike[str], input_subtype: str | None = None, requested: str | None = None) -> str:
    """The sample format to write ``path`` in: ``requested`` if its file type takes it, else the
    input's (24-bit stays 24-bit, float stays float) where it can, else the type's default."""
    fmt = file_format(path)
    if requested:
        if not sf.check_format(fmt, requested):
            raise ParameterError("subtype", f"{{name}} {requested}: {fmt} files cannot hold it "
                                            f"(choose one of {', '.join(sf.available_subtypes(fmt))})")
        return requested
    if input_subtype and sf.check_format(fmt, input_subtype):
        return input_subtype
    return sf.default_subtype(fmt)


def writable(path: Path, tmp: Path | None = None) -> None:
    """Refuse, in one line, a place that cannot be written (no permission, a file in the way, a
    read-only disk): by creating what would be written, then removing it."""
    tmp = tmp or path.with_name(f".{path.name}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb"):
            pass
        tmp.unlink()
    except OSError as e:
        raise AudioError(f"{path}: cannot write there ({e.strerror or e})") from None


#: Full scale of integer PCM, by dtype: what 1.0 is in float samples.
_PCM_SCALE = {np.dtype(np.int16): 32768.0, np.dtype(np.int32): 2147483648.0, np.dtype(np.int8): 128.0}


def as_float_samples(x: np.ndarray, what: str = "audio") -> np.ndarray:
    """``x`` as float32 samples in [-1, 1]: integer PCM (int8, int16, int32, uint8) scaled from its
    full scale, float64 narrowed; anything else is a one-line :class:`AudioError`."""
    x = np.asarray(x)
    if x.dtype in _PCM_SCALE:
        return (x.astype(np.float32) / _PCM_SCALE[x.dtype]).astype(np.float32)
    if x.dtype == np.uint8:
        return ((x.astype(np.float32) - 128.0) / 128.0).astype(np.float32)
    if x.dtype.kind == "f":
        return x.astype(np.float32, copy=False)
    raise AudioError(f"{what}: samples of type {x.dtype} are not audio (use float or integer PCM)")


def like_input(y: np.ndarray, template: np.ndarray) -> np.ndarray:
    """Float samples ``y`` back in ``template``'s dtype (integer PCM rounded and clipped to full scale)."""
    dtype = np.asarray(template).dtype
    if dtype in _PCM_SCALE:
        info = np.iinfo(dtype)
        return np.clip(np.round(y * _PCM_SCALE[dtype]), info.min, info.max).astype(dtype)
    if dtype == np.uint8:
        return np.clip(np.round(y * 128.0 + 128.0), 0, 255).astype(np.uint8)
    return y.astype(dtype, copy=False) if dtype.kind == "f" else y


def check_audio(data: np.ndarray, what: str = "audio") -> None:
    if data.size == 0:
        raise AudioError(f"{what}: no samples")
    if not np.all(np.isfinite(data)):
        raise AudioError(f"{what}: contains NaN or Inf samples")


@contextlib.contextmanager
def writing(path: str | os.PathLike[str], rate: int, channels: int,
            subtype: str | None = None) -> Iterator[Callable[[np.ndarray], None]]:
    """A file written block by block: yields ``write(block [frames, channels])``. The format follows
    the file's ending, the sample format is ``subtype`` (default: 16-bit PCM where the type takes
    it), and fixed-point samples are clipped to [-1, 1]. The blocks go to a hidden ``.NAME.partial``
    that takes the real name only when the block ends normally: an error, Ctrl-C or SIGTERM leaves
    neither a half file under the real name nor the partial one. A place that cannot be written is
    a one-line AudioError."""
    path = Path(path)
    ext = file_format(path)
    subtype = subtype or ("PCM_16" if sf.check_format(ext, "PCM_16") else sf.default_subtype(ext))
    clip = not subtype.startswith(("FLOAT", "DOUBLE"))
    tmp = path.with_name(f".{path.name}.partial")
    writable(path, tmp)

    def cannot(e: Exception) -> AudioError:
        return AudioError(f"{path}: cannot write there ({str(e).splitlines()[0][:160]})")

    def write(block: np.ndarray) -> None:
        try:
            f.write(np.clip(block, -1.0, 1.0) if clip else block)
        except (sf.LibsndfileError, OSError) as e:
            raise cannot(e) from None

    done = False
    try:
        try:
            f = sf.SoundFile(str(tmp), "w", rate, channels, subtype, format=ext)
        except (sf.LibsndfileError, OSError) as e:
            raise cannot(e) from None
        with f:
            yield write
        try:
            os.replace(tmp, path)
        except OSError as e:
            raise cannot(e) from None
        done = True
    finally:
        if not done:
            tmp.unlink(missing_ok=True)


def write_audio(path: str | os.PathLike[str], data: np.ndarray, rate: int, subtype: str | None = None) -> None:
    """Write float audio [frames] or [frames, channels] at once (see :func:`writing`)."""
    data = np.asarray(data)
    with writing(path, rate, 1 if data.ndim == 1 else data.shape[1], subtype) as write:
        write(data)


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resample along axis 0 with soxr (high quality); a no-op at equal rates."""
    if rate_in == rate_out:
        return np.asarray(x, np.float32)
    return soxr.resample(np.ascontiguousarray(x, np.float32), rate_in, rate_out, quality="HQ").astype(np.float32)
