"""Objective quality of one signal pair: wide-band PESQ, STOI and SI-SDR, and for full-band audio
also SI-SDR at its own rate, the log-spectral distance above 8 kHz and ViSQOL's audio mode.

PESQ, STOI and SI-SDR are always computed at 16 kHz (a full-band pair is taken there first), so
every figure stays comparable with every other. What 16 kHz cannot see is measured on the full
band: SI-SDR at the pair's rate, the log-spectral distance (LSD) of the band above 8 kHz (how far,
in dB, the output's spectrum there is from the reference's, frame by frame: 0 is the same band,
and a band dropped or left full of noise is tens of dB away), and ViSQOL v3 in audio mode
(``visqol-python``; a full-band MOS-LQO from 1 to about 4.75), where it is installed.

CSIG/CBAK/COVL are not computed: no maintained package provides them, and a hand-made version
would need its own validation.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ..model.config import SAMPLE_RATE

METRICS = ("pesq", "stoi", "si_sdr")
#: Measured on full-band pairs only (NaN for 16 kHz ones).
FULLBAND_METRICS = ("si_sdr_fb", "lsd_hf", "visqol")

#: SI-SDR is reported up to this many dB. Why: for speech with no noise added, the input is the
#: reference itself and its SI-SDR is unbounded (about 140 dB with float rounding), which would
#: swamp any mean it enters; an error 40 dB below the speech is inaudible, so nothing is lost.
SI_SDR_CEILING = 40.0


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant SDR in dB (Le Roux et al. 2019), both signals made zero-mean."""
    ref = reference.astype(np.float64) - reference.mean()
    est = estimate.astype(np.float64) - estimate.mean()
    target = ref * (np.dot(est, ref) / (np.dot(ref, ref) + 1e-12))
    return float(10 * np.log10((np.sum(target ** 2) + 1e-12) / (np.sum((est - target) ** 2) + 1e-12)))


def score(reference: np.ndarray, estimate: np.ndarray, rate: int = SAMPLE_RATE) -> dict[str, float]:
    """PESQ (wide-band; NaN where PESQ finds no utterance), STOI and SI-SDR (up to
    :data:`SI_SDR_CEILING`) of one signal pair at 16 kHz; a pair at another rate is scored at 16 kHz
    for those and on its full band for :data:`FULLBAND_METRICS`."""
    if rate != SAMPLE_RATE:
        from ..signal.audio import resample
        down = lambda x: resample(np.asarray(x, np.float32), rate, SAMPLE_RATE)
        return {**score(down(reference), down(estimate)), **fullband(reference, estimate, rate)}
    from pesq import PesqError, pesq
    from pystoi import stoi
    try:
        p = float(pesq(rate, reference, estimate, "wb"))
    except PesqError:
        p = math.nan
    return {"pesq": p, "stoi": float(stoi(reference, estimate, rate, extended=False)),
            "si_sdr": min(SI_SDR_CEILING, si_sdr(reference, estimate))}


def fullband(reference: np.ndarray, estimate: np.ndarray, rate: int) -> dict[str, float]:
    """The full-band metrics of one pair at ``rate`` (see the module docstring)."""
    return {"si_sdr_fb": min(SI_SDR_CEILING, si_sdr(reference, estimate)),
            "lsd_hf": log_spectral_distance(reference, estimate, rate, 8000.0), "visqol": visqol(reference, estimate, rate)}


def log_spectral_distance(reference: np.ndarray, estimate: np.ndarray, rate: int, above_hz: float,
                          floor_db: float = -100.0) -> float:
    """Mean over frames (32 ms, Hann, 75% overlap) of the RMS difference in dB between the two
    power spectra above ``above_hz``; powers are floored at ``floor_db`` dBFS so that silence
    against silence is no distance."""
    n = int(2 ** np.ceil(np.log2(0.032 * rate)))
    hop = n // 4
    f = np.fft.rfftfreq(n, 1 / rate)
    band = f >= above_hz

    def log_power(x: np.ndarray) -> np.ndarray:
        x = np.pad(np.asarray(x, np.float64), (0, (-len(x)) % hop + n))
        idx = np.arange((len(x) - n) // hop + 1)[:, None] * hop + np.arange(n)[None]
        w = np.hanning(n)
        p = np.abs(np.fft.rfft(x[idx] * w, axis=1)[:, band]) ** 2 / (np.sum(w) / 2) ** 2
        return 10 * np.log10(np.maximum(p, 10 ** (floor_db / 10)))
    m = min(len(reference), len(estimate))
    d = log_power(reference[:m]) - log_power(estimate[:m])
    return float(np.mean(np.sqrt(np.mean(d ** 2, axis=1))))


def visqol(reference: np.ndarray, estimate: np.ndarray, rate: int) -> float:
    """ViSQOL v3's audio mode (MOS-LQO) at 48 kHz, or NaN where ``visqol-python`` is not installed."""
    try:
        from visqol import VisqolApi
    except ImportError:
        return math.nan
    from ..signal.audio import resample
    to48 = lambda x: resample(np.asarray(x, np.float32), rate, 48000).astype(np.float64)
    return float(_visqol_audio(VisqolApi).measure_from_arrays(to48(reference), to48(estimate), 48000).moslqo)


@functools.lru_cache(maxsize=1)
def _visqol_audio(api_class: type) -> object:
    """One ViSQOL instance in audio mode (its SVR model loaded once)."""
    api = api_class()
    api.create(mode="audio")
    return api
