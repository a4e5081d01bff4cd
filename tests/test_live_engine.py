"""The live engine without a sound card: a file clock drives the same callback and inference code.

Runs "as fast as possible" (deterministic: each block is processed as it arrives) or at real-time
pace with the inference thread, as `rtdenoise live --in-file` does.
"""
import time

import numpy as np
import pytest

from conftest import longest_zero_run

from rtdenoise.live.engine import LiveConfig, LiveEngine
from rtdenoise.live.file_clock import run_file
from rtdenoise.signal.streaming import enhance_like_stream, StreamConfig

CFG = StreamConfig(512, 128, 128)      # fits the tiny model's 512-sample window


def identity(frames):
    return frames


def signal(seconds=1.0, rate=16000, channels=1, seed=0):
    return (0.2 * np.random.default_rng(seed).standard_normal((int(seconds * rate), channels))).astype(np.float32)


def test_bypassed_every_input_sample_comes_out_once_in_order_after_the_stated_latency(tiny_model):
    engine = LiveEngine(tiny_model, 16000, stream=CFG)
    engine.set_bypass(True)
    x = signal()
    y = run_file(engine, x)
    L = engine.latency_samples
    assert L == 128 + 128 + 320            # hop + look-ahead + 20 ms safety
    assert np.array_equal(y[L:L + len(x)], x)
    assert np.all(y[:L] == 0)


def test_the_engine_gives_what_offline_enhancement_gives_with_the_same_framing(tiny_model):
    engine = LiveEngine(tiny_model, 16000, stream=CFG)
    x = signal(seed=1)
    y = run_file(engine, x)[:, 0]
    L = engine.latency_samples
    np.testing.assert_allclose(y[L:L + len(x)], enhance_like_stream(tiny_model, x[:, 0], CFG), atol=1e-5)
    assert engine.stats().xruns == 0


def test_at_real_time_pace_the_thread_passes_every_sample_once_with_no_gap():
    """The inference thread against a wall clock. Whether it ever misses the 40 ms margin depends
    on the machine's load, so what is asserted is what the listener gets: every sample once, in
    order, and any moment the output ring ran short played from the dry input."""
    engine = LiveEngine(identity, 16000, stream=CFG, config=LiveConfig(safety_ms=40))
    x = signal(seconds=1.5, seed=2)
    y = run_file(engine, x, realtime=True)[:, 0]
    s = engine.stats()
    assert s.filled_dry_samples == s.output_underruns and s.input_overruns == 0, s.summary()
    assert s.hops + s.late_hops >= len(x) // 128 and s.compute_p99_ms > 0
    L = engine.latency_samples
    np.testing.assert_allclose(y[L:L + len(x)], x[:, 0], atol=2e-5)


def test_a_48k_stereo_device_is_mixed_down_resampled_and_copied_to_every_output_channel():
    engine = LiveEngine(identity, 48000, in_channels=2, out_channels=2, stream=CFG)
    spec = np.fft.rfft(np.random.default_rng(5).standard_normal(48000))
    spec[np.fft.rfftfreq(48000, 1 / 48000) > 6000] = 0          # what a 16 kHz model can carry
    mono = (0.1 * np.fft.irfft(spec, 48000)).astype(np.float32)
    y = run_file(engine, np.stack([mono + 0.05, mono - 0.05], 1))   # channels differ; their mean is mono
    assert y.shape[1] == 2 and np.array_equal(y[:, 0], y[:, 1])
    corr = np.fft.irfft(np.fft.rfft(y[:, 0], 2 * len(y)) * np.conj(np.fft.rfft(mono, 2 * len(y))))
    delay = int(np.argmax(corr[:len(y)]))
    assert abs(delay - engine.latency_samples) <= 2                  # the resamplers' delay included
    core = slice(4800, 43200)
    err = y[delay:delay + 48000, 0][core] - mono[core]
    assert 10 * np.log10(np.sum(mono[core] ** 2) / np.sum(err ** 2)) > 40     # through two resamplers


