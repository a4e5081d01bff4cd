"""Inference backends: every backend gives what eager torch gives, within a stated tolerance.

Tolerance: 1e-4 absolute on outputs in [-1, 1] for fp32 backends (ONNX Runtime measured about 3e-7
here). Half precision on CUDA is measured, not asserted tighter than 1e-2; int8 on onnx is bounded
in tests/test_export.py.
"""
import json

import numpy as np
import pytest
import torch

from rtdenoise import load_model
from rtdenoise.families import framing, runtime
from rtdenoise.families.seed import SEED
from rtdenoise.model import backends, graphs
from rtdenoise.model.backends import BackendError
from rtdenoise.signal.streaming import enhance_like_stream, StreamingDenoiser

FP32_TOL = 1e-4
needs_onnx = pytest.mark.skipif(not backends.onnx_available(), reason="onnxruntime not installed")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")


def _frames(model, batch: int, seed: int = 0) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal((batch, model.config.window))).astype(np.float32)


@pytest.fixture(scope="module")
def shipped():
    """The shipped window-family model (the spectral family's backends: tests/test_spectral.py)."""
    return load_model("rtdenoise-small", device="cpu")


def test_auto_means_onnx_on_a_cpu_with_onnxruntime_else_torch():
    expected = "cuda" if torch.cuda.is_available() else ("onnx" if backends.onnx_available() else "torch")
    assert backends.choose("auto") == expected
    assert backends.choose("auto", "cpu") == ("onnx" if backends.onnx_available() else "torch")
    assert backends.available()[-1] == "torch"


def test_unknown_or_absent_backends_are_one_line_errors():
    with pytest.raises(BackendError, match="unknown backend 'tpu'"):
        backends.choose("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(BackendError, match="no CUDA GPU"):
            backends.choose("cuda")


@needs_onnx
@pytest.mark.parametrize("batch,tail", [(1, None), (5, None), (1, 1024), (5, 700)])
def test_onnx_fp32_gives_what_torch_gives(shipped, batch, tail):
    x = _frames(shipped, batch)
    want = runtime.build(shipped, "torch").fn(x)[:, -(tail or 0):]
    got = runtime.build(shipped, "onnx", threads=1, precision="fp32", tail=tail).fn(x)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=FP32_TOL)


@needs_onnx
def test_streaming_on_onnx_fp32_matches_streaming_on_torch(shipped):
    cfg = framing(shipped)
    x = (0.1 * np.random.default_rng(1).standard_normal(16000)).astype(np.float32)
    onnx32 = runtime.for_model(shipped, "onnx", 1, "fp32")
    a = StreamingDenoiser(shipped, cfg, backend=onnx32)
    b = StreamingDenoiser(shipped, cfg, backend="torch")
    np.testing.assert_allclose(a.push(x), b.push(x), atol=FP32_TOL)
    np.testing.assert_allclose(enhance_like_stream(shipped, x, cfg, backend=onnx32),
                               enhance_like_stream(shipped, x, cfg, backend="torch"), atol=FP32_TOL)


@needs_onnx
def test_the_onnx_export_is_made_once_per_weights_and_reused(tiny_model, onnx_cache):
    path = graphs.cache_path(tiny_model, SEED)
    int8 = graphs.cache_path(tiny_model, SEED, "int8")
    runtime.build(tiny_model, "onnx")                       # int8: quantised from the fp32 export
    stamps = path.stat().st_mtime_ns, int8.stat().st_mtime_ns
    runtime.build(tiny_model, "onnx")                       # a new session, the same files
    assert (path.stat().st_mtime_ns, int8.stat().st_mtime_ns) == stamps
    assert graphs.cache_path(tiny_model, SEED, "fp32", 100) != path        # each tail is its own graph
    changed = load_model(tiny_model.source, "cpu")
    with torch.no_grad():
        next(changed.parameters()).add_(0.01)
    assert graphs.cache_path(changed, SEED) != path                # new weights, new export
    x = _frames(changed, 1)
    np.testing.assert_allclose(runtime.build(changed, "onnx", precision="fp32").fn(x),
                               runtime.build(changed, "torch").fn(x), atol=FP32_TOL)


