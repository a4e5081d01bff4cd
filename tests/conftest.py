"""Shared fixtures: a tiny generator saved as a real model, and a tiny recordings folder.

The recordings folder has the same layout as ../shared/data but holds signals made here (voiced
harmonic "speech" and coloured noise), so the tests never depend on the project's data.
"""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from rtdenoise.model.config import PRESETS, SPECTRAL_PRESETS
from rtdenoise.data.mixing import colored_noise
from rtdenoise.model.seed import NoiseCanceler
from rtdenoise.model.weights import save_model
from rtdenoise.model.spectral import SpectralCanceler

ROOT = Path(__file__).resolve().parent.parent
SR = 16000


def voiced(rng: np.random.Generator, seconds: float, f0: float) -> np.ndarray:
    """Speech-like test signal: a harmonic series with a wandering pitch and syllable-rate envelope."""
    n = int(seconds * SR)
    t = np.arange(n) / SR
    pitch = f0 * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(0.5, 2) * t))
    phase = 2 * np.pi * np.cumsum(pitch) / SR
    x = sum(np.sin(h * phase) / h for h in range(1, 12))
    envelope = np.clip(np.sin(2 * np.pi * 3 * t + rng.uniform(0, 6)), 0, None) ** 2
    return (0.1 * x * envelope).astype(np.float32)


@pytest.fixture(autouse=True)
def seeded() -> None:
    """Every test starts from the same global random state, whatever ran before it: a test that
    draws from torch's or numpy's global generator (or a library that does) sees the same numbers
    alone, in any order, and in a fresh clone. Tests that need their own numbers seed their own."""
    import random
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture(scope="session", autouse=True)
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Exported ONNX graphs go to a folder of this run, not the user's cache (subprocesses inherit it)."""
    d = tmp_path_factory.mktemp("cache")
    os.environ["RTDENOISE_CACHE"] = str(d)
    return d


def random_spectral(name: str = "spectral-tiny", seed: int = 0, spread: float = 0.3) -> SpectralCanceler:
    """A spectral generator with random weights that does something: its initialisation is close
    to the identity, so the weights are perturbed by ``spread`` (seeded)."""
    torch.manual_seed(seed)
    net = SpectralCanceler(SPECTRAL_PRESETS[name]).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.add_(spread * torch.randn_like(p))
    return net.requires_grad_(False)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder holding ``tiny`` (random weights, tiny preset of the seed family) and
    ``spectral-tiny`` (the spectral family's), for fast end-to-end runs."""
    d = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    save_model(NoiseCanceler(PRESETS["tiny"]), d / "tiny", {"note": "random weights for tests"})
    save_model(random_spectral(), d / "spectral-tiny", {"note": "random weights for tests"})
    return d


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir: Path):
    from rtdenoise import load_model
    return load_model(tiny_model_dir / "tiny.json", "cpu")


@pytest.fixture(scope="session")
def spectral_model(tiny_model_dir: Path):
    from rtdenoise import load_model
    return load_model(tiny_model_dir / "spectral-tiny.json", "cpu")


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Recordings folder with train and valid rows. Train speakers have f0 below 200 Hz, valid
    speakers above 300 Hz, so a test can tell which split a mixture came from."""
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(1)
    speech_rows, noise_rows = [], []
    for split, f0s in (("train", (110, 130, 150, 170)), ("valid", (320, 360))):
        for spk, f0 in enumerate(f0s):
            for utt in range(2):
                rel = f"speech/{split}/{f0}/{f0}-{utt}.flac"
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                sf.write(root / rel, voiced(rng, 2.5, f0), SR)
                speech_rows.append({"path": rel, "split": split, "speaker": str(f0), "gender": "F", "seconds": "2.5",
                                    "transcript": "X"})
        for k in range(3):
            rel = f"noise/gen/{split}-{k}.flac"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            sf.write(root / rel, 0.1 * colored_noise(rng, 2 * SR, float(k)), SR)
            noise_rows.append({"path": rel, "source": "gen", "category": "gen", "split": split, "seconds": "2",
                               "license": "CC0"})
    for name, rows in (("speech", speech_rows), ("noise", noise_rows)):
        write_index(root / name / "index.csv", rows)
    return root


def write_index(path: Path, rows: list[dict[str, str]]) -> None:
    """An index CSV as the shared data has them: a header from the first row's keys, then the rows."""
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def longest_zero_run(x: np.ndarray) -> int:
    """The longest run of exact zeros in ``x``: a dropout, where speech or noise never has one."""
    z = np.diff(np.concatenate([[0], (np.asarray(x) == 0.0).astype(np.int8), [0]]))
    return int(np.max(np.flatnonzero(z == -1) - np.flatnonzero(z == 1), initial=0))


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m rtdenoise ARGS`` as a user would, capturing its output."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "rtdenoise", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=600)


@pytest.fixture
def cli(tiny_model_dir: Path):
    """``cli(*args)``: the command line with the tiny model reachable by name as ``tiny``."""
    return lambda *args, env=None, **kw: run_cli(*args, env={"RTDENOISE_MODELS": str(tiny_model_dir), **(env or {})}, **kw)


@pytest.fixture(scope="session")
def audio_server(tmp_path_factory: pytest.TempPathFactory):
    """A private PipeWire server at 16 kHz with virtual microphones (see tests/audio_server.py):
    devices ``mic_feed`` -> ``noisy_mic`` and ``denoised`` -> ``clean_mic``; open them only in
    subprocesses started with ``audio_server.env``. CI installs PipeWire (scripts/setup.sh), so there
    a missing server is a failure, not a skip."""
    import audio_server as aud
    yield from aud.serve(tmp_path_factory.mktemp("audio"))


#: How many times a test over the private PipeWire server runs again after a failure (a clean CI run
#: on this VM needed two reruns of one test)
#: (pytest-rerunfailures). Why: on this project's 2-core VM the server now and then garbles a stretch
#: of a stream by itself: the harness's own self-test (tests/test_audio_server.py, nothing else
#: running) failed in 2 of 11 runs, and in 3 of 4 on the code before this was added. One such block
#: fails any exact-sample test; a real fault fails every run.
AUDIO_RERUNS = 3


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "audio_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.flaky(reruns=AUDIO_RERUNS))


@pytest.fixture(scope="session")
def fullband_data(tmp_path_factory):
    """Extra index files as the shared data has them: full-band speech of train and valid actors
    (train actors' clips are a 200 Hz tone, valid ones' 1 kHz, so a test can tell them apart),
    16 kHz speech that must be ignored, and real noise above and below 16 kHz."""
    root = tmp_path_factory.mktemp("fbdata")
    FS = 48000
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
