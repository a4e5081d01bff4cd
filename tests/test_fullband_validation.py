"""Validation at full band: a 48 kHz group from valid rows only, and the metrics that see its top band."""
import numpy as np
import pytest

from rtdenoise.data.fullband import fullband_examples
from rtdenoise.evaluation.evaluate import FULLBAND, evaluate, summarise, table, validation_examples
from rtdenoise.evaluation.metrics import log_spectral_distance, score

FS = 48000


def test_the_fullband_group_is_48khz_valid_actors_in_valid_real_noise_that_reaches_above_16khz(fullband_data):
    examples = fullband_examples(fullband_data, count=12, seconds=1.0)
    assert len(examples) == 12 and all(e.rate == FS and e.group == FULLBAND for e in examples)
    for e in examples:
        spectrum = np.abs(np.fft.rfft(e.clean))
        assert abs(np.argmax(spectrum) * FS / len(e.clean) - 1000) < 5          # a valid actor
        assert e.kind in ("wide", "no-noise")                                  # never the narrow or train noise
    assert {e.kind for e in examples} == {"wide", "no-noise"}
    assert all(np.array_equal(e.clean, e.noisy) == (e.kind == "no-noise") for e in examples)


def test_without_full_band_material_the_group_is_left_out_and_said(tiny_data, caplog):
    from rtdenoise.data.recordings import Corpus
    examples = validation_examples(Corpus.load(tiny_data, "valid"), ["clean", FULLBAND], group_count=2,
                                   seconds=1.0, data_dir=tiny_data)
    assert {e.group for e in examples} == {"clean"}
    assert "the fullband group is left out" in caplog.text


def test_the_log_spectral_distance_above_8khz_sees_a_dropped_band_that_16khz_metrics_cannot():
    x = (0.1 * np.random.default_rng(1).standard_normal(2 * FS)).astype(np.float32)
    low = np.fft.irfft(np.fft.rfft(x) * (np.fft.rfftfreq(len(x), 1 / FS) < 7800), len(x)).astype(np.float32)
    assert log_spectral_distance(x, x, FS, 8000) == 0.0
    assert log_spectral_distance(x, low, FS, 8000) > 30
    full, limited = score(x, x, FS), score(x, low, FS)
    assert limited["lsd_hf"] > 30 and full["lsd_hf"] == 0.0
    assert limited["si_sdr"] > 30                       # at 16 kHz the two are nearly the same signal
    assert limited["si_sdr_fb"] < full["si_sdr_fb"] and limited["si_sdr_fb"] < 10


def test_eval_tables_show_the_full_band_columns_only_for_full_band_examples(fullband_data):
    examples = fullband_examples(fullband_data, count=2, seconds=1.0)
    summary = summarise(evaluate(examples, {"identity": lambda x, rate: x}))
    text = table(summary)
    assert "LSD > 8 kHz" in text and "ViSQOL" in text
    entry = {e["system"]: e for e in summary if e["snr"] == "all"}
    for metric in ("si_sdr_fb", "lsd_hf", "visqol"):                 # the identity's output is the input
        assert entry["identity"][metric] == pytest.approx(entry["noisy"][metric]), metric
    assert entry["noisy"]["lsd_hf"] > 1.0
