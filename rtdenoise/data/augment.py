"""What real microphones do to speech, simulated: rooms, colouration, telephone band, levels, clipping.

A model trained only on clean close-talk speech plus added noise learns that world and nothing
else: in our first spectral runs it lost SI-SDR on telephone-band speech and brought STOI below
the input's on room recordings. Each transform here is drawn with its own probability per mixture
(:class:`AugmentConfig`), seeded by the caller's generator, so training batches stay reproducible.

What the model is asked to produce (the training target) is chosen per transform:

* **Rooms** (image-source impulse responses from pyroomacoustics, computed once into a bank): the
  input hears the whole room; the target keeps the direct sound and the first 50 ms of reflections
  only. Why: the late tail is what makes room speech hard to follow (and what users ask to have
  removed), while the early reflections are part of the voice's colour and cannot be removed
  without artefacts. The noise can be in the room too (its own source position, its own response).
* **Equalisation** (random peaking and shelving biquads) and the **telephone band** (down to 8 kHz
  sampling and back) apply to input and target alike: a microphone's colour and a codec's
  bandwidth are not noise, and a denoiser must not invent the missing band.
* **Levels** from ``level_db`` for the whole mixture; **clipping** of the input only (the target is
  what the speaker said, not what the clipped converter recorded).
* **Speed** perturbation of the speech (resampling, so tempo and pitch move together), which widens
  a small set of training speakers.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ..model.config import SAMPLE_RATE

log = logging.getLogger(__name__)

#: How much of a room's response after the direct sound the target keeps (seconds).
EARLY_SECONDS = 0.05


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities and ranges of each transform (0 turns a transform off)."""

    reverb: float = 0.35                  # the mixture is in a simulated room
    noise_in_room: float = 0.7            # given a room: the noise is in it too
    rt60: tuple[float, float] = (0.15, 0.8)
    eq: float = 0.4                       # random equalisation of input and target
    telephone: float = 0.1                # 8 kHz band
    clip: float = 0.05                    # clipped input
    speed: float = 0.3                    # speed (and pitch) perturbation of the speech
    speed_range: tuple[float, float] = (0.88, 1.12)
    rooms: int = 400                      # impulse responses in the bank
    seed: int = 0                         # of the bank (training and validation use different ones)


def simulate_room(rng: np.random.Generator, rt60: float, rate: int = SAMPLE_RATE,
                  sources: int = 2) -> list[np.ndarray]:
    """Impulse responses from ``sources`` random positions to one microphone in a random shoebox room
    with the given reverberation time, each starting at its direct sound."""
    import pyroomacoustics as pra
    dims = np.array([rng.uniform(3.0, 10.0), rng.uniform(3.0, 8.0), rng.uniform(2.4, 4.0)])
    absorption, order = pra.inverse_sabine(rt60, dims)
    room = pra.ShoeBox(dims, fs=rate, materials=pra.Material(absorption), max_order=int(min(order, 40)))
    mic = rng.uniform([0.5, 0.5, 0.8], dims - [0.5, 0.5, 0.8])
    for _ in range(sources):
        while True:                               # not closer than 30 cm: a talker, not a headset
            src = rng.uniform([0.4, 0.4, 1.0], dims - [0.4, 0.4, 0.6])
            if np.linalg.norm(src - mic) > 0.3:
                break
        room.add_source(src)
    room.add_microphone(mic)
    room.compute_rir()
    out = []
    for rir in room.rir[0]:
        rir = np.asarray(rir, np.float64)
        start = max(0, int(np.argmax(np.abs(rir))) - 2)   # the direct sound at (almost) index 0
        rir = rir[start:]
        out.append((rir / (np.abs(rir).max() + 1e-12)).astype(np.float32))
    return out


def early_part(rir: np.ndarray, rate: int = SAMPLE_RATE, seconds: float = EARLY_SECONDS) -> np.ndarray:
    """The direct sound and first reflections of ``rir``, faded out over 5 ms instead of cut."""
    n = min(len(rir), int(seconds * rate))
    fade = int(0.005 * rate)
    out = rir[:n].copy()
    if n > fade:
        out[n - fade:] *= np.cos(0.5 * np.pi * np.arange(fade) / fade) ** 2
    return out


