"""The light install: `pip install rtdenoise` with no extras runs enhance, live, devices and the API on
the graphs that ship with the models, with no PyTorch at all, and gives what the full install gives.

"No PyTorch" is made here in any environment: tests/notorch/sitecustomize.py on PYTHONPATH makes
`import torch` fail. Tolerance: both installs run the very same shipped graph on ONNX Runtime, so
their outputs are equal up to the 16-bit WAV they are written to (one step: 1/32768).
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import ROOT, voiced
from rtdenoise.model.pretrained import find_model, model_dirs, model_files, read_config, sha256

NOTORCH = Path(__file__).resolve().parent / "notorch"
PCM16 = 1.0 / 32768
SHIPPED = sorted(p.stem for p in (ROOT / "models").glob("*.json"))


def rtdenoise(*args, torch=False, env=None, cwd=None):
    """`python -m rtdenoise ARGS`, without PyTorch unless ``torch``."""
    path = str(ROOT) if torch else os.pathsep.join([str(NOTORCH), str(ROOT)])
    full = {**os.environ, "PYTHONPATH": path, "RTDENOISE_MODELS": "", **(env or {})}
    return subprocess.run([sys.executable, "-m", "rtdenoise", *args], capture_output=True, text=True, env=full,
                          cwd=cwd, timeout=600)


def python(code, torch=False):
    path = str(ROOT) if torch else os.pathsep.join([str(NOTORCH), str(ROOT)])
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": path, "RTDENOISE_MODELS": ""})


@pytest.fixture(scope="module")
def noisy(tmp_path_factory):
    d = tmp_path_factory.mktemp("light")
    rng = np.random.default_rng(11)
    x = voiced(rng, 2.0, 160) + 0.03 * rng.standard_normal(32000).astype(np.float32)
    path = d / "noisy.wav"
    sf.write(path, np.stack([x, 0.5 * x], 1), 48000)            # stereo, 48 kHz: rates and channels too
    return path


def test_the_blocker_really_blocks_torch():
    r = python("import torch")
    assert r.returncode != 0 and "No module named 'torch'" in r.stderr


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_model_loads_without_torch_and_runs_its_shipped_graphs(name):
    r = python(f"""
