"""Training material: mixtures at the asked SNR, generated noises, and splits kept apart."""
import numpy as np
import pytest

from rtdenoise.data.recordings import Corpus
from rtdenoise.data.mixing import colored_noise, hum, Mixer, rms, segment
from rtdenoise.data.validation import validation_set

SR = 16000


def _slope(x):
    """Slope of the log power spectrum against log frequency, 50 Hz to 5 kHz."""
    f = np.fft.rfftfreq(len(x), 1 / SR)
    p = np.abs(np.fft.rfft(x)) ** 2
    band = (f > 50) & (f < 5000)
    return np.polyfit(np.log(f[band]), np.log(p[band]), 1)[0]


@pytest.mark.parametrize("exponent", [0.0, 1.0, 2.0])
def test_white_pink_and_brown_noise_have_their_spectral_slopes(exponent):
    x = colored_noise(np.random.default_rng(0), 4 * SR, exponent)
    assert abs(_slope(x) + exponent) < 0.15 and abs(rms(x) - 1) < 1e-3


@pytest.mark.parametrize("seed", range(4))
def test_hum_is_made_of_mains_harmonics(seed):
    x = hum(np.random.default_rng(seed), 2 * SR)
    f = np.fft.rfftfreq(len(x), 1 / SR)[np.argmax(np.abs(np.fft.rfft(x)))]
    assert min(abs(f - base * round(f / base)) for base in (50, 60)) < 0.01 * f


def test_segment_loops_short_clips():
    clip = np.arange(10, dtype=np.float32)
    s = segment(np.random.default_rng(0), clip, 25)
    assert len(s) == 25 and set(np.unique(s)) <= set(clip)


@pytest.fixture(scope="module")
def train_corpus(tiny_data):
    return Corpus.load(tiny_data, "train")


@pytest.mark.parametrize("kind", ["recorded", "babble", "white", "pink", "brown", "hum", "mixture"])
def test_mixtures_have_the_asked_snr_for_every_noise_kind(train_corpus, kind):
    mixer = Mixer(train_corpus)
    rng = np.random.default_rng(2)
    for snr in (-5.0, 0.0, 12.0):
        clean, noisy = mixer.pair(rng, 4096, kind=kind, snr=snr)
        measured = 20 * np.log10(rms(clean) / rms(noisy - clean))
        assert abs(measured - snr) < 0.05
        assert np.max(np.abs(noisy)) <= 0.99 + 1e-6


def test_batches_differ_within_and_repeat_across_equal_seeds(train_corpus):
    mixer = Mixer(train_corpus)
    a = mixer.batch(np.random.default_rng([0, 5]), 4, 2048)
    b = mixer.batch(np.random.default_rng([0, 5]), 4, 2048)
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.allclose(a[1][0], a[1][1])


def test_validation_set_is_fixed_and_made_of_valid_speakers_only(tiny_data):
    v1, v2 = validation_set(tiny_data, count=12), validation_set(tiny_data, count=12)
    assert [e.name for e in v1] == [e.name for e in v2]
    np.testing.assert_array_equal(v1[3].noisy, v2[3].noisy)
    assert sorted({e.snr for e in v1}) == [-5.0, 0.0, 5.0, 10.0, 15.0]
    for e in v1:   # valid speakers of the tiny data have f0 above 300 Hz, train speakers below 200
        spectrum = np.abs(np.fft.rfft(e.clean))
        f0 = np.fft.rfftfreq(len(e.clean), 1 / SR)[np.argmax(spectrum)]
        assert f0 > 250, e.name


def test_training_corpus_holds_train_rows_only(train_corpus, tiny_data):
    assert set(train_corpus.speakers) == {"110", "130", "150", "170"}
    assert all("/train-" in n for n in train_corpus.noise_names)


def test_a_folder_without_the_layout_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="index.csv"):
        Corpus.load(tmp_path, "train")
