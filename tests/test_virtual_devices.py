"""rtdenoise.live.virtual_mic against a real PipeWire server (the audio_server fixture).

Calls that only talk to the server through pactl run here, with ``env=audio_server.env`` and
``configure_sounddevice=False``; whatever opens a sounddevice stream runs in a subprocess started with
``audio_server.env`` (sounddevice reads the ALSA config once, at import).
"""
from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from audio_server import assert_delivered
from rtdenoise.errors import RtDenoiseError
from rtdenoise.live.virtual_devices import owner_mark, platform_recipe, VirtualMic

RATE = 16000


def modules(server) -> str:
    return server.pactl("list", "short", "modules")


def names(server, what: str) -> list[str]:
    return [line.split("\t")[1] for line in server.pactl("list", "short", what).splitlines() if line]


def assert_gone(server, sink: str = "rtdenoise_out", source: str = "rtdenoise_mic") -> None:
    assert sink not in names(server, "sinks")
    assert source not in names(server, "sources")
    assert f"sink_name={sink}" not in modules(server) and f"source_name={source}" not in modules(server)


def test_creates_a_microphone_that_pactl_lists_and_removes_it_on_exit(audio_server):
    with VirtualMic(env=audio_server.env, configure_sounddevice=False) as vm:
        assert "rtdenoise_mic" in names(audio_server, "sources")
        assert "rtdenoise_out" in names(audio_server, "sinks")
        assert len(vm.module_ids) == 2
        listed = modules(audio_server)
        assert all(str(m) in listed for m in vm.module_ids)
        assert "rtdenoise clean microphone" in audio_server.pactl("list", "sources")
        assert f"{RATE}Hz" in audio_server.pactl("list", "short", "sources").split("rtdenoise_mic")[1].splitlines()[0]
        assert vm.output_device == "rtdenoise_out" and vm.mic_device == "rtdenoise_mic"
        assert vm.alsa_config is not None and vm.alsa_config.exists()
        assert vm.env_vars["ALSA_CONFIG_PATH"].endswith(":" + str(vm.alsa_config))
        config = vm.alsa_config
    assert vm.module_ids == ()
    assert not config.exists()
    assert_gone(audio_server)


def test_leaving_by_an_exception_removes_both_modules(audio_server):
    with pytest.raises(ZeroDivisionError):
        with VirtualMic(env=audio_server.env, configure_sounddevice=False):
            assert "rtdenoise_mic" in names(audio_server, "sources")
            1 / 0
    assert_gone(audio_server)


def test_audio_played_into_its_output_is_heard_on_the_virtual_microphone(audio_server):
    """The engine's view: a process that made a VirtualMic plays into ``output_device`` with sounddevice;
    the microphone carries every sample unchanged. The modules go when that process exits (atexit)."""
    x = (0.3 * np.random.default_rng(2).uniform(-1, 1, 2 * RATE)).astype(np.float32)
    x[0] = 0.9
    rec = audio_server.play_and_record(
        x, "rtdenoise_mic", seconds=3.5, play="rtdenoise_out",
        prelude="from rtdenoise.live.virtual_devices import VirtualMic; vm = VirtualMic().open()")
    assert audio_server.last_status == []
    assert_delivered(rec, x)
    assert_gone(audio_server)


