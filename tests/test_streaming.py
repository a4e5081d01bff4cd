"""Streaming: hop by hop with look-ahead, the same result as offline, controls without clicks."""
import numpy as np
import pytest

from rtdenoise.families import framing
from rtdenoise.model.config import ModelConfig
from rtdenoise.signal.streaming import enhance_like_stream, StreamConfig, StreamingDenoiser

W = 512
CONFIGS = [StreamConfig(W, 128, 128), StreamConfig(W, 128, 64), StreamConfig(W, 100, 300),
           StreamConfig(W, 256, 0), StreamConfig(W, 512, 0), StreamConfig(W, 64, 448)]


def silencer(frames):
    """A 'generator' that removes everything: what comes out is then only the dry part of a mix."""
    return np.zeros_like(frames)


def stream(den, x, chunk):
    outs = [den.push(x[i:i + chunk]) for i in range(0, len(x), chunk)]
    return np.concatenate(outs + [den.flush()])


@pytest.mark.parametrize("cfg", CONFIGS, ids=str)
def test_with_an_identity_generator_the_stream_is_the_input_delayed_by_the_look_ahead(cfg):
    x = np.random.default_rng(0).standard_normal(3001).astype(np.float32) * 0.1
    y = stream(StreamingDenoiser(lambda f: f, cfg), x, chunk=77)
    A = cfg.lookahead
    np.testing.assert_allclose(y[A:A + len(x)], x, atol=2e-5)
    assert np.all(y[:A] == 0)


@pytest.mark.parametrize("cfg", CONFIGS, ids=str)
@pytest.mark.parametrize("chunk", [1, 333, 4096])
def test_streaming_gives_what_offline_enhancement_gives_with_the_same_framing(tiny_model, cfg, chunk):
    x = np.random.default_rng(1).standard_normal(2500).astype(np.float32) * 0.1
    offline = enhance_like_stream(tiny_model, x, cfg)
    y = stream(StreamingDenoiser(tiny_model, cfg), x, chunk)
    A = cfg.lookahead
    np.testing.assert_allclose(y[A:A + len(x)], offline, atol=1e-5)


def test_full_bypass_gives_the_input_back_bit_for_bit(tiny_model):
    cfg = StreamConfig(W, 128, 128)
    den = StreamingDenoiser(tiny_model, cfg)
    den.bypass = True                       # set before the first sample: no fade-out
    x = np.random.default_rng(2).standard_normal(2048).astype(np.float32) * 0.3
    y = stream(den, x, 100)
    assert np.array_equal(y[128:128 + len(x)], x)


def test_strength_and_bypass_changes_ramp_over_a_hop_instead_of_clicking():
    cfg = StreamConfig(W, 128, 128)
    den = StreamingDenoiser(silencer, cfg)
    x = np.full(128 * 40, 0.5, np.float32)
    out = [den.push(x[:128 * 10])]
    den.set_strength(0.0)                   # full noise back: the output rises from 0 to 0.5
    out.append(den.push(x[128 * 10:128 * 20]))
    den.set_attenuation_limit(6.0)          # removes at most 6 dB: half of the "noise" stays
    out.append(den.push(x[128 * 20:128 * 30]))
    den.bypass = True
    out.append(den.push(x[128 * 30:]))
    y = np.concatenate(out)
    assert np.max(np.abs(np.diff(y[256:]))) <= 0.5 / 128 + 1e-6     # never more than one hop's ramp step
    assert y[128 * 9] == 0.0 and y[128 * 19] == pytest.approx(0.5) and y[-1] == 0.5
    assert y[128 * 29] == pytest.approx(0.5 * 10 ** (-6 / 20), rel=1e-4)


