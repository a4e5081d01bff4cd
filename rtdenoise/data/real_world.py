"""Validation groups from real noise recordings, new speakers and conversation-like pauses, and
noise alone: what a call's microphone hears, unlike the speech-dense mixtures of the first groups.

All from ``valid`` rows of the data's later index files (``noise/index-real.csv``,
``speech/index-extra.csv``), at 16 kHz (the 48 kHz real noise resampled), seeded:

``real-noise``
    The valid LibriSpeech speakers in the held-out real recordings (cafes, streets, keyboards,
    rain...) at -5 to 20 dB SNR.
``new-speakers``
    The held-out non-native speakers of the extra index in the same real noise, -5 to 20 dB SNR.
``pauses``
    Twice as long (8 s by default), speech on 40 to 70% of the time in turns with soft onsets and
    offsets (:func:`rtdenoise.data.pauses.conversation_gate`), in real noise at 0 to 20 dB SNR
    (measured while speech is on): the group that the noise left in pauses is about.
``noise-alone``
    Each held-out real recording with no speech at all, at -20, -35 and -50 dBFS: the reference is
    silence, so only the noise removed (and DNSMOS) are measured.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from ..model.config import SAMPLE_RATE
from ..signal.audio import resample
from .fullband import RATE, Recording, fullband_speech, real_noise, recordings, utterance
from .mixing import Mixer, rms, segment
from .pauses import conversation_gate
from .recordings import Corpus, default_data_dir
from .validation import Example

REAL_GROUPS = ("real-noise", "new-speakers", "pauses", "noise-alone")
SNRS = (-5.0, 0.0, 5.0, 10.0, 15.0, 20.0)
PAUSE_SNRS = (0.0, 5.0, 10.0, 15.0, 20.0)
#: The levels noise alone is given at (dBFS RMS): a loud room, a usual one and a quiet one.
NOISE_ALONE_DBFS = (-20.0, -35.0, -50.0)

log = logging.getLogger(__name__)


def real_noise_16k(data_dir: Path | None = None, split: str = "valid") -> list[Recording]:
    """Every real noise recording of ``split`` (whatever its bandwidth), at 16 kHz."""
    return [Recording(r.name, resample(r.audio, RATE, SAMPLE_RATE), r.group, min(r.bandwidth_hz, SAMPLE_RATE / 2))
            for r in real_noise(data_dir, split, min_bandwidth=0.0)]


def extra_speakers(data_dir: Path | None = None, split: str = "valid") -> list[Recording]:
    """The extra index's 16 kHz speakers of ``split``."""
    return recordings(data_dir or default_data_dir(), "speech/index-extra.csv", split, "speech/extra/",
                      rate=SAMPLE_RATE)


def with_real_world(corpus: Corpus, data_dir: Path | None = None, split: str = "train") -> Corpus:
    """``corpus`` and the later index files' ``split`` rows at 16 kHz: the extra speakers and the
    full-band actors as more speech (a 16 kHz model hears all of their band), the real recordings
    as :attr:`Corpus.real_noise`. Where the data has no later index files, ``FileNotFoundError``."""
    extra = extra_speakers(data_dir, split)
    full = [Recording(r.name, resample(r.audio, RATE, SAMPLE_RATE), r.group, SAMPLE_RATE / 2)
            for r in fullband_speech(data_dir, split)]
    noise = real_noise_16k(data_dir, split)
    log.info("real-world %s material: %d utterances of %d more speakers, %d real noise recordings (%.1f min)", split,
             len(extra) + len(full), len({r.group for r in extra + full}), len(noise),
             sum(len(r.audio) for r in noise) / SAMPLE_RATE / 60)
    return Corpus(corpus.speech + [r.audio for r in extra + full], corpus.speakers + [r.group for r in extra + full],
                  corpus.noise, corpus.noise_names, corpus.real_noise + [r.audio for r in noise])


def _mix(clean: np.ndarray, noise: np.ndarray, snr: float, level_db: float, active: np.ndarray | None = None
         ) -> tuple[np.ndarray, np.ndarray]:
    """Speech and unit-RMS noise at ``snr`` (the speech's RMS over ``active`` samples where given),
    the mixture at ``level_db`` dBFS and below clipping."""
    speech = clean[active] if active is not None else clean
    noisy = clean + noise * rms(speech) * 10 ** (-snr / 20)
    scale = 10 ** (level_db / 20) / rms(noisy)
    scale = min(scale, 0.99 / max(float(np.max(np.abs(noisy))), 1e-9))
    return (clean * scale).astype(np.float32), (noisy * scale).astype(np.float32)


def real_world_examples(corpus: Corpus, groups: tuple[str, ...] = REAL_GROUPS, count: int = 40,
                        seconds: float = 4.0, data_dir: Path | None = None, seed: int = 20261203) -> list[Example]:
    """The groups asked for (see the module docstring), ``count`` examples each (``noise-alone``:
    the first ``count`` recordings at each of :data:`NOISE_ALONE_DBFS`)."""
    noise = real_noise_16k(data_dir)
    if not noise:
        raise FileNotFoundError("no valid real noise in the data's noise/index-real.csv")
    mixer = Mixer(corpus)
    extra = extra_speakers(data_dir) if {"new-speakers", "pauses"} & set(groups) else []
    n = int(seconds * SAMPLE_RATE)
    out: list[Example] = []

    def noise_for(rng: np.random.Generator, length: int) -> tuple[np.ndarray, str]:
        rec = noise[int(rng.integers(len(noise)))]
        x = segment(rng, rec.audio, length)
        return x / rms(x), rec.group

    for g, group in enumerate(REAL_GROUPS):
        if group not in groups:
            continue
        rng = np.random.default_rng([seed, g])
        if group == "noise-alone":
            for i, rec in enumerate(noise[:count]):
                x = segment(rng, rec.audio, n)
                for level in NOISE_ALONE_DBFS:
                    noisy = (x * 10 ** (level / 20) / rms(x)).astype(np.float32)
                    out.append(Example(f"noise-alone{i:03d}_{rec.group}_{level:.0f}dBFS", np.zeros_like(noisy), noisy,
                                       -math.inf, rec.group, group))
            continue
        for i in range(count):
            level = float(rng.uniform(-30.0, -18.0))
            if group == "pauses":
                m = 2 * n
                speech = utterance(rng, extra, m, SAMPLE_RATE) if i % 2 and extra else mixer.speech(rng, m)[0]
                gate = conversation_gate(rng, m, SAMPLE_RATE)
                snr = PAUSE_SNRS[i % len(PAUSE_SNRS)]
                nz, kind = noise_for(rng, m)
                clean, noisy = _mix(speech * gate, nz, snr, level, gate > 0.5)
            else:
                speech = utterance(rng, extra, n, SAMPLE_RATE) if group == "new-speakers" else mixer.speech(rng, n)[0]
                snr = SNRS[i % len(SNRS)]
                nz, kind = noise_for(rng, n)
                clean, noisy = _mix(speech, nz, snr, level)
            out.append(Example(f"{group}{i:03d}_{kind}_{snr:+.0f}dB", clean, noisy, snr, kind, group))
    return out
