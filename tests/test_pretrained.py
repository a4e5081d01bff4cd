"""Weights: safetensors plus JSON, checked by checksum, found by name, never unpickled."""
import json
import re
import zipfile
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rtdenoise import load_model
from rtdenoise.model.config import PRESETS
from rtdenoise.errors import ModelError
from rtdenoise.model.seed import NoiseCanceler
from rtdenoise.model.pretrained import DEFAULT_MODEL, find_model
from rtdenoise.model.weights import save_model

ROOT = Path(__file__).resolve().parent.parent


def _save(tmp_path, half=False):
    torch.manual_seed(3)
    g = NoiseCanceler(PRESETS["tiny"])
    return g, save_model(g, tmp_path / "m", {"steps": 7}, half=half)


@pytest.mark.parametrize("half", [False, True])
def test_weights_round_trip(tmp_path, half):
    g, cfg = _save(tmp_path, half)
    loaded = load_model(cfg, "cpu")
    x = torch.randn(2, 1, g.config.window)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), g.eval()(x), atol=2e-3 if half else 1e-6, rtol=0)
    assert loaded.config == g.config and loaded.metadata == {"steps": 7} and not loaded.training
    meta = json.loads(cfg.read_text())
    assert meta["model"]["preemphasis"] == 0.95 and meta["model"]["sample_rate"] == 16000 and len(meta["sha256"]) == 64


def test_a_model_is_found_by_name_by_either_file_or_by_stem(tmp_path):
    _, cfg = _save(tmp_path)
    for ref in (cfg, cfg.with_suffix(".safetensors"), tmp_path / "m"):
        assert find_model(ref) == cfg


def test_corrupt_weights_are_refused_by_checksum(tmp_path):
    _, cfg = _save(tmp_path)
    w = cfg.with_suffix(".safetensors")
    data = bytearray(w.read_bytes())
    data[-10] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="checksum"):
        load_model(cfg, "cpu")


def test_missing_weights_garbage_config_and_unknown_names_are_refused(tmp_path):
    _, cfg = _save(tmp_path)
    cfg.with_suffix(".safetensors").unlink()
    with pytest.raises(ModelError, match="missing"):
        load_model(cfg, "cpu")
    cfg.write_text("{not json")
    with pytest.raises(ModelError, match="not a readable"):
        load_model(cfg, "cpu")
    with pytest.raises(ModelError, match="not found"):
        load_model("no-such-model", "cpu")


def test_a_shipped_onnx_graph_given_as_the_model_names_the_model_to_give_instead(tmp_path):
    graph = Path(__file__).resolve().parent.parent / "models" / "rtdenoise-spectral.fp32.onnx"
    assert graph.is_file()
    with pytest.raises(ModelError, match=r"an ONNX graph is not a model by itself: give its model, .*"
                                         r"rtdenoise-spectral\.json \(or rtdenoise-spectral\), and --backend onnx"):
        find_model(graph)
    (tmp_path / "stray.onnx").write_bytes(b"")
    with pytest.raises(ModelError, match="give the model's .json or name, and --backend onnx"):
        find_model(tmp_path / "stray.onnx")


def test_weights_that_do_not_match_the_config_are_refused(tmp_path):
    _, cfg = _save(tmp_path)
    meta = json.loads(cfg.read_text())
    meta["model"]["channels"] = [8, 8, 8, 16, 16]
    cfg.write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="do not match"):
        load_model(cfg, "cpu")


def test_a_spectral_model_round_trips_and_its_json_names_its_family(tmp_path):
    from conftest import random_spectral
    from rtdenoise.model.spectral import SpectralCanceler
    net = random_spectral()
    cfg = save_model(net, tmp_path / "s", {"steps": 3})
    meta = json.loads(cfg.read_text())
    assert meta["family"] == "spectral" and meta["model"]["n_fft"] == 512
    loaded = load_model(cfg, "cpu")
    assert isinstance(loaded, SpectralCanceler) and loaded.config == net.config
    x = torch.randn(2, 1, 3000)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), net(x), atol=1e-6, rtol=0)


def test_a_config_without_a_family_is_the_seed_familys_and_an_unknown_family_is_refused(tmp_path):
    _, cfg = _save(tmp_path)
    meta = json.loads(cfg.read_text())
    del meta["family"]
    cfg.write_text(json.dumps(meta))
    assert isinstance(load_model(cfg, "cpu"), NoiseCanceler)       # as every model saved before the family
    meta["family"] = "wavenet"
    cfg.write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="unknown model family 'wavenet'"):
        load_model(cfg, "cpu")


def test_the_default_model_ships_in_the_checkout_and_in_the_package():
    cfg = find_model(None)
    assert cfg.stem == DEFAULT_MODEL and cfg.parent == ROOT / "models"
    assert (ROOT / "models" / f"{DEFAULT_MODEL}.md").is_file(), "every shipped model has a card"
    setup = (ROOT / "setup.cfg").read_text()
    for f in (cfg, cfg.with_suffix(".safetensors"), cfg.with_suffix(".md")):
        assert f.stat().st_size < 50e6
        assert f"models/{f.name}" in setup, "installed packages carry the default model"


def test_a_built_wheel_carries_the_default_model(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(ROOT)], check=True, capture_output=True)
    names = zipfile.ZipFile(next(tmp_path.glob("rtdenoise-*.whl"))).namelist()
    assert any(n.endswith(f"data/share/rtdenoise/models/{DEFAULT_MODEL}.safetensors") for n in names)


def test_no_module_can_unpickle():
    for src in (ROOT / "rtdenoise").rglob("*.py"):
        text = src.read_text()
        assert not re.search(r"^\s*(import|from) pickle|pickle\.loads?\(", text, re.M), src
        for line in text.splitlines():
            if "torch.load(" in line:
                assert "weights_only=True" in line, (src, line)
