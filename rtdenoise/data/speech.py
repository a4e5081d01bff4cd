"""Noisy speech made on the spot, with no data files and no network: for the demo and the window.

The speech comes from espeak-ng (a PyPI package that ships its voices, :mod:`rtdenoise.data.tts`),
the noise is babble of other espeak voices plus pink noise and mains hum, or a real recording
shipped with the package (:func:`real_noise_clip`). Synthetic speech is robotic: it shows that the
pipeline works, not how good a model is on real voices.
"""
from __future__ import annotations

import numpy as np

from pathlib import Path

from ..model.config import SAMPLE_RATE
from ..signal.audio import read_audio, resample
from .mixing import colored_noise, hum, rms

SPEECH = (
    "Thanks for joining the call. Can everyone hear me clearly now?",
    "The fan behind me is loud, but the denoiser should remove most of it.",
    "Let's go through the agenda and keep this meeting short.",
)
BABBLE = (
    "I think the train leaves at half past seven tomorrow morning.",
    "Could you pass me the salt and the pepper, please?",
    "We should paint the kitchen a brighter colour this spring.",
    "My brother bought a new bicycle last weekend.",
)


#: A real recording shipped with the package, and what it is (credited in ``clips/README.md``).
CLIP = Path(__file__).resolve().parent / "clips" / "crowded-bar.flac"
CLIP_NAME = "a crowded bar"


def real_noise_clip() -> np.ndarray:
    """The shipped real recording (:data:`CLIP`) at 16 kHz, mono."""
    x, rate = read_audio(CLIP)
    return resample(x.mean(axis=1), rate, SAMPLE_RATE)


def make_example(seed: int = 0, snr_db: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    """(clean, noisy) speech at 16 kHz, about 12 s long, at the given SNR, in generated babble, pink
    noise and hum."""
    from .tts import VOICES, synthesize     # espeak-ng comes with the 'demo' extra

    rng = np.random.default_rng(seed)

    def say(text: str, voice: str) -> np.ndarray:
        audio, rate = synthesize(text, voice)
        return resample(audio, rate, SAMPLE_RATE)

    pause = np.zeros(int(0.4 * SAMPLE_RATE), np.float32)
    clean = np.concatenate([np.concatenate([pause, say(t, VOICES[0])]) for t in SPEECH] + [pause])
    n = len(clean)
    babble = np.zeros(n, np.float32)
    for i, voice in enumerate(VOICES[1:] or VOICES):
        talk = np.concatenate([say(t, voice) for t in np.roll(BABBLE, i)])
        talk = np.tile(talk, -(-n // len(talk)) + 1)
        start = int(rng.integers(0, len(talk) - n))
        babble += talk[start:start + n] / rms(talk)
    return at_snr(clean, babble / rms(babble) + 0.6 * colored_noise(rng, n, 1.0) + 0.3 * hum(rng, n), snr_db)


def at_snr(clean: np.ndarray, noise: np.ndarray, snr_db: float) -> tuple[np.ndarray, np.ndarray]:
    """(clean, noisy): speech and noise (looped or cut to the speech's length) at ``snr_db`` (of the
    speech where it is not silent), both at one gain that peaks the mixture at half full scale."""
    noise = np.tile(noise, -(-len(clean) // len(noise)))[:len(clean)]
    noise = noise * rms(clean[clean != 0]) * np.sqrt(np.mean(clean != 0)) * 10 ** (-snr_db / 20) / rms(noise)
    noisy = clean + noise
    gain = 0.5 / max(1e-9, float(np.max(np.abs(noisy))))
    return (clean * gain).astype(np.float32), (noisy * gain).astype(np.float32)


def full_band_voice(seconds: float, rate: int = 48000, seed: int = 3, fricatives: bool = False) -> np.ndarray:
    """A synthetic voice with a voice's upper band, for full-band checks with no data files:
    glottal pulses at a wandering pitch, rolled off 6 dB per octave (so their harmonics reach past
    8 kHz, about 17 dB below the band under 4 kHz, as a voice's do), through four formants, in
    syllables, over faint noise; with ``fricatives``, hiss bursts rising to the Nyquist between them."""
    from scipy.signal import lfilter
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    phase = np.cumsum((130 + 40 * np.sin(2 * np.pi * 0.7 * t)) / rate)
    source = lfilter([0.1], [1, -0.9], (np.diff(np.floor(phase), prepend=0.0) > 0).astype(float))
    x = source.copy()
    for hz, width in ((700, 130), (1800, 200), (2800, 300), (3800, 400)):
        r = np.exp(-np.pi * width / rate)
        x += 0.5 * lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * hz / rate), r * r], source)
    syllables = np.sin(2 * np.pi * 3.1 * t)
    x *= syllables > -0.2
    if fricatives:
        hiss = np.diff(rng.standard_normal(len(t)), prepend=0.0)
        x += 0.15 * np.std(x) * hiss * ((syllables < -0.5) & (np.sin(2 * np.pi * 0.43 * t) > 0))
    return (0.3 * x / np.abs(x).max() + 0.001 * rng.standard_normal(len(t))).astype(np.float32)
