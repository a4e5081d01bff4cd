"""Offline enhancement: seamless overlap-add, emphasis filters, resampling, and odd inputs."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from torch import nn

from rtdenoise import enhance
from rtdenoise.signal.audio import resample
from rtdenoise.model.config import PRESETS
from rtdenoise.model.emphasis import deemphasise, emphasise, emphasise_torch
from rtdenoise.signal.offline import enhance_rows
from rtdenoise.families.overlap import overlap_add


class IdentityGenerator(nn.Module):
    """Stands in for G where the property under test is the framing around it."""

    def __init__(self):
        super().__init__()
        self.config = PRESETS["tiny"]
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return x


@pytest.mark.parametrize("n", [1, 100, 511, 512, 513, 5000])
@pytest.mark.parametrize("hop", [128, 256, 200, 512])
def test_overlap_add_of_an_identity_gives_back_the_input(n, hop):
    x = np.random.default_rng(n).standard_normal((2, n)).astype(np.float32)
    np.testing.assert_allclose(overlap_add(x, 512, hop, lambda f: f), x, atol=1e-5)


def test_overlap_add_blends_windows_without_a_seam():
    """A window function that adds a constant per window must still give a smooth output."""
    x = np.zeros((1, 4000), np.float32)
    y = overlap_add(x, 512, 128, lambda f: f + 1.0)
    np.testing.assert_allclose(y, 1.0, atol=1e-5)


def test_whole_pipeline_with_an_identity_generator_is_transparent():
    x = np.random.default_rng(0).standard_normal(3000).astype(np.float32) * 0.1
    np.testing.assert_allclose(enhance_rows(IdentityGenerator(), x)[0], x, atol=1e-5)


def test_pre_and_de_emphasis_invert_each_other_in_one_call_or_in_blocks():
    x = np.random.default_rng(1).standard_normal((2, 1000)).astype(np.float32)
    y, _ = emphasise(x, 0.95)
    np.testing.assert_allclose(deemphasise(y, 0.95)[0], x, atol=1e-5)
    a, state = emphasise(x[:, :333], 0.95)
    b, _ = emphasise(x[:, 333:], 0.95, state)
    np.testing.assert_array_equal(np.concatenate([a, b], 1), y)
    c, state = deemphasise(y[:, :10], 0.95)
    d, _ = deemphasise(y[:, 10:], 0.95, state)
    np.testing.assert_allclose(np.concatenate([c, d], 1), x, atol=1e-5)
    np.testing.assert_allclose(emphasise_torch(torch.from_numpy(x), 0.95).numpy(), y, atol=1e-6)


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_resampling_to_16k_and_back_keeps_speech_band_content(rate):
    t = np.arange(rate) / rate
    x = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 3000 * t)).astype(np.float32)
    back = resample(resample(x, rate, 16000), 16000, rate)[: len(x)]
    core = slice(rate // 10, -rate // 10)  # the filters' edges aside
    err = back[core] - x[core]
    assert 10 * np.log10(np.sum(x[core] ** 2) / np.sum(err ** 2)) > 40


@pytest.mark.parametrize("shape,rate", [((1,), 16000), ((700,), 16000), ((16000, 3), 16000),
                                        ((44100,), 44100), ((4800, 2), 48000), ((8000,), 8000)])
def test_enhance_keeps_length_channels_and_rate_of_odd_inputs(tiny_model, shape, rate):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32) * 0.1
    y = enhance(tiny_model, x, rate)
    assert y.shape == x.shape and y.dtype == np.float32 and np.all(np.isfinite(y))


def test_enhance_of_silence_is_finite_and_channels_are_independent(tiny_model):
    silence = np.zeros((5000, 2), np.float32)
    assert np.all(np.isfinite(enhance(tiny_model, silence, 16000)))
    x = np.random.default_rng(2).standard_normal((5000, 2)).astype(np.float32) * 0.1
    both = enhance(tiny_model, x, 16000)
    np.testing.assert_allclose(both[:, 1], enhance(tiny_model, x[:, 1], 16000), atol=1e-5)


@pytest.mark.parametrize("bad", [np.zeros(0, np.float32), np.array([0.1, np.nan], np.float32),
                                 np.array([np.inf, 0.0], np.float32)])
def test_enhance_refuses_empty_or_non_finite_audio(tiny_model, bad):
    from rtdenoise.errors import AudioError
    with pytest.raises(AudioError):
        enhance(tiny_model, bad, 16000)


def test_a_twenty_minute_file_goes_through_in_blocks_with_its_length_and_format(cli, tmp_path):
    """Long files stream through in blocks (memory bounded: scripts/bench_memory.py measures it);
    the output keeps the input's rate, channels, length and sample format."""
    import soundfile as sf
    src = tmp_path / "long.wav"
    rng = np.random.default_rng(12)
    rate, total = 16000, 20 * 60 * 16000
    with sf.SoundFile(str(src), "w", rate, 1, "PCM_24") as f:
        for start in range(0, total, 60 * rate):
            t = (start + np.arange(60 * rate)) / rate
            f.write((0.2 * np.sin(2 * np.pi * 170 * t) + 0.03 * rng.standard_normal(len(t))).astype(np.float32))
    r = cli("enhance", str(src), "-o", str(tmp_path / "out.wav"), "-m", "spectral-tiny")
    assert r.returncode == 0, r.stderr
    a, b = sf.info(src), sf.info(tmp_path / "out.wav")
    assert (b.samplerate, b.channels, b.frames, b.subtype) == (a.samplerate, a.channels, a.frames, a.subtype)
    tail, _ = sf.read(tmp_path / "out.wav", start=a.frames - 16000)
    assert np.all(np.isfinite(tail)) and np.abs(tail).max() > 0.01       # the end is there, not silence


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_stops_enhance_and_leaves_no_partial_file(tiny_model_dir, tmp_path, sig):
    """Stopped mid-file, enhance exits with 130 ("interrupted") and leaves neither the output nor
    its hidden .partial file; the input is untouched."""
    import soundfile as sf
    src = tmp_path / "long.wav"
    rate = 16000
    with sf.SoundFile(str(src), "w", rate, 1, "PCM_16") as f:
        for k in range(30):
            f.write((0.1 * np.random.default_rng(k).standard_normal(60 * rate)).astype(np.float32))
    before = src.read_bytes()
    out = tmp_path / "out.wav"
    partial = tmp_path / ".out.wav.partial"
    p = subprocess.Popen([sys.executable, "-m", "rtdenoise", "enhance", str(src), "-o", str(out), "-m", "spectral-tiny"],
                         env={**os.environ, "RTDENOISE_MODELS": str(tiny_model_dir)}, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (partial.exists() and partial.stat().st_size > 1_000_000):   # well into the file
            assert p.poll() is None and time.monotonic() < deadline, p.stderr.read()
            time.sleep(0.05)
        p.send_signal(sig)
        err = p.communicate(timeout=60)[1]
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, err
    assert err.strip().splitlines()[-1] == "rtdenoise: interrupted", err
    assert not out.exists() and not partial.exists(), sorted(x.name for x in tmp_path.iterdir())
    assert src.read_bytes() == before
