"""Reading, checking, resampling and writing audio files.

Everything outside the model's 16 kHz mono world is handled here, so that bad files fail with one
clear line before any work is done, and outputs keep the rate and channel count of their inputs.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from ..errors import AudioError

#: File endings that ``rtdenoise enhance`` picks up when given a folder.
AUDIO_SUFFIXES = {f".{fmt.lower()}" for fmt in sf.available_formats()} | {".ogg", ".oga", ".opus"}


def read_audio(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """Read ``path`` as float32 [frames, channels]. Raises AudioError for unreadable, empty or
    non-finite audio."""
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError, TypeError, ValueError) as e:
        raise AudioError(f"{path}: cannot read audio ({str(e).splitlines()[0][:160]})") from None
    check_audio(data, str(path))
    return data, int(rate)


def check_audio(data: np.ndarray, what: str = "audio") -> None:
    if data.size == 0:
        raise AudioError(f"{what}: no samples")
    if not np.all(np.isfinite(data)):
        raise AudioError(f"{what}: contains NaN or Inf samples")


def write_audio(path: str | os.PathLike[str], data: np.ndarray, rate: int) -> None:
    """Write float audio clipped to [-1, 1]; the format follows the file's ending (WAV as 16-bit PCM).
    Writes to a temporary name first so an interrupted run never leaves a half file under the real name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = sf.check_format
    ext = path.suffix.lstrip(".").upper()
    ext = {"OGA": "OGG", "OPUS": "OGG"}.get(ext, ext)
    if not ext or ext not in sf.available_formats():
        raise AudioError(f"{path}: unsupported output format {path.suffix!r}")
    subtype = "PCM_16" if fmt(ext, "PCM_16") else None
    tmp = path.with_name(f".{path.name}.partial")
    sf.write(str(tmp), np.clip(data, -1.0, 1.0), rate, format=ext, subtype=subtype)
    os.replace(tmp, path)


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resample along axis 0 with soxr (high quality); a no-op at equal rates."""
    if rate_in == rate_out:
        return np.asarray(x, np.float32)
    return soxr.resample(np.ascontiguousarray(x, np.float32), rate_in, rate_out, quality="HQ").astype(np.float32)
