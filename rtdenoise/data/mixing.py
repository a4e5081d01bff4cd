"""Training mixtures: real recordings mixed on the fly with real and generated noise.

Babble, white, pink and brown noise, mains hum and mixtures of these are made here (the recordings
hold none of them, and a call's microphone picks them up most); with :mod:`rtdenoise.data.augment`
the mixtures also go through what real microphones do.
"""
from __future__ import annotations

import logging

import numpy as np

from ..model.config import SAMPLE_RATE
from . import augment as aug
from .pauses import training_gate
from .recordings import Corpus

log = logging.getLogger(__name__)

#: Kinds of noise a mixture can carry, with their sampling weights during training.
NOISE_KINDS: dict[str, float] = {
    "recorded": 0.45, "babble": 0.2, "white": 0.06, "pink": 0.08, "brown": 0.06, "hum": 0.05, "mixture": 0.10,
    "real": 0.45,       # only where the corpus holds real recordings (Corpus.real_noise)
}
#: Noise alone (no speech, a silent target) is drawn this many dB quieter at the least than a
#: mixture may be: a quiet room between words is quieter than anyone talking in it.
NOISE_ALONE_EXTRA_DB = 15.0



def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)) + 1e-20))



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

    With ``augment`` (see :mod:`rtdenoise.augment`) the pair also goes through what real
    microphones do (rooms, colouration, telephone band, clipping, speed), and ``clean_fraction``
    of the pairs carry no noise at all, so that the model learns to leave clean speech alone.
    The first element of a pair is then the training target, which is not always the dry speech.

    A call's microphone hears noise alone between words and turns, which read speech never has:
    ``noise_only`` of the pairs are noise alone with a silent target, and ``pauses`` of them have
    their speech gated into 1 to 3 pauses (:func:`rtdenoise.data.pauses.training_gate`), the noise
    going on through them.
    """

    def __init__(self, corpus: Corpus, snr_db: tuple[float, float] = (-5.0, 20.0),
                 level_db: tuple[float, float] = (-40.0, -12.0), augment: aug.AugmentConfig | None = None,
                 clean_fraction: float = 0.0, pauses: float = 0.0, noise_only: float = 0.0) -> None:
        self.corpus = corpus
        self.snr_db = snr_db
        self.level_db = level_db
        self.augment = augment
        self.clean_fraction = clean_fraction
        self.pauses, self.noise_only = pauses, noise_only
        self.rooms = (aug.RoomBank(augment.rooms, augment.seed, augment.rt60)
                      if augment is not None and augment.reverb > 0 else None)
        self._kinds = [k for k in NOISE_KINDS if k != "real" or corpus.real_noise]
        w = np.array([NOISE_KINDS[k] for k in self._kinds])
        self._weights = w / w.sum()

    def _speech_shape(self, rng: np.random.Generator, clean: np.ndarray) -> tuple[np.ndarray, bool]:
        """The speech with pauses, none at all, or as it is (see the class docstring); and whether
        it is none. Draws nothing unless pauses or noise alone are asked for, so that runs without
        them see the same examples as before."""
        if not (self.pauses or self.noise_only):
            return clean, False
        u = rng.random()
        if u < self.noise_only:
            return np.zeros_like(clean), True
        if u < self.noise_only + self.pauses:
            return clean * training_gate(rng, len(clean), SAMPLE_RATE), False
        return clean, False

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
        elif kind == "real":
            x = segment(rng, self.corpus.real_noise[int(rng.integers(len(self.corpus.real_noise)))], n)
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
            a = self.noise(rng, n, "real" if self.corpus.real_noise and rng.random() < 0.5 else "recorded")
            b = self.noise(rng, n, str(rng.choice(["babble", "white", "pink", "brown", "hum"])), speaker)
            x = a + b * 10 ** (rng.uniform(-15, 5) / 20)
        else:
            raise ValueError(f"unknown noise kind {kind!r}")
        return (x / rms(x)).astype(np.float32)

    def pair(self, rng: np.random.Generator, n: int, kind: str | None = None,
             snr: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(target, noisy), ``n`` samples each."""
        if self.augment is not None:
            return self._augmented(rng, n, kind, snr)
        clean, speaker = self.speech(rng, n)
        clean, alone = self._speech_shape(rng, clean)
        kind = kind or str(rng.choice(self._kinds, p=self._weights))
        snr = float(rng.uniform(*self.snr_db)) if snr is None else snr
        noise = self.noise(rng, n, kind, speaker) * (1.0 if alone else rms(clean) * 10 ** (-snr / 20))
        return self.scale(rng, clean, clean + noise, alone)

    def _augmented(self, rng: np.random.Generator, n: int, kind: str | None, snr: float | None) -> tuple[np.ndarray, np.ndarray]:
        from scipy.signal import lfilter
        a = self.augment
        assert a is not None
        factor = float(rng.uniform(*a.speed_range)) if rng.random() < a.speed else 1.0
        clean, speaker = self.speech(rng, int(np.ceil(n * factor)) + 8)
        clean = aug.speed_perturb(clean, factor, n) if factor != 1.0 else clean[:n]
        clean, alone = self._speech_shape(rng, clean)
        silent = rng.random() < self.clean_fraction and not alone
        kind = kind or str(rng.choice(self._kinds, p=self._weights))
        snr = float(rng.uniform(*self.snr_db)) if snr is None else snr
        noise = self.noise(rng, n, kind, speaker)
        target, heard = clean, clean
        if self.rooms is not None and rng.random() < a.reverb:
            rir, early, rir_noise = self.rooms.draw(rng)
            heard, target = aug.convolve(clean, rir), aug.convolve(clean, early)
            if rng.random() < a.noise_in_room:
                noise = aug.convolve(noise, rir_noise)
                noise /= rms(noise)
        noisy = heard + (0.0 if silent else 1.0 if alone else rms(heard) * 10 ** (-snr / 20)) * noise
        if rng.random() < a.eq:
            b, den = aug.random_eq(rng)
            target, noisy = lfilter(b, den, target), lfilter(b, den, noisy)
        if rng.random() < a.telephone:
            target, noisy = aug.telephone_band(target), aug.telephone_band(noisy)
        if rng.random() < a.clip:
            noisy = aug.clip(noisy, rng)
        return self.scale(rng, np.asarray(target, np.float32), np.asarray(noisy, np.float32), alone)

    def scale(self, rng: np.random.Generator, clean: np.ndarray, noisy: np.ndarray, alone: bool = False
              ) -> tuple[np.ndarray, np.ndarray]:
        """Both at one gain that puts the mixture at a drawn level (noise alone: down to
        :data:`NOISE_ALONE_EXTRA_DB` quieter), lowered if it would clip."""
        lo, hi = self.level_db
        gain = 10 ** (rng.uniform(lo - NOISE_ALONE_EXTRA_DB if alone else lo, hi) / 20) / rms(noisy)
        peak = float(np.max(np.abs(noisy))) * gain
        if peak > 0.99:
            gain *= 0.99 / peak
        return (clean * gain).astype(np.float32), (noisy * gain).astype(np.float32)

    def batch(self, rng: np.random.Generator, size: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """[size, n] clean and noisy arrays."""
        pairs = [self.pair(rng, n) for _ in range(size)]
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