def test_when_inference_falls_behind_it_crossfades_to_the_dry_input_without_gaps():
    """A 'G' that takes 1.5 hops of time per hop: the engine must skip some hops (counted), and
    what comes out is still the input, whole, since skipping means passing it dry.

    On a loaded machine the inference thread can also be descheduled past the safety margin; the
    output ring then runs short for a moment (a CI run saw 64 samples once). That is allowed here
    as long as every such sample was played from the dry input, faded in from the last sample
    played over the fallback's 2 ms (a CI run saw one such fade: 32 samples off the input): no gap
    either way. That the scheduler skips in time, before the ring runs dry, is the deterministic
    test below."""
    def slow_identity(frames):
        time.sleep(0.012)                      # the hop is 8 ms
        return frames
    engine = LiveEngine(slow_identity, 16000, stream=CFG, config=LiveConfig(safety_ms=60))
    x = signal(seconds=1.5, seed=3)
    y = run_file(engine, x, realtime=True)[:, 0]
    s = engine.stats()
    assert s.late_hops > 10 and s.late_events > 0 and s.filled_dry_samples == s.output_underruns, s.summary()
    L = engine.latency_samples
    off = np.flatnonzero(np.abs(y[L:L + len(x)] - x[:, 0]) > 1e-4)
    fade = engine.fallback.fade
    assert len(off) <= s.filled_dry_events * fade, (len(off), s.summary())
    # each stretch that differs is one fade-in, at most 2 ms long
    runs = np.split(off, np.flatnonzero(np.diff(off) > 1) + 1) if len(off) else []
    assert all(len(r) <= fade for r in runs), [len(r) for r in runs]


def test_portaudio_flags_count_as_xruns_once_the_devices_have_started():
    """PortAudio's status flags in a stream's first moments are the device starting (through
    PipeWire nearly every stream reports one output underflow 16 to 64 ms in): those before the
    silent lead plus twice the device latency are not counted; every one after is."""
    engine = LiveEngine(identity, 16000, stream=CFG, config=LiveConfig(safety_ms=20))
    engine.device_latency = 0.048                      # in + out, as PortAudio reports it
    startup = 128 + 320 + round(2 * 0.048 * 16000)    # the lead (hop + safety), then 2 x the latency
    block = np.zeros((128, 1), np.float32)
    out = np.zeros((128, 1), np.float32)
    engine.start()
    try:
        while engine.frames_played < startup:
            engine.callback(block, out, 128, None, "output underflow")
        assert engine.stats().device_xruns == 0
        engine.callback(block, out, 128, None, "output underflow")
        engine.callback(block, out, 128, None, "")
        engine.callback(block, out, 128, None, "input overflow")
    finally:
        engine.stop()
    assert engine.stats().device_xruns == 2


def test_the_hop_scheduler_skips_g_only_while_the_output_would_run_dry():
    """Deterministic clock: the device captures and plays ten blocks while the inference side
    is stalled, so the output has already used up its margin when inference resumes."""
    engine = LiveEngine(identity, 16000, stream=CFG)
    engine._compute_estimate = 0.004           # G's usual time per hop, as if measured: 4 ms
    block = np.zeros((128, 1), np.float32)
    out = np.zeros((128, 1), np.float32)
    for _ in range(10):
        engine.capture(block)
        engine.playback(out)
    assert engine.pump() == 10
    s = engine.stats()
    # Late while less than 4.8 ms (1.2 x G's time) of output is queued. The output already owes
    # 832 samples (1280 played, 448 of them the start-up silence), which the ring drops when they
    # arrive: hops 1 to 7 only pay that debt (the last leaves 64 samples, 4 ms, queued), so G is
    # skipped for them and for hop 8; from hop 9 on it runs again.
    assert (s.late_hops, s.late_events, s.hops) == (8, 1, 2)
    engine.capture(block)
    engine.pump()
    assert engine.stats().late_hops == 8 and engine.stats().hops == 3


