"""Full-band material at 48 kHz, from the later index files: full-band speech, and real noise
recordings with the bandwidth each reaches (``speech/index-extra.csv``, ``noise/index-real.csv``).

The ``fullband`` validation group (:func:`fullband_examples`) is built from ``valid`` rows only:
the held-out actors' full-band speech (clips of one actor joined to the length asked for) in the
held-out real noise recordings that reach above 16 kHz, at -5 to 20 dB SNR, and some with no noise.
Its speech is Opus-coded (about 15 to 20 dB SNR against the original, see the data's README), so
an SI-SDR against it is a comparison with the coded clip, not a ceiling.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from .mixing import rms
from .recordings import default_data_dir
from .validation import Example

RATE = 48000
#: Real noise for the full-band group must reach above this (Hz): its band above 8 kHz is real.
MIN_NOISE_BANDWIDTH = 16000
SNRS = (-5.0, 0.0, 5.0, 10.0, 15.0, 20.0)


@dataclass
class Recording:
    name: str
    audio: np.ndarray               # mono float32 at RATE
    group: str                      # the speaker, or the noise's category
    bandwidth_hz: float


def recordings(data_dir: Path, index: str, split: str, folder: str = "", min_bandwidth: float = 0.0,
               rate: int = RATE) -> list[Recording]:
    """The ``split`` rows of an index with a ``rate`` column that are at ``rate`` (48 kHz unless
    asked; under ``folder`` if given, and reaching at least ``min_bandwidth``), decoded."""
    path = data_dir / index
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found (is --data the folder that holds speech/ and noise/?)")
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == split and int(r["rate"]) == rate
                and r["path"].startswith(folder) and float(r["bandwidth_hz"]) >= min_bandwidth]
    out = []
    for r in rows:
        x, sr = sf.read(data_dir / r["path"], dtype="float32", always_2d=True)
        if sr != rate:
            raise ValueError(f"{r['path']}: expected {rate} Hz, got {sr}")
        out.append(Recording(r["path"], x.mean(axis=1), r.get("speaker") or r.get("category", ""),
                             float(r["bandwidth_hz"])))
    return out


def fullband_speech(data_dir: Path | None = None, split: str = "valid") -> list[Recording]:
    return recordings(data_dir or default_data_dir(), "speech/index-extra.csv", split, "speech/fullband/")


def real_noise(data_dir: Path | None = None, split: str = "valid", min_bandwidth: float = MIN_NOISE_BANDWIDTH
               ) -> list[Recording]:
    return recordings(data_dir or default_data_dir(), "noise/index-real.csv", split, min_bandwidth=min_bandwidth)


def utterance(rng: np.random.Generator, speech: list[Recording], n: int, rate: int = RATE) -> np.ndarray:
    """``n`` samples of one speaker: their clips in a seeded order, joined with short pauses."""
    speaker = speech[int(rng.integers(len(speech)))].group
    clips = [r.audio for r in speech if r.group == speaker]
    out, pause = [], np.zeros(int(0.15 * rate), np.float32)
    while sum(map(len, out)) < n:
        out += [clips[int(rng.integers(len(clips)))], pause]
    x = np.concatenate(out)[:n]
    return x / max(rms(x), 1e-9)


def fullband_examples(data_dir: Path | None = None, count: int = 40, seconds: float = 4.0,
                      seed: int = 20261202, split: str = "valid") -> list[Example]:
    """The ``fullband`` group (see the module docstring): ``count`` seeded examples at 48 kHz, a
    sixth of them with no noise, the rest at -5 to 20 dB SNR, at -30 to -18 dBFS. (``split``
    ``train`` makes the same kind of group from training rows, to tune on without selecting on
    the validation rows.)"""
    speech, noise = fullband_speech(data_dir, split), real_noise(data_dir, split)
    if not speech or not noise:
        raise FileNotFoundError("no valid full-band speech or real noise above 16 kHz in the data's extra indexes")
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    out = []
    for i in range(count):
        clean = utterance(rng, speech, n)
        snr = math.nan if i % 6 == 5 else SNRS[i % 6]
        rec = noise[int(rng.integers(len(noise)))]
        start = int(rng.integers(0, max(1, len(rec.audio) - n)))
        nz = np.resize(rec.audio[start:start + n], n)
        gain = 0.0 if math.isnan(snr) else 10 ** (-snr / 20) / max(rms(nz), 1e-9)
        noisy = clean + gain * nz
        scale = 10 ** (rng.uniform(-30.0, -18.0) / 20) / rms(noisy)
        label = "none" if math.isnan(snr) else f"{snr:+.0f}dB"
        kind = "no-noise" if math.isnan(snr) else rec.group
        out.append(Example(f"fullband{i:03d}_{kind}_{label}", (clean * scale).astype(np.float32),
                           (noisy * scale).astype(np.float32), snr, kind, "fullband", RATE))
    return out
