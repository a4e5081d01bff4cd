"""The virtual audio harness itself: its devices exist for sounddevice and pass samples unchanged.

The live engine's tests assert on exact samples; this proves the harness can carry them: a player into
``mic_feed``, a sounddevice Stream from ``noisy_mic`` to ``denoised`` applying gain 0.5 (standing in
for the engine), and a recorder on ``clean_mic``. Everything that opens a device runs in a subprocess
with ``audio_server.env`` (see tests/audio_server.py for why).
"""
from __future__ import annotations

import json

import numpy as np

from audio_server import DEVICES, STARTUP, assert_delivered

RATE = 16000


def known_signal(seconds: float = 3.0, seed: int = 0) -> np.ndarray:
    """Seeded noise at 0.3 amplitude with a leading click, so the offset is unambiguous."""
    x = (0.3 * np.random.default_rng(seed).uniform(-1, 1, int(seconds * RATE))).astype(np.float32)
    x[0] = 0.9
    return x


def test_sounddevice_lists_the_four_virtual_devices(audio_server):
    r = audio_server.python("""
        import json, sounddevice as sd
        print(json.dumps([[d["name"], d["max_input_channels"], d["max_output_channels"]] for d in sd.query_devices()]))
    """)
    assert r.returncode == 0, r.stderr
    devices = {name: (ins, outs) for name, ins, outs in json.loads(r.stdout.splitlines()[-1])}
    for name in DEVICES:
        assert name in devices, f"{name} missing from {sorted(devices)}"
        assert devices[name][0] > 0 and devices[name][1] > 0
    assert audio_server.devices == DEVICES
    assert audio_server.rate == RATE


def test_a_stream_between_the_virtual_devices_passes_every_sample_once_in_order(audio_server, tmp_path):
    x = known_signal()
    np.save(tmp_path / "x.npy", x)
    r = audio_server.python(f"""
        import json, time, numpy as np, sounddevice as sd
        from audio_server import record_while_playing
        rate, flags, done = {RATE}, [], [0]

        def gain(indata, outdata, frames, t, status):          # stands in for the live engine
            if status and done[0] >= {STARTUP} * rate:        # startup flags: see audio_server.STARTUP
                flags.append(f"gain stream at {{done[0]}}: {{status}}")
            outdata[:] = 0.5 * indata
            done[0] += frames

        with sd.Stream(device=("noisy_mic", "denoised"), samplerate=rate, blocksize=rate // 100, channels=1,
                       dtype="float32", latency=0.04, callback=gain):
            for _ in range(500):                             # the stand-in runs before anything reaches it
                if done[0] >= {STARTUP} * rate:
                    break
                time.sleep(0.01)
            rec, status = record_while_playing(np.load({str(tmp_path / "x.npy")!r}), "clean_mic", "mic_feed",
                                               rate, seconds=6.5, lead=2.0)
        np.save({str(tmp_path / "rec.npy")!r}, rec)
        print(json.dumps(flags + status))
    """)
    assert r.returncode == 0, r.stderr
    offset = assert_delivered(np.load(tmp_path / "rec.npy"), x, gain=0.5, atol=1e-6)
    assert json.loads(r.stdout.splitlines()[-1]) == [], "PortAudio reported xruns"
    assert 2.0 * RATE <= offset <= 2.5 * RATE, f"unexpected delay: {offset} samples after the 2 s lead"


def test_play_and_record_from_a_sink_to_its_virtual_microphone(audio_server):
    x = known_signal(1.0, seed=1)
    rec = audio_server.play_and_record(x, audio_server.noisy_mic, seconds=2.5, play=audio_server.mic_feed)
    assert audio_server.last_status == []
    assert_delivered(rec, x)