import sys, numpy as np, rtdenoise
m = rtdenoise.load_model({name!r})
x = (0.1 * np.random.default_rng(0).standard_normal(8000)).astype(np.float32)
y = rtdenoise.enhance(m, x, 16000)
s = rtdenoise.StreamingDenoiser(m)
z = np.concatenate([s.push(x), s.flush()])
assert 'torch' not in sys.modules and np.all(np.isfinite(y)) and np.all(np.isfinite(z))
print(type(m).__name__, s.backend.label)
""")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("GraphModel onnx")


def test_enhance_without_torch_writes_what_the_full_install_writes(noisy, tmp_path):
    light = rtdenoise("enhance", str(noisy), "-o", str(tmp_path / "light.wav"))
    assert light.returncode == 0, light.stderr
    full = rtdenoise("enhance", str(noisy), "-o", str(tmp_path / "full.wav"), torch=True)
    assert full.returncode == 0, full.stderr
    a, ra = sf.read(tmp_path / "light.wav")
    b, rb = sf.read(tmp_path / "full.wav")
    assert ra == rb == 48000 and a.shape == b.shape == sf.read(noisy)[0].shape
    assert np.max(np.abs(a - b)) <= PCM16


def test_live_from_a_file_without_torch_gives_what_the_full_install_gives(noisy, tmp_path):
    light = rtdenoise("live", "--in-file", str(noisy), "--out-file", str(tmp_path / "light.wav"))
    assert light.returncode == 0, light.stderr
    assert "onnx" in light.stderr
    full = rtdenoise("live", "--in-file", str(noisy), "--out-file", str(tmp_path / "full.wav"), torch=True)
    assert full.returncode == 0, full.stderr
    a, _ = sf.read(tmp_path / "light.wav")
    b, _ = sf.read(tmp_path / "full.wav")
    assert a.shape == b.shape and np.max(np.abs(a - b)) <= PCM16


def test_devices_and_help_without_torch(audio_server):
    r = rtdenoise("devices", env=audio_server.env)
    assert r.returncode == 0, r.stderr
    assert "noisy_mic" in r.stdout
    assert rtdenoise("--help").returncode == 0


def test_without_torch_the_torch_and_cuda_backends_say_which_extra_to_install(noisy, tmp_path):
    for backend in ("torch", "cuda"):
        r = rtdenoise("enhance", str(noisy), "-o", str(tmp_path / "x.wav"), "--backend", backend)
        assert r.returncode == 1 and "Traceback" not in r.stderr
        assert r.stderr.strip().splitlines()[-1] == (f"rtdenoise: error: backend {backend} needs PyTorch, which is not "
                                                     "installed: pip install 'rtdenoise[gpu]' (or use --backend onnx)")


def test_a_damaged_shipped_graph_is_refused_in_one_line(tmp_path, noisy):
    folder = tmp_path / "models"
    folder.mkdir()
    src = find_model(SHIPPED[0])
    saved = read_config(src)
    for f in model_files(saved):
        (folder / f).write_bytes((src.parent / f).read_bytes())
    (folder / src.name).write_text(json.dumps(saved))
    first = next(iter(saved["graphs"].values()))["file"]
    data = bytearray((folder / first).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / first).write_bytes(bytes(data))
    r = rtdenoise("enhance", str(noisy), "-o", str(tmp_path / "x.wav"), "-m", str(folder / src.name),
                  "--precision", next(iter(saved["graphs"])).split("-")[0])
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].endswith("checksum mismatch (file corrupt or replaced)")


@pytest.mark.parametrize("name", SHIPPED)
def test_the_shipped_graphs_are_the_shipped_weights_exported_again(name, tmp_path, monkeypatch):
    """Each graph's checksum is the one in the JSON, and a fresh export from the safetensors weights
    computes the same function (fp32: to rounding, 1e-5 of the output's scale; int8: the same
    quantisation, so agreeing to well within one quantiser step)."""
    import onnxruntime as ort
    from rtdenoise import load_model
    from rtdenoise.families import of
    from rtdenoise.model import graphs
    monkeypatch.setenv("RTDENOISE_CACHE", str(tmp_path))
    path = find_model(name)
    saved = read_config(path)
    assert saved["graphs"], "every shipped model carries its graphs"
    net = load_model(path, "cpu")
    for key, entry in saved["graphs"].items():
        shipped = path.parent / entry["file"]
        assert sha256(shipped) == entry["sha256"], key
        precision, _, tail = key.partition("-tail")
        fresh = graphs.exported(net, of(net), precision, int(tail) if tail else None)
        a, b = (ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]) for p in (shipped, fresh))
        feeds = _inputs(net, a)
        ya, yb = a.run(None, feeds)[0], b.run(None, feeds)[0]
        scale = float(np.abs(yb).max())
        assert float(np.abs(ya - yb).max()) <= (1e-5 if precision == "fp32" else 1e-3) * scale, key


def _inputs(net, session):
    rng = np.random.default_rng(3)
    if hasattr(net.config, "n_fft"):                     # a step graph: spectrum and state in
        from rtdenoise.model.spectral_numpy import initial_state
        names = [i.name for i in session.get_inputs()]
        spec = (0.1 * rng.standard_normal((1, 20, net.config.bins, 2))).astype(np.float32)
        return {names[0]: spec, **dict(zip(names[1:], initial_state(net.config, 1)))}
    x = (0.1 * rng.standard_normal((2, 1, net.config.window))).astype(np.float32)
    return {session.get_inputs()[0].name: x}


def test_installed_packages_carry_every_shipped_file():
    setup = (ROOT / "setup.cfg").read_text()
    for name in SHIPPED:
        saved = read_config(ROOT / "models" / f"{name}.json")
        for f in [f"{name}.json", f"{name}.md", *model_files(saved)]:
            assert f"models/{f}" in setup, f
            assert (ROOT / "models" / f).stat().st_size < 50e6


def test_the_window_runs_without_torch(noisy):
    """`pip install 'rtdenoise[gui]'` on top of the light install: the window runs the shipped model
    over a file (Qt offscreen), and nothing imports torch."""
    pytest.importorskip("PyQt5")
    r = python(f"""
import os, sys, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PyQt5 import QtWidgets
app = QtWidgets.QApplication([])
from rtdenoise.gui.controller import Settings, Source
from rtdenoise.gui.window import MonitorWindow
w = MonitorWindow(Settings(source=Source("file", {str(noisy)!r})), device_list=([], [], "none"))
w.show()
deadline = time.monotonic() + 120
while time.monotonic() < deadline and not (w.engine is not None and w.frames >= 5) and not w.error.isVisible():
    app.processEvents(); time.sleep(0.01)
ok = w.engine is not None and w.frames >= 5 and not w.error.isVisible()
label = w.engine.backend_label if w.engine else w.error.text()
w.close()
print(ok, 'torch' in sys.modules, label)
""")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[:2] == ["True", "False"], r.stdout + r.stderr