def test_other_programs_record_it_as_a_microphone(audio_server, tmp_path):
    """A plain PulseAudio client (parecord, as a call app would) records the microphone while the engine
    side plays into the sink and keeps running."""
    x = (0.3 * np.random.default_rng(3).uniform(-1, 1, RATE)).astype(np.float32)
    x[0] = 0.9
    np.save(tmp_path / "x.npy", x)
    engine = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, numpy as np
        from rtdenoise.live.virtual_devices import VirtualMic
        with VirtualMic() as vm:
            import sounddevice as sd
            print("ready", flush=True)
            sys.stdin.readline()
            # Trailing silence: the end of an sd.play() is cut (about 36 ms here) when its stream stops.
            x = np.concatenate([np.load({str(tmp_path / "x.npy")!r}), np.zeros({RATE // 4}, np.float32)])
            sd.play(x, samplerate={RATE}, device=vm.output_device,
                    blocksize={RATE // 100}, latency=0.04, blocking=True)
            print("played", flush=True)
            sys.stdin.readline()
    """)], env=audio_server.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    recorder = None
    try:
        assert engine.stdout.readline().strip() == "ready", engine.stderr.read()
        raw = tmp_path / "rec.raw"
        recorder = subprocess.Popen(["parecord", "--raw", "--device=rtdenoise_mic", "--format=float32le",
                                     f"--rate={RATE}", "--channels=1", "--latency-msec=20", str(raw)],
                                    env=audio_server.env, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        engine.stdin.write("go\n")
        engine.stdin.flush()
        assert engine.stdout.readline().strip() == "played", engine.stderr.read()
        time.sleep(0.5)
        recorder.send_signal(signal.SIGINT)
        assert recorder.wait(timeout=10) in (0, 1, -signal.SIGINT), recorder.stderr.read()
        engine.stdin.write("done\n")
        engine.stdin.flush()
        assert engine.wait(timeout=30) == 0, engine.stderr.read()
    finally:
        for p in (recorder, engine):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait(timeout=30)          # reaped: a zombie's devices would look like a running owner's
    assert_delivered(np.fromfile(raw, np.float32), x)
    assert_gone(audio_server)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_process_stopped_by_a_signal_removes_the_microphone(audio_server, sig):
    # Ctrl-C's default handler, set explicitly as `rtdenoise live` does: a process started from a
    # background job (a CI runner's shell, nohup) inherits SIGINT ignored and would sleep through it.
    # SIGHUP's default too: under nohup it is inherited ignored, and an ignored signal stays ignored
    # (what a user of nohup asks for), so the test would wait on a process that was told to ignore it.
    p = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import signal, time
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        from rtdenoise.live.virtual_devices import VirtualMic
        with VirtualMic():
            print("ready", flush=True)
            time.sleep(60)
    """)], env=audio_server.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "ready", p.stderr.read()
        assert "rtdenoise_mic" in names(audio_server, "sources")
        p.send_signal(sig)
        code = p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=30)
    if sig == signal.SIGINT:      # KeyboardInterrupt: Python re-raises SIGINT on the way out
        assert code in (-signal.SIGINT, 1, 130), p.stderr.read()
    else:                         # turned into SystemExit(128 + signal)
        assert code == 128 + sig, p.stderr.read()
    assert_gone(audio_server)


def test_a_signal_handler_the_program_had_still_runs_after_the_cleanup(audio_server):
    p = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import signal, subprocess, sys, time
        from rtdenoise.live.virtual_devices import VirtualMic

        def own(signum, frame):
            listed = subprocess.run(["pactl", "list", "short", "sources"], capture_output=True, text=True).stdout
            print("own handler; mic listed:", "rtdenoise_mic" in listed, flush=True)
            sys.exit(7)

        signal.signal(signal.SIGTERM, own)
        with VirtualMic():
            print("ready", flush=True)
            time.sleep(60)
    """)], env=audio_server.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "ready", p.stderr.read()
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=30) == 7, p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
    assert p.stdout.read().strip() == "own handler; mic listed: False"
    assert_gone(audio_server)


def test_a_microphone_whose_rtdenoise_still_runs_is_refused_in_one_line_naming_it(audio_server):
    with VirtualMic(env=audio_server.env, configure_sounddevice=False):
        with pytest.raises(RtDenoiseError, match=rf"already exists: rtdenoise \(pid {os.getpid()}\) is running") as e:
            VirtualMic(env=audio_server.env, configure_sounddevice=False).open()
        assert "\n" not in str(e.value)
        assert "rtdenoise_mic" in names(audio_server, "sources")     # the first one is untouched
    assert_gone(audio_server)


def test_a_name_taken_by_something_else_is_refused_with_the_command_that_frees_it(audio_server):
    module = audio_server.pactl("load-module", "module-null-sink", "sink_name=rtdenoise_out").split()[0]
    try:
        with pytest.raises(RtDenoiseError, match=rf"already exists and is not rtdenoise's: remove it with "
                                                 rf"`pactl unload-module {module}`") as e:
            VirtualMic(env=audio_server.env, configure_sounddevice=False).open()
        assert "\n" not in str(e.value)
        assert "rtdenoise_out" in names(audio_server, "sinks")
    finally:
        audio_server.pactl("unload-module", module)
    assert_gone(audio_server)


def test_a_microphone_left_by_a_killed_rtdenoise_is_replaced_at_the_next_start(audio_server, caplog):
    """SIGKILL runs no cleanup: the nodes stay, marked with the dead owner's PID and start time;
    the next start removes them and makes its own."""
    p = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import time
        from rtdenoise.live.virtual_devices import VirtualMic
        with VirtualMic() as vm:
            print(" ".join(map(str, vm.module_ids)), flush=True)
            time.sleep(60)
    """)], env=audio_server.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert len(p.stdout.readline().split()) == 2, p.stderr.read()
    finally:
        p.kill()
    # Not reaped yet: a zombie still has its /proc entry, PID and start time, and must not pass for
    # a running owner (a killed child that its parent has not waited for).
    deadline = time.monotonic() + 10
    while Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] != "Z":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert "rtdenoise_mic" in names(audio_server, "sources")         # left behind
    with caplog.at_level(logging.INFO, logger="rtdenoise.live.virtual_devices"):
        with VirtualMic(env=audio_server.env, configure_sounddevice=False) as vm:
            assert names(audio_server, "sources").count("rtdenoise_mic") == 1
            assert names(audio_server, "sinks").count("rtdenoise_out") == 1
            marks = re.findall(r"rtdenoise\.owner=([\d-]+)", modules(audio_server))
            assert marks == [owner_mark()] * 2 and len(vm.module_ids) == 2     # ours only (ids may be reused)
    assert f"left behind by rtdenoise (pid {p.pid}), which no longer runs" in caplog.text
    p.wait(timeout=30)
    assert_gone(audio_server)


