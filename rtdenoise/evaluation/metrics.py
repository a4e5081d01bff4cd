"""Objective quality of one signal pair: wide-band PESQ, STOI and SI-SDR, and for full-band audio
also SI-SDR at its own rate, the log-spectral distance above 8 kHz and ViSQOL's audio mode.

PESQ, STOI and SI-SDR are always computed at 16 kHz (a full-band pair is taken there first), so
every figure stays comparable with every other. What 16 kHz cannot see is measured on the full
band: SI-SDR at the pair's rate, the log-spectral distance (LSD) of the band above 8 kHz (how far,
in dB, the output's spectrum there is from the reference's, frame by frame: 0 is the same band,
and a band dropped or left full of noise is tens of dB away), and ViSQOL v3 in audio mode
(``visqol-python``; a full-band MOS-LQO from 1 to about 4.75), where it is installed.

Two more judge what a call's listener hears of the background:

* **DNSMOS P.835** (Reddy et al. 2022, the Deep Noise Suppression Challenge's non-intrusive MOS):
  SIG (the speech), BAK (the background) and OVRL, each from 1 to 5, from the ONNX model that the
  ``speechmos`` package ships (MIT), where it is installed. It needs no reference, so it also
  judges a user's own recordings.
* **Noise left in pauses** (``pauses_db``; the reference only says where its pauses are): in the
  frames where the reference is silent (60 dB or more below its loudest frame: the pauses between
  words and turns, or all of a noise-alone input), how many dB below the input's noise there the
  output is. A model that only ever heard
  continuous speech can score well on PESQ and still leave the noise between words; this is what
  a listener hears in a call's pauses.

CSIG/CBAK/COVL are not computed: no maintained package provides them, and a hand-made version
would need its own validation.
"""
from __future__ import annotations

import functools
import math
import os

import numpy as np

from ..model.config import SAMPLE_RATE

METRICS = ("pesq", "stoi", "si_sdr")
#: Measured on full-band pairs only (NaN for 16 kHz ones).
FULLBAND_METRICS = ("si_sdr_fb", "lsd_hf", "visqol")
#: DNSMOS P.835 (NaN where ``speechmos`` is not installed) and the noise left in pauses.
NO_REFERENCE_METRICS = ("dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl")
PAUSE_METRIC = "pauses_db"

#: A 20 ms frame is a pause where the reference is this many dB below its loudest frame.
PAUSE_BELOW_DB = 60.0
#: Fewer pause frames than this (0.1 s) leave the measure undefined (NaN).
PAUSE_MIN_FRAMES = 5
#: Nor is it defined where the input itself is this quiet in the pauses (mean power, dBFS): no noise.
PAUSE_MIN_INPUT_DB = -90.0

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
    if not np.any(reference):                 # nothing to compare with: noise alone in
        return {"pesq": math.nan, "stoi": math.nan, "si_sdr": math.nan}
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


def _frame_powers(x: np.ndarray, rate: int) -> np.ndarray:
    """Mean power of each whole 20 ms frame."""
    n = int(0.02 * rate)
    x = np.asarray(x, np.float64)[:len(x) // n * n]
    return np.mean(np.square(x.reshape(-1, n)), axis=1)


def noise_in_pauses(reference: np.ndarray, noisy: np.ndarray, estimate: np.ndarray, rate: int) -> float:
    """The noise left in the reference's pauses (see the module docstring), in dB below the input's
    noise there: positive where the output is quieter; NaN where there are too few pauses or no
    noise in them."""
    m = min(len(reference), len(noisy), len(estimate))
    ref, inp, out = (_frame_powers(x[:m], rate) for x in (reference, noisy, estimate))
    pauses = ref <= np.max(ref, initial=0.0) * 10 ** (-PAUSE_BELOW_DB / 10)
    if pauses.sum() < PAUSE_MIN_FRAMES or np.mean(inp[pauses]) < 10 ** (PAUSE_MIN_INPUT_DB / 10):
        return math.nan
    return float(10 * np.log10(np.sum(inp[pauses]) / max(np.sum(out[pauses]), 1e-30)))


#: DNSMOS P.835 judges windows of this many seconds at 16 kHz, one a second; a shorter clip is
#: repeated to fill one, as the challenge's own script does.
DNSMOS_WINDOW_S = 9.01


def dnsmos(x: np.ndarray, rate: int) -> dict[str, float]:
    """DNSMOS P.835 SIG, BAK and OVRL of one signal (mean over its 9 s windows), or NaNs where
    ``speechmos`` is not installed. Only the P.835 model runs (the P.808 one that ``speechmos.dnsmos.run``
    adds costs twice as much and is not reported)."""
    model = _dnsmos_model()
    if model is None:
        return dict.fromkeys(NO_REFERENCE_METRICS, math.nan)
    from ..signal.audio import resample
    x = np.clip(resample(np.asarray(x, np.float32), rate, SAMPLE_RATE) if rate != SAMPLE_RATE else np.asarray(x, np.float32), -1, 1)
    need = int(DNSMOS_WINDOW_S * SAMPLE_RATE)
    if not len(x):
        return dict.fromkeys(NO_REFERENCE_METRICS, math.nan)
    x = np.tile(x, -(-need // len(x))) if len(x) < need else x
    starts = range(0, len(x) - need + 1, SAMPLE_RATE)
    raw = np.array([model.onnx_sess.run(None, {"input_1": x[s:s + need][None]})[0][0] for s in starts])
    sig, bak, ovrl = (float(np.mean(v)) for v in model.get_polyfit_val(raw[:, 0], raw[:, 1], raw[:, 2], False))
    return {"dnsmos_sig": sig, "dnsmos_bak": bak, "dnsmos_ovrl": ovrl}


def dnsmos_available() -> bool:
    """Whether :func:`dnsmos` can score (``speechmos`` installed)."""
    return _dnsmos_model() is not None


@functools.lru_cache(maxsize=1)
def _dnsmos_model() -> object | None:
    """speechmos's DNSMOS with its shipped P.835 model, loaded once; None without the package."""
    try:
        from speechmos import dnsmos as package
    except ImportError:
        return None
    models = os.path.join(os.path.dirname(package.__file__), "dnsmos_models")
    return package.DNSMOS(os.path.join(models, "sig_bak_ovr.onnx"), os.path.join(models, "model_v8.onnx"))