@needs_onnx
def test_a_damaged_cached_export_is_made_again(tiny_model, onnx_cache):
    runtime.build(tiny_model, "onnx", precision="fp32")
    path = graphs.cache_path(tiny_model, SEED)
    path.write_bytes(b"not an onnx graph")
    x = _frames(tiny_model, 2)
    np.testing.assert_allclose(runtime.build(tiny_model, "onnx", precision="fp32").fn(x),
                               runtime.build(tiny_model, "torch").fn(x), atol=FP32_TOL)
    assert path.stat().st_size > 1000


@needs_onnx
def test_a_cached_export_damaged_but_still_a_graph_is_made_again(tiny_model, onnx_cache):
    """A cached file is checked against the checksum written beside it, as weights are: a graph
    that still parses but is not what was exported (here: another model's) is exported again."""
    import shutil
    x = _frames(tiny_model, 2)
    want = runtime.build(tiny_model, "torch").fn(x)
    runtime.build(tiny_model, "onnx", precision="fp32")
    path = graphs.cache_path(tiny_model, SEED)
    other = load_model(tiny_model.source, "cpu")
    with torch.no_grad():
        next(other.parameters()).add_(0.5)
    runtime.build(other, "onnx", precision="fp32")
    shutil.copyfile(graphs.cache_path(other, SEED), path)             # parses, runs, and is wrong
    np.testing.assert_allclose(runtime.build(tiny_model, "onnx", precision="fp32").fn(x), want, atol=FP32_TOL)


def test_the_cli_picks_a_backend_and_refuses_one_it_cannot_run(cli, tmp_path):
    import soundfile as sf
    src = tmp_path / "in.wav"
    sf.write(src, (0.1 * np.random.default_rng(0).standard_normal(8000)).astype(np.float32), 16000)
    outs = {}
    for b in backends.available():
        r = cli("enhance", str(src), "-o", str(tmp_path / f"{b}.wav"), "-m", "tiny", "--backend", b, "--precision", "fp32")
        assert r.returncode == 0, r.stderr
        assert f"backend: {b}" in r.stderr
        outs[b] = sf.read(tmp_path / f"{b}.wav", dtype="float32")[0]
    for b, y in outs.items():
        np.testing.assert_allclose(y, outs["torch"], atol=FP32_TOL)
    if not torch.cuda.is_available():
        r = cli("enhance", str(src), "-o", str(tmp_path / "x.wav"), "-m", "tiny", "--backend", "cuda")
        assert r.returncode == 1 and "Traceback" not in r.stderr
        assert r.stderr.strip().splitlines()[-1].startswith("rtdenoise: error: backend cuda: no CUDA GPU")
        assert not (tmp_path / "x.wav").exists()


@needs_cuda
@pytest.mark.parametrize("batch", [1, 3])
def test_cuda_fp32_gives_what_torch_on_the_cpu_gives(shipped, batch):
    x = _frames(shipped, batch)
    want = runtime.build(shipped, "torch").fn(x)
    gpu = load_model("rtdenoise-small", device="cuda")
    np.testing.assert_allclose(runtime.build(gpu, "cuda").fn(x), want, atol=FP32_TOL)


@needs_cuda
@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_cuda_half_precision_stays_close(shipped, precision, record_property):
    x = _frames(shipped, 1)
    want = runtime.build(shipped, "torch").fn(x)
    got = runtime.build(load_model("rtdenoise-small", device="cuda"), "cuda", precision=precision).fn(x)
    err = float(np.abs(got - want).max())
    record_property(f"{precision}_max_abs_error", err)
    print(json.dumps({"precision": precision, "max_abs_error": err}))
    assert err < 1e-2


@needs_cuda
def test_a_spectral_model_streams_on_cuda_with_its_state_on_the_gpu_as_torch_does_on_the_cpu(spectral_model):
    from rtdenoise.signal.offline import enhance_rows
    x = (0.1 * np.random.default_rng(2).standard_normal(8000)).astype(np.float32)
    want = enhance_rows(spectral_model, x, backend="torch")[0]
    gpu = load_model(spectral_model.source, "cuda")
    be = runtime.build(gpu, "cuda")
    den = StreamingDenoiser(gpu, backend=be)
    y = np.concatenate([den.push(x), den.flush()])[den.delay:den.delay + len(x)]
    np.testing.assert_allclose(y, want, atol=FP32_TOL)
    np.testing.assert_allclose(enhance_rows(gpu, x, backend=be)[0], want, atol=FP32_TOL)
