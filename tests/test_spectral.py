"""The spectral family: a causal, stateful generator whose stream is its offline output.

Tolerances. Offline and streamed output run the same weights on the same backend and differ only
in how frames are batched (a whole chunk or one frame per call): fp32 sums of a few hundred terms
per layer, rounded in another order, about 1e-7 of the output's scale (measured 6e-8). The bound
used, 1e-5 of the scale, is a hundred times that; one frame out of place would be off by the order
of the output itself. int8 is bounded by its agreement with fp32 in dB, as for the seed family.
"""
import numpy as np
import pytest
import torch

from conftest import random_spectral, voiced
from rtdenoise import enhance, load_model
from rtdenoise.families import framing, runtime
from rtdenoise.families.spectral import SPECTRAL
from rtdenoise.model import backends, graphs
from rtdenoise.model.config import preset, SPECTRAL_PRESETS, SpectralConfig
from rtdenoise.signal.offline import enhance_rows
from rtdenoise.errors import RtDenoiseError
from rtdenoise.model.spectral import erb_triangles, SpectralCanceler, sqrt_hann
from rtdenoise.families.stft import analyse, synthesise
from rtdenoise.signal.streaming import StreamingDenoiser

needs_onnx = pytest.mark.skipif(not backends.onnx_available(), reason="onnxruntime not installed")
TOL = 1e-5


def _speech(seconds=1.5, seed=0):
    rng = np.random.default_rng(seed)
    x = voiced(rng, seconds, 150) + 0.02 * rng.standard_normal(int(seconds * 16000)).astype(np.float32)
    return x.astype(np.float32)


def _stream(den, x, chunk):
    return np.concatenate([den.push(x[i:i + chunk]) for i in range(0, len(x), chunk)] + [den.flush()])


def test_analysis_and_synthesis_give_the_input_back_exactly():
    cfg = SPECTRAL_PRESETS["spectral"]
    x = _speech()
    np.testing.assert_allclose(synthesise(analyse(x, cfg), len(x), cfg)[0], x, atol=1e-6)
    w = sqrt_hann(cfg.n_fft)
    np.testing.assert_allclose(w[:cfg.hop] ** 2 + w[cfg.hop:] ** 2, 1.0, atol=1e-6)


def test_erb_bands_cover_every_bin_and_are_at_least_two_bins_apart():
    tri = erb_triangles(512, 16000, 32)
    np.testing.assert_allclose(tri.sum(axis=0), 1.0, atol=1e-6)
    peaks = tri.argmax(axis=1)
    assert peaks[0] == 0 and peaks[-1] == 256 and np.all(np.diff(peaks) >= 2)


def test_the_state_carried_frame_by_frame_gives_the_whole_sequence_result():
    net = random_spectral()
    spec = torch.from_numpy(analyse(_speech(), net.config))
    with torch.no_grad():
        whole, *end = net.step(spec, *net.initial_state(1))
        state, frames = net.initial_state(1), []
        for t in range(spec.shape[1]):
            out, *state = net.step(spec[:, t:t + 1], *state)
            frames.append(out)
    scale = float(whole.abs().max())
    assert float((torch.cat(frames, 1) - whole).abs().max()) <= TOL * scale
    for a, b in zip(state, end):
        assert float((a - b).abs().max()) <= TOL * max(1.0, float(b.abs().max()))


