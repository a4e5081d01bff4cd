"""The band above a spectral model's Nyquist, learned: a small head that ships beside a model, is
read with it (checked like its other files), runs the same in a stream and offline, and is trained
by ``rtdenoise train-upper`` beside the model, frozen."""
import json
import shutil

import numpy as np
import pytest
import torch

from rtdenoise import StreamingDenoiser, enhance, load_model
from rtdenoise.errors import ModelError
from rtdenoise.model.pretrained import find_model
from rtdenoise.model.upper_band import UpperBand, UpperBandConfig, save_upper_band
from rtdenoise.training.upper_band import attach, band_gains, head_network, weights_of

FS = 48000


def copy_model(src_dir, name, dst_dir):
    for f in src_dir.glob(f"{name}.*"):
        shutil.copyfile(f, dst_dir / f.name)
    return dst_dir / f"{name}.json"


@pytest.fixture
def with_head(tiny_model_dir, tmp_path):
    """The tiny spectral model with a seeded random head named in its JSON."""
    path = copy_model(tiny_model_dir, "spectral-tiny", tmp_path)
    torch.manual_seed(3)
    config = UpperBandConfig()
    net = head_network(config)
    with torch.no_grad():
        net[-1].bias.add_(2.0)            # mostly open, so that the band above carries a signal
    head = tmp_path / "spectral-tiny.upper.safetensors"
    save_upper_band(head, config, weights_of(net))
    attach(path, head, {"note": "random weights for tests"})
    return path


def noise(seconds, level, seed, rate=FS):
    return (level * np.random.default_rng(seed).standard_normal(int(seconds * rate))).astype(np.float32)


def test_the_numpy_head_computes_what_the_torch_head_it_was_trained_as_computes():
    torch.manual_seed(0)
    config = UpperBandConfig()
    net = head_network(config)
    f = torch.randn(500, config.features)
    layout = UpperBand(config, weights_of(net), load_model("rtdenoise-spectral", "cpu").config, 3)
    # The same three small layers in float32: rounding differs at the last bits, far below 1e-5.
    np.testing.assert_allclose(layout.band_gains(f.numpy()), band_gains(net, f, config).detach().numpy(), rtol=1e-5, atol=1e-7)


def test_a_hop_folds_the_features_into_the_first_layer_and_gives_what_the_features_give(with_head):
    """The live path (levels through a first layer with the features' affine map folded in) and the
    trained path (features, then the head) are one function; fp32 rounding apart (1e-5 of a gain)."""
    model = load_model(with_head, "cpu")
    layout = model.upper_band.at(model.config, 3)
    rng = np.random.default_rng(1)
    x = (0.01 * rng.standard_normal((2, 40, model.config.bins, 2))).astype(np.float32)
    upper = (0.003 * rng.standard_normal((2, 40, 512, 2))).astype(np.float32)
    state = layout.initial_state(2)
    g, after = layout.gains(x, 0.3 * x, upper, state)
    f, after_features = layout.features(x, 0.3 * x, upper, state)
    np.testing.assert_allclose(g, layout.band_gains(f) @ layout._spread, atol=1e-5)
    np.testing.assert_array_equal(after, after_features)


def test_a_model_is_read_with_the_head_its_json_names(with_head):
    model = load_model(with_head, "cpu")
    assert model.upper_band is not None and model.upper_band.config == UpperBandConfig()


@pytest.mark.parametrize("rate", [48000, 32000])
def test_with_a_head_the_stream_is_offline_sample_for_sample_at_32_and_48k(with_head, rate):
    model = load_model(with_head, "cpu")
    x = noise(0.7, 0.1, 2, rate)
    offline = enhance(model, x, rate)
    den = StreamingDenoiser(model, backend="torch", rate=rate)
    y = np.concatenate([den.push(x[i:i + 1000]) for i in range(0, len(x), 1000)] + [den.flush()])
    # One FFT per hop against a batched FFT, and the head's features per hop against per chunk: fp32 rounding.
    np.testing.assert_allclose(y[den.delay:den.delay + len(x)], offline, atol=1e-5)