class RoomBank:
    """A fixed, seeded set of simulated rooms: per room a speech response, its early part (the
    target's), and a noise response from elsewhere in the room."""

    def __init__(self, count: int, seed: int, rt60: tuple[float, float] = (0.15, 0.8), rate: int = SAMPLE_RATE) -> None:
        rng = np.random.default_rng([seed, 4242])
        self.rooms = []
        for _ in range(count):
            speech, noise = simulate_room(rng, float(rng.uniform(*rt60)), rate)
            self.rooms.append((speech, early_part(speech, rate), noise))
        log.info("simulated %d rooms (RT60 %.2f to %.2f s)", count, *rt60)

    def draw(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.rooms[int(rng.integers(len(self.rooms)))]


def convolve(x: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """``x`` through ``rir``, cut to ``x``'s length (FFT convolution)."""
    from scipy.signal import fftconvolve
    return fftconvolve(x, rir)[:len(x)].astype(np.float32)


def random_eq(rng: np.random.Generator, rate: int = SAMPLE_RATE) -> tuple[np.ndarray, np.ndarray]:
    """A random microphone colour: one to three peaking filters (plus or minus 10 dB) and low and
    high shelves (plus or minus 6 dB), as one filter (b, a)."""
    sections = []
    for _ in range(int(rng.integers(1, 4))):
        sections.append(_biquad("peak", float(np.exp(rng.uniform(np.log(150), np.log(6000)))), rng.uniform(-10, 10),
                                rng.uniform(0.5, 2.0), rate))
    sections.append(_biquad("low", float(rng.uniform(100, 400)), rng.uniform(-6, 6), 0.707, rate))
    sections.append(_biquad("high", float(rng.uniform(2000, 6000)), rng.uniform(-6, 6), 0.707, rate))
    b, a = np.array([1.0]), np.array([1.0])
    for bb, aa in sections:
        b, a = np.convolve(b, bb), np.convolve(a, aa)
    return b, a


def _biquad(kind: str, freq: float, gain_db: float, q: float, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """RBJ audio-EQ-cookbook biquads."""
    A = 10 ** (gain_db / 40)
    w = 2 * np.pi * freq / rate
    alpha = np.sin(w) / (2 * q)
    cw = np.cos(w)
    if kind == "peak":
        b = [1 + alpha * A, -2 * cw, 1 - alpha * A]
        a = [1 + alpha / A, -2 * cw, 1 - alpha / A]
    else:
        s = 2 * np.sqrt(A) * alpha
        sign = 1 if kind == "low" else -1
        b = [A * ((A + 1) - sign * (A - 1) * cw + s), 2 * sign * A * ((A - 1) - sign * (A + 1) * cw),
             A * ((A + 1) - sign * (A - 1) * cw - s)]
        a = [(A + 1) + sign * (A - 1) * cw + s, -2 * sign * ((A - 1) + sign * (A + 1) * cw),
             (A + 1) + sign * (A - 1) * cw - s]
    b, a = np.asarray(b), np.asarray(a)
    return b / a[0], a / a[0]


def telephone_band(x: np.ndarray, rate: int = SAMPLE_RATE) -> np.ndarray:
    """``x`` as an 8 kHz line carries it: resampled to 8 kHz and back (soxr, like the rest of the
    package), with a gentle high-pass below 200 Hz."""
    from scipy.signal import butter, lfilter
    import soxr
    y = soxr.resample(soxr.resample(np.asarray(x, np.float32), rate, 8000, "HQ"), 8000, rate, "HQ")[:len(x)]
    b, a = butter(2, 200 / (rate / 2), "highpass")
    return lfilter(b, a, np.pad(y, (0, len(x) - len(y)))).astype(np.float32)


def speed_perturb(x: np.ndarray, factor: float, n: int, rate: int = SAMPLE_RATE) -> np.ndarray:
    """``n`` samples of ``x`` played ``factor`` times faster (``x`` must hold ``n * factor``)."""
    import soxr
    y = soxr.resample(np.asarray(x, np.float32), int(round(rate * factor)), rate, "HQ")
    return np.pad(y, (0, max(0, n - len(y))))[:n].astype(np.float32)


def clip(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Hard clipping 1 to 12 dB below the signal's peak: an overdriven converter."""
    t = float(np.max(np.abs(x))) * 10 ** (-rng.uniform(1, 12) / 20)
    return np.clip(x, -t, t)
