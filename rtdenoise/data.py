"""Training and validation material: real recordings mixed with real and generated noise on the fly.

The recordings live outside the project (``../shared/data`` by default, or ``--data DIR`` with the
same layout: ``speech/index.csv`` and ``noise/index.csv`` with a ``split`` column). Only ``train``
rows feed training; the validation set is built from ``valid`` rows alone, with a fixed seed, so
every reported figure is on speakers and noise recordings that training never saw.
"""
from __future__ import annotations

import csv
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from .config import SAMPLE_RATE

log = logging.getLogger(__name__)

#: Where the shared recordings lie, relative to a checkout of the project.
DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"

#: Kinds of noise a mixture can carry, with their sampling weights during training.
NOISE_KINDS: dict[str, float] = {
    "recorded": 0.45, "babble": 0.2, "white": 0.06, "pink": 0.08, "brown": 0.06, "hum": 0.05, "mixture": 0.10,
}


def default_data_dir() -> Path:
    """``$RTDENOISE_DATA`` if set, else the shared recordings beside the checkout."""
    return Path(os.environ.get("RTDENOISE_DATA", DEFAULT_DATA))


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


@dataclass
class Corpus:
    """Decoded speech and noise recordings of one split, held in memory (float32, 16 kHz)."""

    speech: list[np.ndarray]
    speakers: list[str]
    noise: list[np.ndarray]
    noise_names: list[str]

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


# --- generated noises -------------------------------------------------------------------------

