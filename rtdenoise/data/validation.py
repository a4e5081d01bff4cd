"""The fixed validation material: seeded mixtures from ``valid`` rows only, in groups.

Every reported figure is on speakers and noise recordings that training never saw: the 120
mixtures (:func:`validation_set`, unchanged since the project's first figures, so they stay
comparable) and four groups of audio unlike plain mixtures (:func:`validation_groups`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..model.config import SAMPLE_RATE
from . import augment as aug
from .mixing import Mixer, rms
from .recordings import Corpus, default_data_dir

VALID_SNRS = (-5.0, 0.0, 5.0, 10.0, 15.0)
VALID_KINDS = ("recorded", "recorded", "babble", "pink", "white", "brown", "hum", "mixture")


@dataclass
class Example:
    """One scored mixture: ``clean`` is the reference a system's output is compared with (None for
    a user's recording, which only the no-reference metrics judge)."""
    name: str
    clean: np.ndarray | None
    noisy: np.ndarray
    snr: float
    kind: str
    group: str = "mixtures"
    rate: int = SAMPLE_RATE          # of ``clean`` and ``noisy``: 16 kHz but for the full-band group


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


#: The groups beside the 120 mixtures (see :func:`validation_groups`), in report order.
GROUPS = ("mixtures", "rooms", "telephone", "levels", "clean")


def validation_groups(corpus: Corpus, count: int = 40, seconds: float = 4.0, seed: int = 20261201) -> list[Example]:
    """Four more fixed groups of ``count`` mixtures from ``valid`` rows, for audio unlike plain
    mixtures, each with the reference a user would want back:

    ``rooms``
        Speech in a simulated room (its own seeded bank of rooms, RT60 0.2 to 0.8 s) with the
        noise in the room too; the reference keeps the direct sound and first 50 ms, as training's
        target does (see :mod:`rtdenoise.augment`). SNR 0 to 20 dB.
    ``telephone``
        The mixture band-limited to an 8 kHz line and resampled back; the reference is the
        band-limited speech. SNR 0 to 20 dB.
    ``levels``
        Quiet microphones (-45 to -35 dBFS) and clipped ones (1 to 12 dB over); the reference is
        the unclipped speech at the same gain. SNR 0 to 20 dB.
    ``clean``
        Nearly clean speech: no added noise, or 30 dB SNR. A denoiser should leave it alone.
    """
    n = int(seconds * SAMPLE_RATE)
    mixer = Mixer(corpus, level_db=(-30.0, -18.0))
    rooms = aug.RoomBank(count, seed, (0.2, 0.8))
    snrs = (0.0, 5.0, 10.0, 15.0, 20.0)
    out: list[Example] = []
    for g, group in enumerate(GROUPS[1:]):
        rng = np.random.default_rng([seed, g])
        for i in range(count):
            kind = VALID_KINDS[(i // len(snrs)) % len(VALID_KINDS)]
            snr = snrs[i % len(snrs)] if group != "clean" else (30.0 if i % 2 else math.nan)
            clean, speaker = mixer.speech(rng, n)
            noise = mixer.noise(rng, n, kind, speaker)
            target = heard = clean
            if group == "rooms":
                rir, early, rir_noise = rooms.rooms[i]
                heard, target = aug.convolve(clean, rir), aug.convolve(clean, early)
                noise = aug.convolve(noise, rir_noise)
                noise /= rms(noise)
            gain = 0.0 if math.isnan(snr) else rms(heard) * 10 ** (-snr / 20)
            noisy = heard + gain * noise
            if group == "telephone":
                target, noisy = aug.telephone_band(target), aug.telephone_band(noisy)
            level = (-45.0, -35.0) if group == "levels" and i % 2 == 0 else (-30.0, -18.0)
            scale = 10 ** (rng.uniform(*level) / 20) / rms(noisy)
            target, noisy = target * scale, noisy * scale
            detail = kind
            if group == "levels" and i % 2:
                noisy = aug.clip(noisy, rng)
                detail = f"{kind}, clipped"
            elif group == "levels":
                detail = f"{kind}, quiet"
            if group == "clean":
                detail = "no-noise" if math.isnan(snr) else kind
            peak = max(float(np.max(np.abs(noisy))), float(np.max(np.abs(target))))
            if peak > 0.99:                              # keep the files writable as they are
                target, noisy = target * (0.99 / peak), noisy * (0.99 / peak)
            label = "none" if math.isnan(snr) else f"{snr:+.0f}dB"
            out.append(Example(f"{group}{i:03d}_{detail.replace(', ', '-')}_{label}", target.astype(np.float32),
                               noisy.astype(np.float32), snr, detail, group))
    return out