def test_the_model_is_causal_a_later_sample_never_changes_an_earlier_output():
    net = random_spectral()
    x = _speech()
    y = enhance_rows(net, x, backend="torch")[0]
    changed = x.copy()
    changed[12000:] += 0.5
    z = enhance_rows(net, changed, backend="torch")[0]
    # Sample 12000 first enters the frame that ends at sample 12287 (hop 256), whose output starts
    # one window earlier: the output before 12288 - 512 is untouched.
    first = (12000 // 256 + 1) * 256 - 512
    assert np.array_equal(y[:first], z[:first])
    assert not np.allclose(y[first:first + 256], z[first:first + 256])


@pytest.mark.parametrize("backend", ["torch", pytest.param("onnx", marks=needs_onnx)])
@pytest.mark.parametrize("chunk", [1, 7, 160, 1000, None])
def test_streaming_any_chunking_gives_the_offline_output_sample_for_sample(spectral_model, backend, chunk):
    x = _speech()
    offline = enhance_rows(spectral_model, x, backend=backend)[0]
    den = StreamingDenoiser(spectral_model, backend=backend)
    y = _stream(den, x, chunk or len(x))
    D = den.delay
    assert D == 256 and den.config.latency == 512
    assert np.all(y[:D] == 0.0)                     # before the stream began: silence
    scale = float(np.abs(offline).max())
    assert float(np.abs(y[D:D + len(x)] - offline).max()) <= TOL * scale


@needs_onnx
def test_onnx_gives_what_torch_gives_for_a_live_frame_and_a_whole_file(spectral_model):
    x = np.stack([_speech(seed=1), _speech(seed=2)])
    want = enhance_rows(spectral_model, x, backend="torch")
    got = enhance_rows(spectral_model, x, backend=runtime.for_model(spectral_model, "onnx", 1, "fp32"))
    assert float(np.abs(got - want).max()) <= TOL * float(np.abs(want).max())


@needs_onnx
def test_int8_is_offered_stays_close_to_fp32_and_fp32_is_the_default(spectral_model):
    assert SPECTRAL.resolve_precision("onnx", "auto") == "fp32"
    x = _speech(3.0, seed=3)
    a = enhance_rows(spectral_model, x, backend=runtime.for_model(spectral_model, "onnx", 1, "int8"))[0]
    b = enhance_rows(spectral_model, x, backend=runtime.for_model(spectral_model, "onnx", 1, "fp32"))[0]
    agreement = 10 * np.log10(np.sum(b ** 2) / np.sum((a - b) ** 2))
    assert 15.0 < agreement < 100.0                 # close, and really quantised


@needs_onnx
def test_the_step_graph_is_exported_once_per_weights_and_damage_is_repaired(spectral_model, onnx_cache):
    runtime.build(spectral_model, "onnx", 1, "fp32")
    (path,) = [p for p in (onnx_cache / "onnx").glob(f"spectral-fp32-{graphs.weights_key(spectral_model)}.onnx")]
    stamp = path.stat().st_mtime_ns
    runtime.build(spectral_model, "onnx", 1, "fp32")
    assert path.stat().st_mtime_ns == stamp
    path.write_bytes(b"not an onnx graph")
    x = _speech(0.5)
    got = enhance_rows(spectral_model, x, backend=runtime.build(spectral_model, "onnx", 1, "fp32"))
    np.testing.assert_allclose(got, enhance_rows(spectral_model, x, backend="torch"), atol=TOL)
    changed = load_model(spectral_model.source, "cpu")
    with torch.no_grad():
        changed.gains.bias.add_(0.1)
    assert graphs.weights_key(changed) != graphs.weights_key(spectral_model)


def test_a_late_hop_passes_the_input_through_and_keeps_the_state_consistent(spectral_model):
    cfg = spectral_model.config
    H = cfg.hop
    x = _speech(2.0, seed=4)
    hops = len(x) // H
    late = set(range(40, 50))
    den = StreamingDenoiser(spectral_model, backend="torch")
    out = np.zeros(hops * H, np.float32)
    gru_before = None
    for k in range(hops):
        if k == 40:
            gru_before = den._core.state[0].copy()
        den.process_hop(x[k * H:(k + 1) * H], out[k * H:(k + 1) * H], run_model=k not in late)
        if k == 49:                   # the recurrent state skipped the late frames; the history did not
            state = den._core.state
            assert np.array_equal(state[0], gru_before)
            spec = analyse(x[:(k + 1) * H], cfg)[0, k]
            np.testing.assert_allclose(state[1][0, -1], spec[:cfg.df_bins], atol=1e-5)
    assert den.late_hops == len(late) and np.all(np.isfinite(out))
    # Frames 41..49 are all dry, so their overlap-add is the input, one hop behind.
    np.testing.assert_allclose(out[42 * H:50 * H], x[41 * H:49 * H], atol=1e-5)
    # Back to denoising afterwards: a hop that has seen two enhanced frames differs from the input.
    assert not np.allclose(out[52 * H:53 * H], x[51 * H:52 * H], atol=1e-3)


def test_bypass_keeps_the_network_running_so_it_is_current_when_bypass_ends(spectral_model):
    x = _speech(1.0, seed=5)
    a = StreamingDenoiser(spectral_model, backend="torch")
    b = StreamingDenoiser(spectral_model, backend="torch")
    b.bypass = True
    a.push(x[:8192])
    yb = b.push(x[:8192])
    np.testing.assert_array_equal(yb[256:], x[:8192 - 256])      # bit-exact dry, one hop behind
    b.bypass = False
    za, zb = a.push(x[8192:]), b.push(x[8192:])
    np.testing.assert_allclose(zb[256:], za[256:], atol=1e-6)    # after one hop of fade: the same output


def test_a_spectral_model_refuses_a_framing_other_than_its_own(spectral_model):
    from rtdenoise.signal.streaming import StreamConfig
    with pytest.raises(ValueError, match="hop 128: this spectral model runs one frame every 256 samples"):
        StreamingDenoiser(spectral_model, StreamConfig(512, 128, 128))
    assert framing(spectral_model) == StreamConfig(512, 256, lookahead=0, analysis_delay=256)
    with pytest.raises(RtDenoiseError, match="overlap_hop 512: this spectral model runs one frame every 256 samples"):
        enhance_rows(spectral_model, _speech(0.2), overlap_hop=512)


def test_the_public_api_enhances_any_rate_with_a_spectral_model(spectral_model):
    x = np.stack([_speech(0.8, seed=6)] * 2, axis=1)
    y = enhance(spectral_model, x, 16000)
    assert y.shape == x.shape and np.all(np.isfinite(y))
    y48 = enhance(spectral_model, np.repeat(x[:, 0], 3), 48000, backend="torch")
    assert y48.shape == (3 * len(x),)


def test_config_checks_and_presets():
    assert preset("spectral").family == "spectral" and preset("spectral").latency == 512
    with pytest.raises(ValueError, match="hop must be half"):
        SpectralConfig(hop=128)
    with pytest.raises(ValueError, match="unknown model config keys"):
        SpectralConfig.from_dict({"n_fft": 512, "window": 4096})
    net = SpectralCanceler(preset("spectral"))
    assert net.state_names == ["gru", "df"]
    params = sum(p.numel() for p in net.parameters())
    assert 0.5e6 < params < 1.5e6
    assert 20e6 < net.macs_per_frame() * 16000 / 256 < 100e6         # MAC per second of audio


def test_the_20_ms_preset_frames_every_10_ms_with_the_layers_of_spectral_real():
    """RNNoise's and DeepFilterNet's framing (320/160 at 16 kHz, 960/480 at 48 kHz): 20 ms of
    latency, and the same layer shapes as ``spectral-real``, so a run can start from its weights."""
    cfg = preset("spectral-real-20ms")
    assert (cfg.latency, cfg.hop, cfg.df_gain) == (320, 160, True)
    shapes = [{k: v.shape for k, v in SpectralCanceler(preset(n)).state_dict().items()}
              for n in ("spectral-real-20ms", "spectral-real")]
    assert shapes[0] == shapes[1]
    net = random_spectral("spectral-real-20ms", spread=0.05)
    x = np.random.default_rng(3).standard_normal(48000).astype(np.float32) * 0.1
    den = StreamingDenoiser(net, backend="torch", rate=48000)
    assert (den.config.window, den.config.hop, den.delay) == (960, 480, 480)
    y = _stream(den, x, 441)
    offline = enhance_rows(net, x, backend="torch", rate=48000)[0]
    scale = float(np.abs(offline).max())
    assert float(np.abs(y[480:480 + len(x)] - offline).max()) <= TOL * scale


def test_with_df_gain_the_band_gains_silence_the_deep_filter_bins_too():
    """Gains shut (a sigmoid far below zero) silence every bin only where they also reach the deep
    filter's: without ``df_gain`` its taps, at the identity, pass the low bins through."""
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((1, 1, 8192)).astype(np.float32)) * 0.1
    cfg = SPECTRAL_PRESETS["spectral-tiny"]
    for df_gain in (False, True):
        net = SpectralCanceler(SpectralConfig.from_dict({**cfg.to_dict(), "df_gain": df_gain})).eval()
        with torch.no_grad():
            net.gains.bias.fill_(-40.0)                   # sigmoid(-40): about 4e-18
            spec = net.stft(x[:, 0])
            out = net.step(spec, *net.initial_state(1))[0]
        low = out[:, :, :cfg.df_bins].pow(2).sum() / spec[:, :, :cfg.df_bins].pow(2).sum()
        high = out[:, :, cfg.df_bins:].pow(2).sum() / spec[:, :, cfg.df_bins:].pow(2).sum()
        assert high < 1e-30
        assert (low < 1e-30) if df_gain else (0.99 < low < 1.01)


def test_a_model_with_df_gain_streams_as_it_runs_offline():
    cfg = SpectralConfig.from_dict({**SPECTRAL_PRESETS["spectral-tiny"].to_dict(), "df_gain": True})
    torch.manual_seed(0)
    net = SpectralCanceler(cfg).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.3 * torch.randn_like(p))
        spec = net.stft(torch.randn(1, 4096) * 0.1)
        whole = net.step(spec, *net.initial_state(1))[0]
        state, frames = net.initial_state(1), []
        for t in range(spec.shape[1]):
            y, *state = net.step(spec[:, t:t + 1], *state)
            frames.append(y)
    # fp32: the same operations frame by frame, GRU sums of width 16 in another order at most
    torch.testing.assert_close(torch.cat(frames, 1), whole, rtol=1e-5, atol=1e-6)
