"""`rtdenoise live` from files, and the one-line errors of the live commands."""
import numpy as np
import soundfile as sf

from conftest import voiced


def test_live_from_a_file_in_bypass_gives_the_file_back_aligned(cli, tmp_path):
    x = voiced(np.random.default_rng(0), 3.0, 140)            # 1 s at 48 kHz
    sf.write(tmp_path / "in.wav", np.stack([x, 0.5 * x], 1), 48000)
    r = cli("live", "--in-file", str(tmp_path / "in.wav"), "--out-file", str(tmp_path / "out.wav"), "-m", "tiny",
            "--hop", "128", "--lookahead", "128", "--bypass", "--record", str(tmp_path / "rec"))
    assert r.returncode == 0, r.stderr
    y, rate = sf.read(tmp_path / "out.wav", dtype="float32")
    assert rate == 48000 and y.shape == (len(x), 2)
    mono = 0.75 * x                                            # the two channels mixed down
    assert np.corrcoef(y[4800:-4800, 0], mono[4800:-4800])[0, 1] > 0.99
    assert np.array_equal(y[:, 0], y[:, 1])
    assert "latency" in r.stderr and "xruns" in r.stderr
    assert sorted(p.name for p in (tmp_path / "rec").iterdir()) == ["input.wav", "noise.wav", "output.wav"]


def test_live_from_a_file_streams_it_and_writes_what_the_engine_gives_in_memory(cli, tiny_model_dir, tmp_path):
    """`live --in-file` reads and writes block by block (memory does not grow with the file:
    scripts/bench_memory.py --command live); its output is what the same engine gives the whole
    file held in memory, sample for sample, cut to the input's length and aligned to it. 2.3 s:
    more than two of the file blocks it reads, and not a whole number of engine blocks."""
    from rtdenoise.live.builder import build_engine
    from rtdenoise.live.file_clock import run_file
    rng = np.random.default_rng(3)
    x = np.stack([voiced(rng, 2.3, 150), 0.02 * rng.standard_normal(int(2.3 * 16000))], 1)
    sf.write(tmp_path / "in.wav", x.astype(np.float32), 16000, subtype="FLOAT")
    r = cli("live", "--in-file", str(tmp_path / "in.wav"), "--out-file", str(tmp_path / "out.wav"), "-m", "tiny",
            "--hop", "128", "--lookahead", "128", "--stats-every", "0")
    assert r.returncode == 0, r.stderr
    y, rate = sf.read(tmp_path / "out.wav", dtype="float32")
    engine = build_engine(16000, 2, 2, model=str(tiny_model_dir / "tiny.json"), hop=128, lookahead=128)
    want = run_file(engine, x.astype(np.float32))[engine.latency_samples:engine.latency_samples + len(x)]
    assert rate == 16000 and y.shape == x.shape
    np.testing.assert_array_equal(y, want)


def test_live_refuses_a_framing_the_model_cannot_hold_in_one_line(cli, tmp_path):
    sf.write(tmp_path / "in.wav", np.zeros(1600, np.float32), 16000)
    r = cli("live", "--in-file", str(tmp_path / "in.wav"), "--out-file", str(tmp_path / "o.wav"), "-m", "tiny",
            "--hop", "256", "--lookahead", "400")
    assert r.returncode == 1 and r.stderr.strip().splitlines()[-1].startswith(
        "rtdenoise: error: --lookahead must be in 0..256 samples (window 512 minus hop 256), got 400")
    assert "Traceback" not in r.stderr


def test_live_from_a_missing_or_broken_file_fails_in_one_line(cli, tmp_path):
    (tmp_path / "bad.wav").write_bytes(b"RIFF nonsense")
    for src in ("missing.wav", str(tmp_path / "bad.wav")):
        r = cli("live", "--in-file", src, "--out-file", str(tmp_path / "o.wav"), "-m", "tiny")
        assert r.returncode == 1 and "Traceback" not in r.stderr and "rtdenoise: error:" in r.stderr


def test_without_an_audio_server_live_and_devices_say_what_to_start(cli, tmp_path):
    env = {"ALSA_CONFIG_PATH": "", "XDG_RUNTIME_DIR": str(tmp_path), "PULSE_SERVER": f"unix:{tmp_path}/none"}
    for args in (("devices",), ("live", "-m", "tiny")):
        r = cli(*args, env=env)
        assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
        last = r.stderr.strip().splitlines()[-1]
        assert last.startswith("rtdenoise: error:") and ("audio server" in last or "PortAudio" in last), last


def test_a_virtual_speaker_with_another_input_is_refused_before_the_model_loads(cli, tmp_path):
    """With --virtual-speaker the input is the speaker: --input alone (without --virtual-mic) or
    --in-file contradicts it, and says so before any model or device is touched."""
    cases = {("--virtual-speaker", "-i", "mic"): "with --virtual-speaker the input is the virtual speaker: drop "
                                                  "--input, or add --virtual-mic to clean that microphone as well",
             ("--virtual-speaker", "--in-file", "x.wav"): "--virtual-speaker and --in-file: choose one input"}
    for args, message in cases.items():
        r = cli("live", *args, "-m", "no-such-model")
        assert r.returncode == 1 and r.stderr.strip().splitlines()[-1] == f"rtdenoise: error: {message}", r.stderr