def test_the_head_acts_on_the_band_above_8khz_only(with_head):
    with_rule = with_head.with_name("rule.json")
    saved = json.loads(with_head.read_text())
    del saved["upper_band"]
    with_rule.write_text(json.dumps(saved))
    x = noise(1.0, 0.05, 4)
    a, b = enhance(load_model(with_head, "cpu"), x, FS), enhance(load_model(with_rule, "cpu"), x, FS)
    spec = lambda y: np.fft.rfft(y)
    f = np.fft.rfftfreq(len(x), 1 / FS)
    low = f < 7000                     # the synthesis window spreads each bin a few bins wide
    np.testing.assert_allclose(spec(a)[low], spec(b)[low], atol=1e-3 * np.abs(spec(b)[low]).max())
    assert not np.allclose(spec(a)[f > 9000], spec(b)[f > 9000])


def test_a_missing_corrupt_or_unreadable_head_is_one_clear_error(with_head):
    head = with_head.with_name("spectral-tiny.upper.safetensors")
    data = head.read_bytes()
    head.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(ModelError, match="checksum mismatch"):
        load_model(with_head, "cpu")
    head.write_bytes(b"not a safetensors file")
    attach(with_head, head, {})
    with pytest.raises(ModelError, match="not a readable upper-band head"):
        load_model(with_head, "cpu")
    head.unlink()
    with pytest.raises(ModelError, match="is missing"):
        load_model(with_head, "cpu")


def test_train_upper_writes_a_head_beside_the_model_and_never_replaces_one_unasked(cli, fullband_data, tiny_model_dir, tmp_path):
    path = copy_model(tiny_model_dir, "spectral-tiny", tmp_path)
    args = ("train-upper", "-m", str(path), "--data", str(fullband_data), "--examples", "6", "--steps", "20")
    r = cli(*args)
    assert r.returncode == 0, r.stderr
    entry = json.loads(path.read_text())["upper_band"]
    assert entry["file"] == "spectral-tiny.upper.safetensors" and entry["metadata"]["steps"] == 20
    assert load_model(path, "cpu").upper_band is not None
    before = (tmp_path / entry["file"]).read_bytes()
    r = cli(*args)
    assert r.returncode == 1 and "--replace" in r.stderr and "Traceback" not in r.stderr
    assert (tmp_path / entry["file"]).read_bytes() == before
    assert cli(*args, "--replace").returncode == 0


def test_train_upper_refuses_a_seed_family_model_in_one_line(cli):
    r = cli("train-upper", "-m", "tiny", "--examples", "2", "--steps", "1")
    assert r.returncode == 1 and "only a spectral model" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("name", ["rtdenoise-spectral", "rtdenoise-real"])
def test_a_shipped_model_names_its_head_and_the_head_takes_hiss_alone_far_down(name):
    """White hiss alone at -35 dBFS, which the head never heard at that seed: its band above 8 kHz
    goes down by more than 40 dB. (How much of real speech's band it keeps is measured on the held-out
    actors by scripts/bench_fullband.py; tests/test_fullband.py checks the default keeps a voice's.)"""
    model = load_model(name, "cpu")
    assert model.upper_band is not None, f"{find_model(name)} names no upper-band head"
    core = slice(FS // 2, None)                        # past the first frames
    upper = lambda y: float(np.sum(np.abs(np.fft.rfft(y[core])[int(8000 * len(y[core]) / FS):]) ** 2))
    hiss = noise(3.0, 10 ** (-35 / 20), 5)
    removed = 10 * np.log10(upper(hiss) / upper(enhance(model, hiss, FS)))
    assert removed > 40, f"hiss alone lost only {removed:.1f} dB above 8 kHz"