def test_a_module_the_server_refuses_is_a_one_line_error_and_leaves_nothing(audio_server):
    with pytest.raises(RtDenoiseError, match="refused module-null-sink") as e:
        VirtualMic("rtdenoise_t_out", "rtdenoise_t_mic", channels=0, env=audio_server.env,
                   configure_sounddevice=False).open()
    assert "\n" not in str(e.value)
    assert_gone(audio_server, "rtdenoise_t_out", "rtdenoise_t_mic")


def test_no_server_is_a_one_line_error_saying_what_to_start(audio_server, tmp_path):
    (tmp_path / "run").mkdir(mode=0o700)
    (tmp_path / "client.conf").write_text("autospawn = no\n")   # never start a PulseAudio for this test
    env = {k: v for k, v in audio_server.env.items() if k not in ("PULSE_SERVER", "PIPEWIRE_RUNTIME_DIR")}
    env.update(XDG_RUNTIME_DIR=str(tmp_path / "run"), PULSE_CLIENTCONFIG=str(tmp_path / "client.conf"))
    with pytest.raises(RtDenoiseError) as e:
        VirtualMic(env=env, configure_sounddevice=False).open()
    message = str(e.value)
    assert "no PulseAudio/PipeWire server" in message and "start pipewire-pulse (or pulseaudio" in message
    assert "\n" not in message


def test_no_pactl_is_a_one_line_error_saying_what_to_install(audio_server, tmp_path):
    env = {**audio_server.env, "PATH": str(tmp_path)}
    with pytest.raises(RtDenoiseError, match="pactl not found: install it .*pulseaudio-utils"):
        VirtualMic(env=env, configure_sounddevice=False).open()


def test_recipes_for_other_systems():
    assert "BlackHole" in platform_recipe("Darwin")
    assert "VB-CABLE" in platform_recipe("Windows") and "CABLE Output" in platform_recipe("Windows")
    assert "--virtual-mic" in platform_recipe("Linux")


def test_stream_properties_reach_only_the_streams_opened_inside_and_keep_the_users_own(monkeypatch):
    """PIPEWIRE_PROPS (the only way to give a stream properties through PipeWire's ALSA plugin) holds
    the extra properties while the streams open, beside any the user set, and is restored after."""
    import os
    from rtdenoise.live.devices import stream_properties
    monkeypatch.delenv("PIPEWIRE_PROPS", raising=False)
    with stream_properties({"node.dont-reconnect": "true"}):
        assert os.environ["PIPEWIRE_PROPS"] == "{ node.dont-reconnect=true }"
    assert "PIPEWIRE_PROPS" not in os.environ
    monkeypatch.setenv("PIPEWIRE_PROPS", "{ media.role=Communication }")
    with stream_properties({"node.dont-reconnect": "true", "stream.capture.sink": "true"}):
        assert os.environ["PIPEWIRE_PROPS"] == "{ media.role=Communication node.dont-reconnect=true stream.capture.sink=true }"
    assert os.environ["PIPEWIRE_PROPS"] == "{ media.role=Communication }"