def test_controls_reach_the_stream_and_record_writes_aligned_files(tiny_model, tmp_path):
    import soundfile as sf
    engine = LiveEngine(tiny_model, 16000, stream=CFG, record=tmp_path / "rec")
    engine.set_strength(0.5)
    assert engine.strength == 0.5 and not engine.bypass
    engine.set_attenuation_limit(6.0)
    assert engine.strength == pytest.approx(1 - 10 ** (-6 / 20))
    x = signal(seed=4)
    run_file(engine, x)
    i, o, n = (sf.read(tmp_path / "rec" / f"{k}.wav", dtype="float32")[0] for k in ("input", "output", "noise"))
    assert len(i) == len(o) == len(n) >= len(x)
    np.testing.assert_allclose(i - o, n, atol=1e-6)
    A = CFG.lookahead
    assert np.array_equal(i[A:A + len(x)], x[:, 0])        # input file lines up with output file
    with pytest.raises(Exception, match="already exists"):
        LiveEngine(tiny_model, 16000, stream=CFG, record=tmp_path / "rec")


def test_nan_or_inf_from_the_device_becomes_counted_silence_not_a_stream_of_nan(tiny_model):
    engine = LiveEngine(tiny_model, 16000, stream=CFG)
    x = signal(seed=6)
    x[1000:1010] = np.nan
    x[2000] = np.inf
    y = run_file(engine, x)
    assert np.all(np.isfinite(y)) and engine.stats().nonfinite_samples == 11


def test_a_spectral_model_runs_in_the_engine_unchanged_and_gives_its_offline_output(spectral_model):
    from rtdenoise.signal.offline import enhance_rows
    engine = LiveEngine(spectral_model, 16000, backend="torch")
    assert engine.framing.hop == 256 and engine.stats().algorithmic_latency_ms == 32.0
    x = signal(seed=6)
    y = run_file(engine, x)[:, 0]
    L = engine.latency_samples
    assert L == 256 + 256 + 320                       # hop + the window's overlap + 20 ms safety
    want = enhance_rows(spectral_model, x[:, 0], backend="torch")[0]
    assert float(np.abs(y[L:L + len(x)] - want).max()) <= 1e-5 * float(np.abs(want).max())
    engine = LiveEngine(spectral_model, 16000, backend="torch")
    engine.set_bypass(True)
    y = run_file(engine, x)
    assert np.array_equal(y[L:L + len(x)], x)


def test_a_spectral_model_behind_real_time_passes_dry_hops_and_recovers(spectral_model):
    """Each hop is made to take longer than its 16 ms: the engine skips the network (counted) and
    the state stays finite for when it catches up. (Whether the output has gaps under load is the
    seed family's test above, with a fake G whose time is less jittery than a sleeping torch step.)"""
    from rtdenoise.families import runtime
    from rtdenoise.model import backends
    be = runtime.for_model(spectral_model, "torch")
    slow = backends.Backend("torch", lambda spec, state: (time.sleep(0.024), be.fn(spec, state))[1], "slow torch",
                            initial_state=be.initial_state, skip=be.skip)
    engine = LiveEngine(spectral_model, 16000, backend=slow, config=LiveConfig(safety_ms=60))
    x = signal(seconds=1.5, seed=7)
    y = run_file(engine, x, realtime=True)[:, 0]
    s = engine.stats()
    assert s.late_hops > 0 and s.late_events > 0, s.summary()
    assert np.all(np.isfinite(y)) and all(np.all(np.isfinite(a)) for a in engine.denoiser._core.state)


