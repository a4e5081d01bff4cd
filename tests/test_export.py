"""The inference form of G (rtdenoise.model.export): the same numbers as the model, less work.

Polyphase upsampling and the decoder's cone are exact rewrites: they are checked in float64,
where rounding is about 1e-16 of the output's scale, against a bound of 1e-9 of it (a single wrong
tap or frame would be off by the order of the output itself). In fp32 the same rewrites round
differently from the model, by an amount that depends on the convolution kernels the CPU picks;
the backend tests bound that. int8 is an approximation, bounded by how far its streamed output may
stray from fp32 on speech it was not calibrated on.
"""
import copy
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from rtdenoise import load_model
from rtdenoise.families import framing, runtime
from rtdenoise.families.seed import SEED
from rtdenoise.errors import BackendError
from rtdenoise.model import backends, graphs
from rtdenoise.model.config import preset
from rtdenoise.model.export import FLOAT_ENDS, InferenceGenerator, PolyphaseUpsample
from rtdenoise.model.seed import NoiseCanceler
from rtdenoise.signal.streaming import enhance_like_stream, StreamingDenoiser

needs_onnx = pytest.mark.skipif(not backends.onnx_available(), reason="onnxruntime not installed")


def _random(config) -> NoiseCanceler:
    torch.manual_seed(0)
    net = NoiseCanceler(config).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0, 0.3)          # the residual preset starts at the identity: make it do something
    return net


@pytest.mark.parametrize("kernel", [4, 6, 8, 32])
def test_a_transposed_convolution_is_two_interleaved_convolutions(kernel):
    torch.manual_seed(kernel)
    deconv = nn.ConvTranspose1d(5, 3, kernel, stride=2, padding=kernel // 2 - 1).double()
    x = torch.randn(2, 5, 37, dtype=torch.float64)
    with torch.no_grad():
        want = deconv(x)
        got = PolyphaseUpsample(deconv)(x)
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("variant", ["tiny", "kernel 6", "residual with level", "latent off, small"])
def test_the_inference_generator_gives_the_models_output_for_any_tail(variant):
    config = {"tiny": preset("tiny"), "kernel 6": replace(preset("tiny"), kernel=6),
              "residual with level": replace(preset("tiny"), residual=True, level_db=-30.0),
              "latent off, small": preset("small")}[variant]
    net = _random(config) if variant != "latent off, small" else load_model("rtdenoise-small", device="cpu")
    net = copy.deepcopy(net).double()
    W = config.window
    x = 0.1 * torch.randn(3, 1, W, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    with torch.no_grad():
        full = net(x)
        scale = float(full.abs().max())
        for tail in (W, W // 4 + 3, 7, 1):
            got = InferenceGenerator(net, tail)(x)
            assert got.shape == (3, 1, tail) and got.dtype == torch.float64
            assert float((got - full[..., W - tail:]).abs().max()) <= 1e-9 * max(1.0, scale)


def test_a_tail_outside_the_window_is_refused(tiny_model):
    with pytest.raises(ValueError, match="tail must be in 1..512"):
        InferenceGenerator(tiny_model, 0)


@needs_onnx
def test_a_stream_asks_its_backend_for_only_the_tail_it_reads(shipped_small):
    cfg = framing(shipped_small)
    den = StreamingDenoiser(shipped_small, cfg, backend="onnx")
    assert den.backend.tail == cfg.hop + cfg.lookahead
    assert den.backend.fn(np.zeros((1, 4096), np.float32)).shape == (1, cfg.hop + cfg.lookahead)


@needs_onnx
def test_int8_is_the_onnx_default_and_keeps_the_layers_next_to_the_waveform_in_fp32(shipped_small):
    import onnx
    be = runtime.for_model(shipped_small, "onnx", 1)
    assert be.precision == "int8" and be.label.startswith("onnx int8")
    graph = onnx.load(str(graphs.graph_for(shipped_small, SEED, "int8")[0])).graph
    quantised = {i.name for i in graph.initializer if i.data_type == onnx.TensorProto.INT8}
    n = len(shipped_small.encoder)
    first, last = FLOAT_ENDS
    for i in range(n):
        assert any(f"encoder.{i}.weight" in q for q in quantised) == (i >= first), i
        assert any(f"ups.{i}.conv.weight" in q for q in quantised) == (i < n - last), i


@needs_onnx
def test_int8_streams_within_20_db_of_fp32_on_speech_it_was_not_calibrated_on(shipped_small, record_property):
    from rtdenoise.data.speech import make_example
    _, noisy = make_example(seed=10, snr_db=0.0)          # the calibration clip uses seeds 0..5
    cfg = framing(shipped_small)
    a = enhance_like_stream(shipped_small, noisy, cfg, backend=runtime.for_model(shipped_small, "onnx", 1, "int8"))
    b = enhance_like_stream(shipped_small, noisy, cfg, backend=runtime.for_model(shipped_small, "onnx", 1, "fp32"))
    agreement = 10 * np.log10(np.sum(b ** 2) / np.sum((a - b) ** 2))
    record_property("int8_vs_fp32_db", agreement)
    assert 20.0 < agreement < 80.0             # close, and really quantised (not fp32 under another name)


@needs_onnx
def test_without_a_calibration_clip_auto_means_fp32_and_int8_is_a_clear_error(tmp_path, monkeypatch, tiny_model):
    from rtdenoise.model import pretrained
    monkeypatch.setattr(pretrained, "CALIBRATION_FILE", "missing.flac")
    assert SEED.resolve_precision("onnx") == "fp32"
    with pytest.raises(BackendError, match="missing.flac not found"):
        runtime.build(tiny_model, "onnx", precision="int8")
    with pytest.raises(BackendError, match="precision int8 is not available on backend torch"):
        runtime.build(tiny_model, "torch", precision="int8")


@pytest.fixture(scope="module")
def shipped_small():
    return load_model("rtdenoise-small", device="cpu")
