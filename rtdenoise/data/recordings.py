"""The recordings: speech and noise of one split, read from where they lie (never from the project).

``../shared/data`` by default (beside the checkout), or ``$RTDENOISE_DATA``, or ``--data DIR``
with the same layout: ``speech/index.csv`` and ``noise/index.csv`` with a ``split`` column. Only
``train`` rows feed training; validation is built from ``valid`` rows alone.
"""
from __future__ import annotations

import csv
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from ..model.config import SAMPLE_RATE

log = logging.getLogger(__name__)

#: Where the shared recordings lie, relative to a checkout of the project.
DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def default_data_dir() -> Path:
    """``$RTDENOISE_DATA`` if set, else the shared recordings beside the checkout."""
    return Path(os.environ.get("RTDENOISE_DATA", DEFAULT_DATA))


@dataclass
class Corpus:
    """Decoded speech and noise recordings of one split, held in memory (float32, 16 kHz)."""

    speech: list[np.ndarray]
    speakers: list[str]
    noise: list[np.ndarray]
    noise_names: list[str]
    #: Real recordings of places and things (the later ``noise/index-real.csv``), at 16 kHz, when
    #: loaded (:func:`rtdenoise.data.real_world.with_real_world`): a noise kind of their own.
    real_noise: list[np.ndarray] = field(default_factory=list)

    @classmethod
    def load(cls, data_dir: Path | str, split: str) -> "Corpus":
        data_dir = Path(data_dir)
        speech, speakers, noise, names = [], [], [], []
        for row in _rows(data_dir / "speech" / "index.csv", split):
            speech.append(_read(data_dir / row["path"]))
            speakers.append(row["speaker"])
        for row in _rows(data_dir / "noise" / "index.csv", split):
            noise.append(_read(data_dir / row["path"]))
            names.append(row["path"])
        if not speech or not noise:
            raise FileNotFoundError(f"no {split!r} speech or noise rows under {data_dir}")
        log.info("loaded %s split: %d utterances (%.2f h), %d noise clips (%.1f min)", split, len(speech),
                 sum(map(len, speech)) / SAMPLE_RATE / 3600, len(noise), sum(map(len, noise)) / SAMPLE_RATE / 60)
        return cls(speech, speakers, noise, names)


def _rows(index: Path, split: str) -> list[dict[str, str]]:
    if not index.is_file():
        raise FileNotFoundError(f"{index} not found (is --data the folder that holds speech/ and noise/?)")
    with open(index, newline="") as f:
        return [r for r in csv.DictReader(f) if r["split"] == split]


def _read(path: Path) -> np.ndarray:
    x, sr = sf.read(path, dtype="float32", always_2d=True)
    if sr != SAMPLE_RATE:
        raise ValueError(f"{path}: expected {SAMPLE_RATE} Hz, got {sr}")
    return x.mean(axis=1)
