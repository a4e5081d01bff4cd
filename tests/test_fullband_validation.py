"""Validation at full band: a 48 kHz group from valid rows only, and the metrics that see its top band."""
import numpy as np
import pytest
import soundfile as sf

from conftest import write_index
from rtdenoise.data.fullband import fullband_examples
from rtdenoise.evaluation.evaluate import FULLBAND, evaluate, summarise, table, validation_examples
from rtdenoise.evaluation.metrics import log_spectral_distance, score

FS = 48000


@pytest.fixture(scope="module")
def fullband_data(tmp_path_factory):
    """Extra index files as the shared data has them: full-band speech of train and valid actors
    (train actors' clips are a 200 Hz tone, valid ones' 1 kHz, so a test can tell them apart),
    16 kHz speech that must be ignored, and real noise above and below 16 kHz."""
    root = tmp_path_factory.mktemp("fbdata")
    t = np.arange(FS) / FS
    speech, noise = [], []
    for split, hz in (("train", 200.0), ("valid", 1000.0)):
        for k in range(2):
            rel = f"speech/fullband/{split}{k}/clip.flac"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            sf.write(root / rel, 0.2 * np.sin(2 * np.pi * hz * t), FS)
            speech.append({"path": rel, "split": split, "speaker": f"{split}{k}", "gender": "F", "seconds": "1",
                           "rate": str(FS), "bandwidth_hz": "20000", "license": "x", "transcript": "x"})
    speech.append({"path": "speech/extra/x.flac", "split": "valid", "speaker": "x", "gender": "M", "seconds": "1",
                   "rate": "16000", "bandwidth_hz": "8000", "license": "x", "transcript": "x"})
    rng = np.random.default_rng(0)
    for name, split, bw in (("wide", "valid", 20000), ("narrow", "valid", 9000), ("train", "train", 20000)):
        rel = f"noise/real/{name}.flac"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        sf.write(root / rel, 0.1 * rng.standard_normal(2 * FS), FS)
        noise.append({"path": rel, "source": "t", "category": name, "split": split, "seconds": "2", "rate": str(FS),
                      "bandwidth_hz": str(bw), "license": "x"})
    for index, rows in (("speech/index-extra.csv", speech), ("noise/index-real.csv", noise)):
        write_index(root / index, rows)
    return root


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