def test_when_the_output_runs_short_the_callback_plays_the_delayed_input_never_silence():
    """Deterministic clock: the inference side gets no time for 250 ms while the device keeps
    capturing and playing. With an identity G the enhanced output is the input delayed by the
    latency, so the fallback (the same delayed input) must join it seamlessly: no run of zeros,
    the same samples outside its 2 ms fade-in, and one counted event."""
    engine = LiveEngine(identity, 16000, stream=CFG)
    x = signal(2.0, seed=8)
    B = engine.block
    out = np.zeros_like(x)
    for i in range(0, len(x) - B + 1, B):
        engine.capture(x[i:i + B])
        if not 8000 <= i < 12000:
            engine.pump()
        engine.playback(out[i:i + B])
    s = engine.stats()
    L = engine.latency_samples
    y, ref = out[L:, 0], x[:len(x) - L, 0]
    assert s.output_underruns > 0 and s.filled_dry_events == 1 and s.filled_dry_samples == s.output_underruns
    assert longest_zero_run(y) < 32                       # not 2 ms of silence anywhere after start-up
    err = np.abs(y - ref)
    start = int(np.argmax(err > 1e-4))                    # where the fallback's fade-in begins
    assert np.all(err[start + 32:] < 2e-5) and np.all(err[:start] < 2e-5)


def test_where_the_devices_delay_moves_the_engine_holds_the_total_latency_within_its_margin():
    """PortAudio's timestamps say the devices' delay (DAC time minus ADC time) settled at 40 ms, then
    fell to 33 (the server's quantum shrank), rose to 45 (a glitch realigned the streams) and to 60.
    The engine adds 7 ms of its own, then sheds 5, then sheds as much as its compute margin allows
    (a block, twice its compute time and 4 ms must stay queued: 128 of the 320 samples of safety),
    each within a second, crossfaded, counted. The output is the input delayed exactly by the
    engine's latency plus that shift (an identity model), wherever no crossfade is under way."""
    from types import SimpleNamespace
    rate, block = 16000, 128
    engine = LiveEngine(identity, rate, stream=CFG, config=LiveConfig(safety_ms=20))
    walk = np.cumsum(np.random.default_rng(12).normal(0, 0.001, int(5.5 * rate))).astype(np.float32)
    x = (walk - walk.mean())[:, None]                 # smooth: a jump of a shift would stand out
    phases = [(0.040, 1.5), (0.033, 1.25), (0.045, 1.25), (0.060, 1.25)]
    y = np.zeros_like(x)
    out = np.zeros((block, 1), np.float32)
    L0 = engine.latency_samples
    ends = []
    engine.start()
    try:
        t0, n = time.monotonic(), 0
        for delay, seconds in phases:
            for _ in range(int(seconds * rate) // block):
                time.sleep(max(0.0, t0 + n / rate - time.monotonic()))
                at = n / rate
                engine.callback(x[n:n + block], out, block, SimpleNamespace(inputBufferAdcTime=at,
                                                                           outputBufferDacTime=at + delay), None)
                y[n:n + block] = out
                n += block
            ends.append(n)
    finally:
        engine.stop()
    s = engine.stats()

    def lag(end):         # the identity's output is the input, delayed, to fp32 rounding of the overlap-add
        seg = slice(end - 2000, end - 200)
        errors = {d: np.abs(y[seg, 0] - x[seg.start - d:seg.stop - d, 0]).max() for d in range(L0 - 300, L0 + 300)}
        best = min(errors, key=errors.get)
        assert errors[best] < 1e-6, (end, errors[best])
        return best - L0
    assert [lag(e) for e in ends[:3]] == [0, 112, -80]          # 7 ms added, then 5 ms under the start
    floor = lag(ends[3])
    assert -130 <= floor <= -120, floor                         # 60 ms asked for -320: the margin stops it
    assert s.latency_corrections == 3 and 11 < s.latency_off_ms < 13, s.summary()
    assert s.output_underruns == 0 and s.dropped_hops == 0, s.summary()
    start = L0 + block                                          # the stream, once it plays
    assert np.abs(np.diff(y[start:n - 400, 0])).max() < 0.006   # no jump: every shift was crossfaded
