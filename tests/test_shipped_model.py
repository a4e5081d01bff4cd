"""The shipped models on unseen validation audio (valid rows only: speakers and noise recordings
training never saw); skipped where the project's recordings are not present.

Each bound sits below what the model measured on these examples (every 4th of the reported 120
mixtures, and the first 8 of the clean group), so a worse model fails them:

* rtdenoise-spectral (the default): PESQ +0.45, STOI +0.035, SI-SDR +6.9 dB over the input on the
  mixtures; on the 8 clean examples PESQ 0.005 and STOI 0.002 below the input's (do no harm).
* rtdenoise-small: offline PESQ +0.14, STOI +0.013, SI-SDR +2.0 dB; live at 64 ms +0.12, +0.009, +1.8.
"""
import numpy as np
import pytest

from rtdenoise import load_model
from rtdenoise.data.recordings import Corpus, default_data_dir
from rtdenoise.data.validation import validation_groups, validation_set
from rtdenoise.evaluation.evaluate import evaluate, summarise
from rtdenoise.model.pretrained import DEFAULT_MODEL
from rtdenoise.signal.offline import enhance_rows
from rtdenoise.families import framing
from rtdenoise.signal.streaming import enhance_like_stream

pytestmark = pytest.mark.skipif(not (default_data_dir() / "speech" / "index.csv").is_file(),
                                reason="the project's recordings (../shared/data) are not here")

#: Least gain over the noisy input (PESQ, STOI, SI-SDR dB) on the mixtures, per model and system.
GAINS = {
    ("rtdenoise-spectral", "offline"): (0.30, 0.02, 5.0),
    ("rtdenoise-small", "offline"): (0.05, 0.004, 1.0),
    ("rtdenoise-small", "live"): (0.05, 0.004, 1.0),
}


def _scores(examples, systems):
    return {e["system"]: e for e in summarise(evaluate(examples, systems)) if e["snr"] == "all"}


@pytest.fixture(scope="module")
def mixtures():
    return validation_set(count=120)[::4]             # all SNRs and noise kinds


@pytest.fixture(scope="module")
def scores(mixtures):
    spectral, small = load_model("rtdenoise-spectral", device="cpu"), load_model("rtdenoise-small", device="cpu")
    stream = framing(small)
    return {"rtdenoise-spectral": _scores(mixtures, {"offline": lambda x, rate: enhance_rows(spectral, x)[0]}),
            "rtdenoise-small": _scores(mixtures, {"offline": lambda x, rate: enhance_rows(small, x)[0],
                                                  "live": lambda x, rate: enhance_like_stream(small, x, stream)})}


def test_the_default_model_is_the_spectral_one():
    assert DEFAULT_MODEL == "rtdenoise-spectral"
    assert load_model(device="cpu").config.family == "spectral"


@pytest.mark.parametrize("model,system", list(GAINS))
def test_shipped_models_improve_pesq_stoi_and_si_sdr_on_validation_mixtures(scores, model, system):
    got, noisy = scores[model][system], scores[model]["noisy"]
    gain = {m: got[m] - noisy[m] for m in ("pesq", "stoi", "si_sdr")}
    assert all(gain[m] > least for m, least in zip(("pesq", "stoi", "si_sdr"), GAINS[model, system])), gain


def test_the_default_model_beats_rtdenoise_small_on_every_metric(scores):
    new, old = scores["rtdenoise-spectral"]["offline"], scores["rtdenoise-small"]["live"]
    assert all(new[m] > old[m] for m in ("pesq", "stoi", "si_sdr")), (new, old)


def test_the_default_model_does_little_harm_to_clean_speech():
    clean = [e for e in validation_groups(Corpus.load(default_data_dir(), "valid"), count=8) if e.group == "clean"]
    model = load_model(device="cpu")
    s = _scores(clean, {"model": lambda x, rate: enhance_rows(model, x)[0]})
    assert s["model"]["pesq"] > s["noisy"]["pesq"] - 0.15 and s["model"]["stoi"] > s["noisy"]["stoi"] - 0.01, s


@pytest.mark.parametrize("name", ["rtdenoise-spectral", "rtdenoise-small"])
def test_shipped_models_keep_silence_silent(name):
    out = enhance_rows(load_model(name, device="cpu"), np.zeros(16000, np.float32))[0]
    assert np.max(np.abs(out)) < 1e-2
