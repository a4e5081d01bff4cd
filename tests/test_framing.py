"""One framing per model, decided once by its family from the config and the user's optional hop and
look-ahead: the stream class, the live engine and eval all stream with it, or all refuse it alike."""
import argparse

import numpy as np
import pytest
import torch

from rtdenoise.errors import ParameterError
from rtdenoise.evaluation.command import model_systems
from rtdenoise.families import framing
from rtdenoise.families.runtime import open_model
from rtdenoise.live.builder import build_engine
from rtdenoise.model.pretrained import load_model
from rtdenoise.signal.streaming import StreamingDenoiser

#: (hop, look-ahead) as a user gives them: defaults, a look-ahead clamped to what a smaller hop
#: leaves, explicit values, and ones no window holds (the tiny seed model's window is 512).
COMBOS = [(None, None), (128, None), (128, 0), (256, 64), (None, 0), (256, 400), (0, None), (None, -1)]


def decided(make):
    """What a caller ends up streaming with, or the parameter it refused."""
    try:
        return make()
    except ParameterError as e:
        return f"refused {e.name}"


@pytest.fixture
def models_by_name(tiny_model_dir, monkeypatch):
    monkeypatch.setenv("RTDENOISE_MODELS", str(tiny_model_dir))
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)                     # build_engine sets G's threads


@pytest.mark.parametrize("name", ["tiny", "spectral-tiny"])
@pytest.mark.parametrize("hop,lookahead", COMBOS)
def test_live_the_stream_class_and_a_loaded_model_frame_alike(models_by_name, name, hop, lookahead):
    model = load_model(name, "cpu")
    want = decided(lambda: framing(model, hop, lookahead))
    assert decided(lambda: StreamingDenoiser(model, backend="torch", hop=hop, lookahead=lookahead).config) == want
    assert decided(lambda: build_engine(16000, model=name, backend="torch", hop=hop, lookahead=lookahead).framing) == want
    assert decided(lambda: open_model(name, "torch", hop=hop, lookahead=lookahead).framing) == want


def test_the_default_look_ahead_is_clamped_to_what_the_window_leaves_after_the_hop(tiny_model):
    assert framing(tiny_model).hop == 512 and framing(tiny_model).lookahead == 0       # 32 ms fills the window
    assert framing(tiny_model, 128).lookahead == 384
    assert framing(tiny_model, 128).latency == 512


@pytest.mark.parametrize("name", ["tiny", "spectral-tiny"])
@pytest.mark.parametrize("hop,lookahead", COMBOS)
def test_eval_scores_the_stream_that_the_stream_class_runs(models_by_name, name, hop, lookahead):
    """eval's live system (the seed family) or its one system (a spectral model, whose offline
    output is its stream's) gives what StreamingDenoiser at the same hop and look-ahead emits,
    aligned by the stream's delay; a framing the family refuses, eval refuses alike."""
    model = load_model(name, "cpu")
    args = argparse.Namespace(model=name, backend="torch", device=None, precision="auto", hop=hop, live=True,
                              lookahead=None if lookahead is None else [lookahead], overlap_hop=None)
    systems = decided(lambda: model_systems(args))
    want = decided(lambda: framing(model, hop, lookahead))
    if isinstance(want, str):
        assert systems == want
        return
    live = [fn for label, fn in systems.items() if "live" in label]
    assert len(live) == 1, list(systems)
    x = (0.1 * np.random.default_rng(4).standard_normal(3000)).astype(np.float32)
    den = StreamingDenoiser(model, want, backend="torch")
    y = np.concatenate([den.push(x), den.flush()])[want.delay:want.delay + len(x)]
    # The same windows summed in another order (overlap-add against hop by hop): fp32 rounding.
    np.testing.assert_allclose(live[0](x, 16000), y, atol=1e-5)
