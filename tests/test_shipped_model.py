"""The shipped default model on unseen validation mixtures (valid rows only: speakers and noise
recordings training never saw); skipped where the project's recordings are not present.

What it achieves is asserted; what it does not yet achieve is a strict xfail with the measured
gap, so that the day a model closes it this file says so (the xfail then fails).
"""
import numpy as np
import pytest

from rtdenoise import load_model
from rtdenoise.data import default_data_dir, validation_set
from rtdenoise.enhance import enhance_16k
from rtdenoise.evaluate import evaluate, summarise

pytestmark = pytest.mark.skipif(not (default_data_dir() / "speech" / "index.csv").is_file(),
                                reason="the project's recordings (../shared/data) are not here")


@pytest.fixture(scope="module")
def overall():
    model = load_model(device="cpu")
    examples = validation_set(count=120)[::4]      # every 4th of the reported 120: all SNRs and noise kinds
    rows = evaluate(examples, {"model": lambda x: enhance_16k(model, x)[0]})
    return {e["system"]: e for e in summarise(rows) if e["snr"] == "all"}


def test_default_model_improves_si_sdr_on_validation_mixtures(overall):
    assert overall["model"]["si_sdr"] - overall["noisy"]["si_sdr"] > 0.3


@pytest.mark.xfail(strict=True, reason="known gap (models/rtdenoise-small.md): on the 120 validation mixtures "
                   "STOI 0.804 vs 0.823 for the noisy input, PESQ level (1.617 vs 1.616)")
def test_default_model_improves_pesq_and_stoi_on_validation_mixtures(overall):
    for metric in ("pesq", "stoi"):
        assert overall["model"][metric] > overall["noisy"][metric], metric


def test_default_model_keeps_silence_silent():
    model = load_model(device="cpu")
    out = enhance_16k(model, np.zeros(16000, np.float32))[0]
    assert np.max(np.abs(out)) < 1e-2
