"""The command line as a user meets it: outputs where asked, and one clear line for bad input."""
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import ROOT, voiced

SR = 16000


def _wav(path: Path, data: np.ndarray, rate: int = SR, subtype: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, data, rate, subtype=subtype)
    return path


def _one_line_error(result) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [l for l in result.stderr.splitlines() if l.startswith("rtdenoise: error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_enhance_a_file_keeps_rate_channels_and_length(cli, tmp_path):
    src = _wav(tmp_path / "in.wav", np.stack([voiced(np.random.default_rng(0), 1.2, 150)] * 2, 1) * 0.5, 44100)
    r = cli("enhance", str(src), "-o", str(tmp_path / "out.wav"), "-m", "tiny")
    assert r.returncode == 0, r.stderr
    info = sf.info(tmp_path / "out.wav")
    assert (info.samplerate, info.channels, info.frames) == (44100, 2, sf.info(src).frames)


def test_enhance_a_folder_mirrors_its_layout_and_writes_the_noise(cli, tmp_path):
    rng = np.random.default_rng(1)
    _wav(tmp_path / "in/a.wav", voiced(rng, 0.5, 140))
    _wav(tmp_path / "in/sub/b.flac", voiced(rng, 0.3, 220))
    r = cli("enhance", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--noise-out", str(tmp_path / "noise"),
            "-m", "tiny")
    assert r.returncode == 0, r.stderr
    for rel in ("a.wav", "sub/b.flac"):
        x, _ = sf.read(tmp_path / "in" / rel)
        y, _ = sf.read(tmp_path / "out" / rel)
        n, _ = sf.read(tmp_path / "noise" / rel)
        inside = np.abs(x - y) < 0.99                      # the file format clips at full scale
        np.testing.assert_allclose((x - y)[inside], n[inside], atol=2e-4)   # noise = input - output


def test_enhance_reads_and_writes_ogg_at_48k(cli, tmp_path):
    src = _wav(tmp_path / "in.ogg", voiced(np.random.default_rng(7), 1.0, 150)[:, None].repeat(2, 1), 48000)
    r = cli("enhance", str(src), "-o", str(tmp_path / "out.ogg"), "-m", "tiny")
    assert r.returncode == 0, r.stderr
    info = sf.info(tmp_path / "out.ogg")
    assert (info.format, info.samplerate, info.channels) == ("OGG", 48000, 2)
    assert abs(info.frames - sf.info(src).frames) <= 1


def test_main_py_is_the_same_command():
    import subprocess, sys
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "enhance" in r.stdout and "train" in r.stdout


@pytest.fixture
def bad_inputs(tmp_path):
    text = tmp_path / "text.wav"
    text.write_text("this is not audio")
    nan = _wav(tmp_path / "nan.wav", np.array([0.1, np.nan, 0.2] * 100, np.float32), subtype="FLOAT")
    empty = _wav(tmp_path / "empty.wav", np.zeros(0, np.float32))
    return {"unreadable": text, "nan": nan, "empty": empty, "missing": tmp_path / "nope.wav"}


@pytest.mark.parametrize("case,message", [("unreadable", "cannot read"), ("nan", "NaN"), ("empty", "no samples"),
                                          ("missing", "no such file")])
def test_bad_audio_gets_one_line_and_no_output(cli, tmp_path, bad_inputs, case, message):
    out = tmp_path / "out.wav"
    line = _one_line_error(cli("enhance", str(bad_inputs[case]), "-o", str(out), "-m", "tiny"))
    assert message in line and not out.exists()


def test_one_bad_file_in_a_folder_does_not_stop_the_others(cli, tmp_path, bad_inputs):
    folder = tmp_path / "mixed"
    _wav(folder / "good.wav", voiced(np.random.default_rng(2), 0.4, 150))
    (folder / "bad.wav").write_bytes(bad_inputs["unreadable"].read_bytes())
    r = cli("enhance", str(folder), "-o", str(tmp_path / "o"), "-m", "tiny")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert (tmp_path / "o/good.wav").is_file() and not (tmp_path / "o/bad.wav").exists()
    assert "bad.wav" in r.stderr and "1 of 2 files failed" in r.stderr


def test_inputs_are_never_overwritten(cli, tmp_path):
    src = _wav(tmp_path / "in.wav", voiced(np.random.default_rng(3), 0.3, 150))
    before = src.read_bytes()
    assert "overwrite an input" in _one_line_error(cli("enhance", str(src), "-o", str(src), "-m", "tiny"))
    assert "overwrite an input" in _one_line_error(cli("enhance", str(tmp_path), "-o", str(tmp_path), "-m", "tiny"))
    assert src.read_bytes() == before


def test_existing_outputs_are_kept_unless_forced(cli, tmp_path):
    src = _wav(tmp_path / "in.wav", voiced(np.random.default_rng(4), 0.3, 150))
    out = tmp_path / "out.wav"
    out.write_bytes(b"keep me")
    assert "already exists" in _one_line_error(cli("enhance", str(src), "-o", str(out), "-m", "tiny"))
    assert out.read_bytes() == b"keep me"
    assert cli("enhance", str(src), "-o", str(out), "-m", "tiny", "--force").returncode == 0
    assert sf.info(out).frames == sf.info(src).frames


def test_missing_or_corrupt_models_get_one_line(cli, tmp_path, tiny_model_dir):
    src = _wav(tmp_path / "in.wav", voiced(np.random.default_rng(5), 0.3, 150))
    assert "not found" in _one_line_error(cli("enhance", str(src), "-o", str(tmp_path / "a.wav"), "-m", "nothing"))
    bad = tmp_path / "models"
    bad.mkdir()
    for f in tiny_model_dir.iterdir():
        (bad / f.name).write_bytes(f.read_bytes()[:-100] if f.suffix == ".safetensors" else f.read_bytes())
    line = _one_line_error(cli("enhance", str(src), "-o", str(tmp_path / "b.wav"), "-m", str(bad / "tiny.json")))
    assert "checksum" in line


def test_eval_on_a_folder_of_pairs_prints_a_table_and_writes_json(cli, tmp_path):
    import json
    rng = np.random.default_rng(6)
    expected = []
    for i in range(2):
        clean = voiced(rng, 3.0, 150 + 40 * i)
        noise = 0.02 * rng.standard_normal(len(clean)).astype(np.float32)
        _wav(tmp_path / f"pairs/clean/{i}.wav", clean, subtype="FLOAT")
        _wav(tmp_path / f"pairs/noisy/{i}.wav", clean + noise, subtype="FLOAT")
        c, n = clean - clean.mean(), noise - noise.mean()          # SI-SDR when the scale is exact
        expected.append(10 * np.log10(np.sum(c ** 2) / np.sum(n ** 2)))
    r = cli("eval", "--pairs", str(tmp_path / "pairs"), "-m", "tiny", "--json", str(tmp_path / "r.json"))
    assert r.returncode == 0, r.stderr
    assert "| noisy | pairs | all | 2 |" in r.stdout and "| tiny | pairs | all | 2 |" in r.stdout
    summary = json.loads((tmp_path / "r.json").read_text())["summary"]
    noisy = next(e for e in summary if e["system"] == "noisy" and e["snr"] == "all")
    assert abs(noisy["si_sdr"] - np.mean(expected)) < 0.1 and 0 < noisy["stoi"] <= 1


def test_eval_live_scores_each_look_ahead_as_the_stream_runs_it(cli, tiny_data, tmp_path):
    import json
    r = cli("eval", "--data", str(tiny_data), "--count", "2", "--seconds", "1", "-m", "tiny", "--live",
            "--hop", "128", "--lookahead", "0", "128", "--groups", "mixtures", "--json", str(tmp_path / "r.json"))
    assert r.returncode == 0, r.stderr
    live = {e["system"]: e for e in json.loads((tmp_path / "r.json").read_text())["summary"] if e["snr"] == "all"}
    assert set(live) == {"noisy", "tiny", "tiny live (8 ms: look-ahead 0)", "tiny live (16 ms: look-ahead 8)"}
    assert live["tiny live (8 ms: look-ahead 0)"]["si_sdr"] != live["tiny live (16 ms: look-ahead 8)"]["si_sdr"]
    bad = cli("eval", "--data", str(tiny_data), "-m", "tiny", "--live", "--hop", "128", "--lookahead", "999")
    assert "--lookahead must be in 0..384 samples (window 512 minus hop 128), got 999" in _one_line_error(bad)


def test_eval_scores_every_validation_group_and_the_do_no_harm_bucket(cli, tiny_data, tmp_path):
    import json
    r = cli("eval", "--data", str(tiny_data), "--count", "5", "--group-count", "2", "--seconds", "1",
            "-m", "spectral-tiny", "--json", str(tmp_path / "r.json"))
    assert r.returncode == 0, r.stderr
    summary = json.loads((tmp_path / "r.json").read_text())["summary"]
    buckets = {(e["system"], e["group"], e["snr"]): e["n"] for e in summary}
    model = "spectral-tiny (live, 32 ms)"
    for group, n in (("mixtures", 5), ("rooms", 2), ("telephone", 2), ("levels", 2), ("clean", 2), ("all", 13)):
        assert buckets[("noisy", group, "all")] == buckets[(model, group, "all")] == n, group
    assert buckets[(model, "clean", "10+")] == 2 and buckets[(model, "mixtures", "10+")] == 2   # 10 and 15 dB
    assert f"| {model} | rooms | all | 2 |" in r.stdout


def test_a_spectral_model_refuses_framing_flags_it_cannot_honour(cli, tiny_data, tmp_path):
    src = _wav(tmp_path / "in.wav", voiced(np.random.default_rng(8), 0.5, 150))
    bad = cli("enhance", str(src), "-o", str(tmp_path / "out.wav"), "-m", "spectral-tiny", "--overlap-hop", "512")
    assert "--overlap-hop 512: this spectral model runs one frame every 256 samples (use --overlap-hop 256" in _one_line_error(bad)
    bad = cli("live", "--in-file", str(src), "--out-file", str(tmp_path / "o.wav"), "-m", "spectral-tiny",
              "--lookahead", "256")
    assert "--lookahead 256: this spectral model uses no look-ahead (use --lookahead 0" in _one_line_error(bad)
    bad = cli("eval", "--data", str(tiny_data), "--count", "1", "-m", "spectral-tiny", "--live", "--lookahead", "128")
    assert "uses no look-ahead" in _one_line_error(bad)
    ok = cli("live", "--in-file", str(src), "--out-file", str(tmp_path / "o.wav"), "-m", "spectral-tiny",
             "--hop", "256", "--lookahead", "0")
    assert ok.returncode == 0, ok.stderr
    assert "no look-ahead: algorithmic latency 32 ms" in ok.stderr
    assert sf.info(tmp_path / "o.wav").frames == sf.info(src).frames


def test_eval_without_data_says_where_it_looked(cli, tmp_path):
    assert "index.csv" in _one_line_error(cli("eval", "--data", str(tmp_path), "-m", "tiny"))


def test_demo_writes_wavs_and_a_spectrogram_and_prints_metrics(cli, tmp_path):
    pytest.importorskip("espeakng_loader")
    r = cli("demo", "-m", "tiny", "-o", str(tmp_path / "demo"))
    assert r.returncode == 0, r.stderr
    for name in ("noisy.wav", "clean.wav", "noise.wav", "reference.wav", "bar-noisy.wav", "bar-clean.wav"):
        assert sf.info(tmp_path / "demo" / name).duration > 5
    assert (tmp_path / "demo/spectrogram.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for noise in ("generated", "real bar"):
        assert f"| {noise:9} | noisy  |" in r.stdout and f"| {noise:9} | output |" in r.stdout
    # the same speech in a real recording: what is not speech in the bar example is the shipped clip
    from rtdenoise.data.speech import real_noise_clip
    bar, speech = (sf.read(tmp_path / "demo" / f, dtype="float32")[0] for f in ("bar-noisy.wav", "reference.wav"))
    clip = real_noise_clip()[:len(bar)]
    rest = bar - speech * np.dot(bar, speech) / np.dot(speech, speech)
    assert np.corrcoef(rest[:len(clip)], clip)[0, 1] > 0.9


def test_demo_runs_on_the_backend_and_precision_it_is_given(cli, tmp_path):
    """The flags reach the enhancement itself: the demo's output is its input enhanced on the
    backend and precision it was given, not on another. (Its input is re-made each run, so each
    run is checked against its own noisy.wav; in RMS, int8 against fp32 differs far more than the
    WAV's 16-bit rounding of that input moves the output.)"""
    pytest.importorskip("espeakng_loader")
    from rtdenoise import enhance, load_model
    from rtdenoise.families.runtime import for_model
    model = load_model("rtdenoise-small", "cpu")
    for asked, other in ((("onnx", "int8"), ("torch", "fp32")), (("torch", "fp32"), ("onnx", "int8"))):
        out = tmp_path / asked[0]
        r = cli("demo", "-m", "rtdenoise-small", "-o", str(out), "--backend", asked[0], "--precision", asked[1])
        assert r.returncode == 0, r.stderr
        assert f"on {asked[0]} " + ("cpu" if asked[0] == "torch" else asked[1]) in r.stdout.splitlines()[0]
        noisy = sf.read(out / "noisy.wav", dtype="float32")[0]
        clean = sf.read(out / "clean.wav", dtype="float32")[0]
        on = {run: enhance(model, noisy, SR, backend=for_model(model, *run[:1], precision=run[1])) for run in (asked, other)}
        rms = {run: float(np.sqrt(np.mean((clean - y) ** 2))) for run, y in on.items()}
        assert 3 * rms[asked] < rms[other], (asked, rms)


@pytest.mark.parametrize("controls,stream_control", [
    (("--strength", "0.3"), lambda s: s.set_strength(0.3)),
    (("--atten-limit", "6"), lambda s: s.set_attenuation_limit(6.0)),
])
def test_enhance_strength_and_attenuation_limit_are_the_live_stream_controls(cli, tmp_path, spectral_model,
                                                                           controls, stream_control):
    """A spectral model's file output is its stream's, so with the same control the two agree
    sample for sample (written as float: fp32 rounding of the mix only)."""
    from rtdenoise.signal.streaming import StreamingDenoiser
    x = 0.3 * voiced(np.random.default_rng(8), 1.5, 140.0)
    src = _wav(tmp_path / "in.wav", x, subtype="FLOAT")
    r = cli("enhance", str(src), "-o", str(tmp_path / "out.wav"), "-m", "spectral-tiny", "--backend", "torch",
            "--subtype", "FLOAT", *controls)
    assert r.returncode == 0, r.stderr
    got = sf.read(tmp_path / "out.wav", dtype="float32")[0]
    den = StreamingDenoiser(spectral_model, backend="torch")
    stream_control(den)
    y = np.concatenate([den.push(x), den.flush()])[den.delay:den.delay + len(x)]
    np.testing.assert_allclose(got, y, atol=1e-5)
    full = StreamingDenoiser(spectral_model, backend="torch")
    assert np.max(np.abs(got - np.concatenate([full.push(x), full.flush()])[full.delay:full.delay + len(x)])) > 1e-3


def test_enhance_refuses_a_bad_control_before_loading_a_model(cli, tmp_path):
    src = _wav(tmp_path / "in.wav", np.zeros(1600, np.float32))
    bad = cli("enhance", str(src), "-o", str(tmp_path / "o.wav"), "-m", "no-such-model", "--strength", "nan")
    assert _one_line_error(bad) == "rtdenoise: error: --strength must be between 0 and 1"
