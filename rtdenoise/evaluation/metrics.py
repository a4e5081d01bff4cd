"""Objective quality of one signal pair: wide-band PESQ, STOI and SI-SDR.

CSIG/CBAK/COVL are not computed: no maintained package provides them, and a hand-made version
would need its own validation.
"""
from __future__ import annotations

import math

import numpy as np

from ..model.config import SAMPLE_RATE

METRICS = ("pesq", "stoi", "si_sdr")

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
    :data:`SI_SDR_CEILING`) of one signal pair."""
    from pesq import PesqError, pesq
    from pystoi import stoi
    try:
        p = float(pesq(rate, reference, estimate, "wb"))
    except PesqError:
        p = math.nan
    return {"pesq": p, "stoi": float(stoi(reference, estimate, rate, extended=False)),
            "si_sdr": min(SI_SDR_CEILING, si_sdr(reference, estimate))}