def test_a_late_caller_gets_the_dry_input_crossfaded_in_and_out():
    cfg = StreamConfig(W, 128, 128)
    den = StreamingDenoiser(silencer, cfg)
    x = np.full(128 * 30, 0.5, np.float32)
    out = []
    for k in range(30):
        late = 10 <= k < 15
        out.append(den.push(x[k * 128:(k + 1) * 128], run_model=not late))
    y = np.concatenate(out)
    assert den.late_hops == 5
    assert np.all(np.abs(y[128 * 5:128 * 10]) < 1e-6)                # denoised: silence
    # The fades run through de-emphasis, whose memory (0.95 per sample) settles within a hop.
    np.testing.assert_allclose(y[128 * 12:128 * 15], 0.5, atol=1e-3)  # late: the dry input
    assert np.all(np.abs(y[128 * 17:]) < 1e-3)                        # caught up: denoised again
    assert np.max(np.abs(np.diff(y))) < 0.5 * np.pi / 128            # a raised-cosine fade, not a step


def test_framing_that_the_window_cannot_hold_is_refused():
    with pytest.raises(ValueError, match="lookahead must be in 0..256"):
        StreamConfig(W, 256, 300)
    with pytest.raises(ValueError, match="hop"):
        StreamConfig(W, 0, 0)
    assert framing(ModelConfig(window=4096)) == StreamConfig(4096, 512, 512)
    short = framing(ModelConfig(channels=(4, 8), window=512))
    assert short.lookahead <= 512 - short.hop


@pytest.mark.parametrize("family", ["seed", "spectral"])
def test_the_stream_takes_any_block_a_caller_may_have_and_never_lets_nan_in(family, tiny_model, spectral_model):
    """NaN and Inf become silence before the model or its state sees them (counted) and the stream
    goes on: one window after the bad samples a window generator is back to what it gives clean
    input exactly; a recurrent one remembers the two silent samples a little while and forgets
    them (within 2% of the output's level after one window, within 1e-4 of it half a second on).
    int16 PCM is scaled from full scale, float64 narrowed; several channels are refused in one line."""
    from rtdenoise.errors import AudioError
    model = tiny_model if family == "seed" else spectral_model
    x = (0.1 * np.random.default_rng(7).standard_normal(16384)).astype(np.float32)
    clean = StreamingDenoiser(model, backend="torch").push(x)
    bad = x.copy()
    bad[3000], bad[3001] = np.nan, np.inf
    den = StreamingDenoiser(model, backend="torch")
    y = den.push(bad)
    assert np.all(np.isfinite(y)) and den.nonfinite_samples == 2
    after = 3002 + den.config.window + den.config.latency
    if family == "seed":
        np.testing.assert_allclose(y[after:], clean[after:], atol=1e-5)
    else:
        level = float(np.sqrt(np.mean(clean ** 2)))
        assert np.max(np.abs(y[after:] - clean[after:])) < 0.02 * level
        assert np.max(np.abs(y[after + 8000:] - clean[after + 8000:])) < 1e-4 * level
    pcm = StreamingDenoiser(model, backend="torch").push((x * 32767).astype(np.int16))
    np.testing.assert_allclose(pcm, clean, atol=1e-3)                # 16-bit rounding, through the model
    wide = StreamingDenoiser(model, backend="torch").push(x.astype(np.float64))
    assert wide.dtype == np.float32 and np.allclose(wide, clean, atol=1e-6)
    column = StreamingDenoiser(model, backend="torch").push(x[:, None])
    assert np.array_equal(column, clean)
    with pytest.raises(AudioError, match=r"mono samples \[n\], got shape \(16384, 2\): mix the channels down"):
        StreamingDenoiser(model, backend="torch").push(np.stack([x, x], 1))


def test_enhance_gives_integer_pcm_back_as_it_came():
    import rtdenoise
    from conftest import random_spectral
    net = random_spectral()
    x = (0.1 * np.random.default_rng(8).standard_normal(4000)).astype(np.float32)
    want = rtdenoise.enhance(net, x, 16000, backend="torch")
    got = rtdenoise.enhance(net, (x * 32768).round().astype(np.int16), 16000, backend="torch")
    assert got.dtype == np.int16
    np.testing.assert_allclose(got / 32768, want, atol=2e-3)