def colored_noise(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Gaussian noise with power spectrum ~ 1/f**exponent (0 white, 1 pink, 2 brown), unit RMS."""
    spec = np.fft.rfft(rng.standard_normal(n + 1))
    f = np.fft.rfftfreq(n + 1)
    f[0] = f[1]
    x = np.fft.irfft(spec / f ** (exponent / 2), n + 1)[:n]
    x -= x.mean()
    return (x / rms(x)).astype(np.float32)


def hum(rng: np.random.Generator, n: int) -> np.ndarray:
    """Mains hum: 50 or 60 Hz with decaying random harmonics and a little drift, unit RMS."""
    f0 = rng.choice([50.0, 60.0]) * rng.uniform(0.995, 1.005)
    t = np.arange(n) / SAMPLE_RATE
    x = np.zeros(n)
    for h in range(1, int(rng.integers(3, 12)) + 1):
        x += rng.uniform(0.2, 1.0) / h ** rng.uniform(0.5, 1.5) * np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 2 * np.pi))
    x += 0.05 * rng.standard_normal(n)
    return (x / rms(x)).astype(np.float32)


def segment(rng: np.random.Generator, clip: np.ndarray, n: int) -> np.ndarray:
    """A random n-sample stretch of ``clip``, looping it from random offsets when it is shorter."""
    if len(clip) >= n:
        start = int(rng.integers(0, len(clip) - n + 1))
        return clip[start:start + n]
    parts, have = [], 0
    while have < n:
        start = int(rng.integers(0, len(clip)))
        parts.append(clip[start:])
        have += len(clip) - start
    return np.concatenate(parts)[:n]


class Mixer:
    """Draws (clean, noisy) pairs of ``n`` samples from a corpus.

    Each pair: a speech segment, a noise of a random kind (see ``NOISE_KINDS``) at an SNR drawn
    from ``snr_db``, then one gain for both so that the mixture's level is drawn from ``level_db``
    (dBFS RMS), lowered if the mixture would clip. Babble is built from other speakers' utterances
    of the same split.
    """

    def __init__(self, corpus: Corpus, snr_db: tuple[float, float] = (-5.0, 20.0),
                 level_db: tuple[float, float] = (-40.0, -12.0)) -> None:
        self.corpus = corpus
        self.snr_db = snr_db
        self.level_db = level_db
        self._kinds = list(NOISE_KINDS)
        w = np.array(list(NOISE_KINDS.values()))
        self._weights = w / w.sum()

    def speech(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, str]:
        for _ in range(5):   # avoid all-silent crops, whose SNR is undefined
            i = int(rng.integers(len(self.corpus.speech)))
            s = segment(rng, self.corpus.speech[i], n)
            if rms(s) > 1e-3:
                break
        return s, self.corpus.speakers[i]

    def noise(self, rng: np.random.Generator, n: int, kind: str, speaker: str = "") -> np.ndarray:
        """Unit-RMS noise of the given kind."""
        if kind == "recorded":
            x = segment(rng, self.corpus.noise[int(rng.integers(len(self.corpus.noise)))], n)
        elif kind == "babble":
            others = [i for i, s in enumerate(self.corpus.speakers) if s != speaker] or list(range(len(self.corpus.speech)))
            x = np.zeros(n, np.float32)
            talkers = int(rng.integers(3, 9))
            for i in rng.choice(others, size=talkers, replace=talkers > len(others)):
                s = segment(rng, self.corpus.speech[int(i)], n)
                x += s / rms(s)
        elif kind in ("white", "pink", "brown"):
            x = colored_noise(rng, n, {"white": 0.0, "pink": 1.0, "brown": 2.0}[kind])
        elif kind == "hum":
            x = hum(rng, n)
        elif kind == "mixture":
            a = self.noise(rng, n, "recorded")
            b = self.noise(rng, n, str(rng.choice(["babble", "white", "pink", "brown", "hum"])), speaker)
            x = a + b * 10 ** (rng.uniform(-15, 5) / 20)
        else:
            raise ValueError(f"unknown noise kind {kind!r}")
        return (x / rms(x)).astype(np.float32)

    def pair(self, rng: np.random.Generator, n: int, kind: str | None = None,
             snr: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        clean, speaker = self.speech(rng, n)
        kind = kind or str(rng.choice(self._kinds, p=self._weights))
        snr = float(rng.uniform(*self.snr_db)) if snr is None else snr
        noise = self.noise(rng, n, kind, speaker) * rms(clean) * 10 ** (-snr / 20)
        return self.scale(rng, clean, clean + noise)

    def scale(self, rng: np.random.Generator, clean: np.ndarray, noisy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        gain = 10 ** (rng.uniform(*self.level_db) / 20) / rms(noisy)
        peak = float(np.max(np.abs(noisy))) * gain
        if peak > 0.99:
            gain *= 0.99 / peak
        return (clean * gain).astype(np.float32), (noisy * gain).astype(np.float32)

    def batch(self, rng: np.random.Generator, size: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """[size, n] clean and noisy arrays."""
        pairs = [self.pair(rng, n) for _ in range(size)]
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


# --- the fixed validation set -----------------------------------------------------------------

VALID_SNRS = (-5.0, 0.0, 5.0, 10.0, 15.0)
VALID_KINDS = ("recorded", "recorded", "babble", "pink", "white", "brown", "hum", "mixture")


@dataclass
class Example:
    name: str
    clean: np.ndarray
    noisy: np.ndarray
    snr: float
    kind: str


def validation_set(data_dir: Path | str | None = None, count: int = 120, seconds: float = 4.0,
                   seed: int = 20261123, corpus: Corpus | None = None) -> list[Example]:
    """A fixed, seeded set of mixtures from ``valid`` rows only: valid speakers x valid noises
    (and generated babble, colored noise and hum), SNRs cycling through -5 to 15 dB."""
    corpus = corpus or Corpus.load(data_dir or default_data_dir(), "valid")
    mixer = Mixer(corpus, level_db=(-30.0, -18.0))
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    out = []
    for i in range(count):
        snr = VALID_SNRS[i % len(VALID_SNRS)]
        kind = VALID_KINDS[(i // len(VALID_SNRS)) % len(VALID_KINDS)]
        clean, noisy = mixer.pair(rng, n, kind=kind, snr=snr)
        out.append(Example(f"valid{i:03d}_{kind}_{snr:+.0f}dB", clean, noisy, snr, kind))
    return out
