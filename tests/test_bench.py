"""`rtdenoise bench`: one run scores rtdenoise and the installed peers on the same validation
mixtures and times them, writing a table, JSON and a plot; a missing peer is a note, not a failure."""
import json

import numpy as np
import pytest

from rtdenoise.bench import peers
from rtdenoise.model import backends
from rtdenoise.families import framing
from rtdenoise.model.config import preset


def test_bench_scores_and_times_rtdenoise_and_the_peers_in_one_run(cli, tiny_data, tmp_path):
    wanted = [k for k, (module, _) in peers.PEERS.items() if k != "deepfilternet3"]   # DFN3 is slow to start
    r = cli("bench", "--data", str(tiny_data), "--count", "2", "--group-count", "1", "--seconds", "1",
            "--models", "tiny", "spectral-tiny", "--peers", *wanted, "--hops", "20", "--out", str(tmp_path / "b"))
    assert r.returncode == 0, r.stderr
    live_ms = framing(preset("tiny")).latency_ms
    live_name = f"tiny live {live_ms:.0f} ms"
    out = tmp_path / "b"
    report = (out / "bench.md").read_text()
    result = json.loads((out / "bench.json").read_text())
    assert (out / "bench.png").stat().st_size > 10_000
    installed, _ = peers.load(wanted)
    systems = {e["system"] for e in result["summary"]}
    spectral_name = "spectral-tiny live 32 ms"          # its offline output is its stream's: no offline row
    assert {"noisy", live_name, "tiny offline", spectral_name} | {p.name for p in installed} <= systems
    assert "spectral-tiny offline" not in systems
    assert {e["group"] for e in result["summary"]} == {"all", "mixtures", "rooms", "telephone", "levels", "clean"}
    for e in result["summary"]:
        assert e["n"] > 0 and np.isfinite(e["stoi"]) and np.isfinite(e["si_sdr"]) and e["si_sdr"] <= 40.0
    # each system is scored on its own output: its per-example scores are not the input's
    by = {(row["system"], row["name"]): row["si_sdr"] for row in result["rows"]}
    names = {row["name"] for row in result["rows"]}
    for system in systems - {"noisy"}:
        assert any(by[(system, n)] != by[("noisy", n)] for n in names), system
    speed = {(s["system"], s["backend"]): s for s in result["speed"]}
    live = [s for (name, _), s in speed.items() if name == live_name]
    # every CPU backend at every precision it has: what int8 gains is shown beside fp32
    expected = ["torch cpu"] + (["onnx fp32", "onnx int8"] if backends.onnx_available() else [])
    assert sorted(s["backend"].split(" (")[0] for s in live) == sorted(expected)
    if backends.onnx_available():
        assert f"{live_name} (onnx fp32)" in systems
        assert f"{spectral_name} (onnx int8)" in systems         # the spectral default is fp32; int8 beside it
        spectral = sorted(s["backend"].split(" (")[0] for (name, _), s in speed.items() if name == spectral_name)
        assert spectral == ["onnx fp32", "onnx int8", "torch cpu"]
    for s in live:
        assert s["hop_p99_ms"] >= s["hop_p50_ms"] > 0 and s["file_rtf"] > 0 and s["latency_ms"] == live_ms
    for p in installed:
        s = next(v for (name, _), v in speed.items() if name == p.name)
        assert s["file_rtf"] > 0
        assert (s["hop_p50_ms"] is None) == (p.frame is None)
    assert f"| {live_name} |" in report and result["machine"] in report and "rtdenoise bench" in report


def test_a_peer_that_is_not_installed_is_skipped_with_a_note(monkeypatch):
    monkeypatch.setitem(peers.PEERS, "imaginary", ("no_such_denoiser_module", lambda: None))
    loaded, notes = peers.load(["imaginary"])
    assert loaded == [] and notes == ["imaginary: skipped, no_such_denoiser_module is not installed (pip install rtdenoise[bench])"]


@pytest.mark.parametrize("key", list(peers.PEERS))
def test_each_installed_peer_keeps_length_and_timing_and_states_its_latency(key):
    module, make = peers.PEERS[key]
    pytest.importorskip(module)
    p = make()
    x = (0.1 * np.random.default_rng(0).standard_normal(16000)).astype(np.float32)
    y = p.enhance(x)
    assert y.shape == x.shape and np.all(np.isfinite(y)) and not np.allclose(y, x)
    # aligned: the output correlates best with the input at lag 0 (the measured delay was removed)
    lags = [float(np.dot(x[200:-200], np.roll(y, -k)[200:-200])) for k in range(-160, 161)]
    assert abs(int(np.argmax(lags)) - 160) <= 2
    if p.frame is not None:
        assert p.latency_ms > 1000 * p.frame / p.native_rate
        assert len(p.time_frames(seconds=0.5)) > 10
