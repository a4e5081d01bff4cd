"""A real PipeWire server for the live tests, started from scripts/virtual-audio.sh.

The ``audio_server`` fixture (tests/conftest.py, built on :func:`serve`) starts one private stack per
test session with the graph clock at 16 kHz, so streams at 16 kHz pass samples through unchanged
(a 48 kHz graph would resample them). Its four nodes, as sounddevice device names:

* ``mic_feed``: a sink; what is played here is heard on ``noisy_mic``
* ``noisy_mic``: a virtual microphone (the engine's input)
* ``denoised``: a sink (the engine's output); what is played here is heard on ``clean_mic``
* ``clean_mic``: a virtual microphone that records what reached ``denoised``

Why subprocesses: sounddevice initialises PortAudio when it is imported, and PortAudio reads the ALSA
configuration (``ALSA_CONFIG_PATH``, which names these devices) and the device list only then. The
test process may have imported sounddevice long before, without those variables. So everything that
opens a device runs in a subprocess started with ``AudioServer.env``: the live engine as a user runs it
(``python -m rtdenoise live -i noisy_mic -o denoised``), and the player/recorder below.

Streams here use blocks of rate/100 and a latency of 0.04 s: ``latency='low'`` (about 9 ms) underflowed
on this server, 0.02 s or more did not.
"""
from __future__ import annotations

import ctypes.util
import glob
import os
import shlex
import shutil
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent
SCRIPT = ROOT / "scripts" / "virtual-audio.sh"
DEVICES = ("mic_feed", "noisy_mic", "denoised", "clean_mic")
LATENCY = 0.04
# Seconds at the start of a stream whose PortAudio xrun flags are not counted. A duplex stream on this
# server sometimes reports an output underflow in its first blocks (30 to 50 ms in, with both cores
# busy), before any test signal reaches it. Such a flag means silence was inserted, never that a
# sample was dropped, and assert_delivered catches any gap inside the signal.
STARTUP = 0.25
# Prepended to every harness process: its threads (PortAudio's callbacks inherit the policy) run under
# SCHED_FIFO where the system allows it. Ordinary-priority players and recorders were late now and
# then even on an idle 2-core machine, and a late player feeds the microphone silence that the test
# would blame on what it tests; the audio server's own data threads run at FIFO 88.
REALTIME = ("import os\ntry:\n    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(50))\n"
            "except (AttributeError, OSError):\n    pass\n")
# Variables that would send a client to another server or node than ours.
_FOREIGN = ("PIPEWIRE_REMOTE", "PIPEWIRE_NODE", "PULSE_SINK", "PULSE_SOURCE", "PULSE_COOKIE")


@dataclass
class AudioServer:
    """A running stack. ``env``: the full environment for subprocesses (this process's, plus ``vars``,
    plus ``PYTHONPATH`` reaching tests/ and the checkout); ``vars``: only the audio variables
    (XDG_RUNTIME_DIR, PIPEWIRE_RUNTIME_DIR, DBUS_SESSION_BUS_ADDRESS, ALSA_CONFIG_PATH, PULSE_SERVER, ...)."""
    env: dict[str, str]
    rate: int
    folder: Path
    vars: dict[str, str] = field(default_factory=dict)
    mic_feed: str = "mic_feed"
    noisy_mic: str = "noisy_mic"
    denoised: str = "denoised"
    clean_mic: str = "clean_mic"
    last_status: list[str] = field(default_factory=list)   # PortAudio flags seen by the last play_and_record

    @property
    def devices(self) -> tuple[str, str, str, str]:
        return self.mic_feed, self.noisy_mic, self.denoised, self.clean_mic

    def pactl(self, *args: str) -> str:
        """``pactl ARGS`` against this server (C locale, so the output can be parsed); raises on failure."""
        r = subprocess.run(["pactl", *args], env={**self.env, "LC_ALL": "C"}, capture_output=True, text=True,
                           timeout=30)
        if r.returncode != 0:
            raise RuntimeError(f"pactl {' '.join(args)}: {r.stderr.strip()}")
        return r.stdout

    def python(self, code: str, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
        """Run ``code`` (dedented) in a fresh Python with ``env``; returns the completed process (text output).
        It runs under SCHED_FIFO where that is allowed (see :data:`REALTIME`)."""
        return subprocess.run([sys.executable, "-c", REALTIME + textwrap.dedent(code)], env=self.env,
                              capture_output=True, text=True, timeout=timeout, **kw)

    def play_and_record(self, signal: np.ndarray, record: str, seconds: float, play: str | None = None,
                        lead: float = 0.5, *, latency: float = LATENCY, prelude: str = "") -> np.ndarray:
        """Play ``signal`` (mono float32 at ``rate``) into ``play`` (default mic_feed), starting ``lead``
        seconds after a recorder starts on ``record``; returns ``seconds`` of recording (mono float32).

        Runs in a subprocess; ``prelude`` is Python run there before sounddevice is imported (for
        example, creating a VirtualMic). PortAudio's xrun flags end up in ``last_status``.
        """
        src, dst = self.folder / "play.npy", self.folder / "rec.npy"
        np.save(src, np.asarray(signal, np.float32).reshape(-1))
        dst.unlink(missing_ok=True)
        r = self.python(f"""
            {textwrap.dedent(prelude).strip() or 'pass'}
            import json, numpy as np
            from audio_server import record_while_playing
            rec, status = record_while_playing(np.load({str(src)!r}), {record!r}, {(play or self.mic_feed)!r},
                                               {self.rate}, {seconds}, lead={lead}, latency={latency})
            np.save({str(dst)!r}, rec)
            print(json.dumps(status))
        """, timeout=seconds + 60)
        assert r.returncode == 0, f"player/recorder failed:\n{r.stderr}"
        import json
        self.last_status = json.loads(r.stdout.strip().splitlines()[-1])
        return np.load(dst)


def record_while_playing(signal: np.ndarray, record: str, play: str, rate: int, seconds: float,
                         lead: float = 0.5, latency: float = LATENCY) -> tuple[np.ndarray, list[str]]:
    """In this process: record ``seconds`` from ``record`` while playing ``signal`` into ``play`` after
    ``lead`` seconds of silence. Returns (recording, PortAudio status flags seen).

    Two explicit streams, not ``sd.rec`` + ``sd.play``: sounddevice's ``play()`` stops a running ``rec()``.
    Both open at once and the player plays zeros for ``lead``: the graph links a new stream and may
    change its quantum in the first moments (a fresh CI machine garbled 1.4 s of a signal that began
    the moment its player opened), so the signal starts only once both streams are running.
    Flags in a stream's first quarter second are left out (see :data:`STARTUP`).
    """
    import sounddevice as sd
    block = rate // 100
    rec = np.zeros(int(seconds * rate), np.float32)
    status_seen: list[str] = []
    pos = {"in": 0, "out": 0}
    silence = int(lead * rate)
    full = threading.Event()

    def on_input(indata: np.ndarray, frames: int, t, status) -> None:
        if status:
            if pos["in"] >= STARTUP * rate:
                status_seen.append(f"recorder {record} at {pos['in']}: {status}")
        i = pos["in"]
        k = min(frames, len(rec) - i)
        rec[i:i + k] = indata[:k, 0]
        pos["in"] = i + k
        if pos["in"] >= len(rec):
            full.set()

    def on_output(outdata: np.ndarray, frames: int, t, status) -> None:
        if status:
            if pos["out"] >= STARTUP * rate:
                status_seen.append(f"player {play} at {pos['out']}: {status}")
        i = pos["out"] - silence
        outdata[:] = 0
        lo, hi = max(i, 0), max(i + frames, 0)
        chunk = signal[lo:hi]
        outdata[lo - i:lo - i + len(chunk), 0] = chunk
        pos["out"] += frames

    common = dict(samplerate=rate, channels=1, dtype="float32", blocksize=block, latency=latency)
    with sd.InputStream(device=record, callback=on_input, **common):
        with sd.OutputStream(device=play, callback=on_output, **common):
            if not full.wait(seconds + 10):
                raise TimeoutError(f"recorded only {pos['in']} of {len(rec)} samples from {record}")
    return rec, status_seen


def find_offset(recording: np.ndarray, signal: np.ndarray) -> int:
    """Where ``signal`` starts in ``recording``: the peak of their cross-correlation."""
    from scipy.signal import correlate
    c = correlate(recording.astype(np.float64), signal.astype(np.float64), mode="valid", method="fft")
    return int(np.argmax(np.abs(c)))


def assert_delivered(recording: np.ndarray, signal: np.ndarray, gain: float = 1.0, atol: float = 1e-6) -> int:
    """Assert ``recording`` holds ``gain * signal`` once, every sample in order, and silence around it.
    Returns the offset. Any lost, repeated, resampled or reordered sample fails this."""
    assert len(recording) >= len(signal), "recording shorter than the signal"
    off = find_offset(recording, signal)
    got = recording[off:off + len(signal)]
    assert len(got) == len(signal), f"signal cut off at the end of the recording (offset {off})"
    err = np.abs(got - gain * signal)
    assert err.max() <= atol, (f"offset {off}: {int((err > atol).sum())} of {len(signal)} samples differ, "
                               f"first at {int(np.argmax(err > atol))}, max error {err.max():.3g}")
    outside = np.concatenate([recording[:off], recording[off + len(signal):]])
    assert np.abs(outside).max(initial=0) <= atol, "something besides the signal was recorded (a repeat?)"
    return off


def missing() -> list[str]:
    """What the stack needs and this machine lacks (empty when all is there)."""
    lacking = [t for t in ("pipewire", "wireplumber", "pipewire-pulse", "pactl", "dbus-daemon") if not shutil.which(t)]
    if not ctypes.util.find_library("portaudio"):
        lacking.append("libportaudio2")
    if not glob.glob("/usr/lib*/alsa-lib/libasound_module_pcm_pipewire.so") + \
            glob.glob("/usr/lib/*/alsa-lib/libasound_module_pcm_pipewire.so"):
        lacking.append("pipewire-alsa")
    return lacking


def installed() -> bool:
    return not missing()


def _parse_exports(text: str) -> dict[str, str]:
    """``export K=V`` lines (V shell-quoted, as the script prints them with %q) into a dict."""
    out = {}
    for line in text.splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            key, _, value = words[1].partition("=")
            out[key] = value
    return out


def start(folder: Path, rate: int = 16000) -> AudioServer:
    """Start a stack whose state lives in ``folder``; raises RuntimeError with the script's message."""
    base = {k: v for k, v in os.environ.items() if k not in _FOREIGN}
    base["AUD_DIR"] = str(folder)
    r = subprocess.run([str(SCRIPT), "start", str(rate)], env=base, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"scripts/virtual-audio.sh start {rate} failed:\n{r.stderr}")
    out = subprocess.run([str(SCRIPT), "env"], env=base, capture_output=True, text=True, timeout=30, check=True)
    audio_vars = _parse_exports(out.stdout)
    path = os.pathsep.join([str(TESTS), str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    return AudioServer({**base, **audio_vars, "PYTHONPATH": path}, rate, folder, audio_vars)


def stop(server: AudioServer) -> None:
    """Stop the stack (by the PIDs the script recorded)."""
    subprocess.run([str(SCRIPT), "stop"], env=server.env, capture_output=True, timeout=60)


def serve(folder: Path, rate: int = 16000) -> Iterator[AudioServer]:
    """Body of the ``audio_server`` fixture: skip when PipeWire is missing, fail instead under CI
    (where scripts/setup.sh installs it, so a skip would hide that the live tests never ran)."""
    import pytest
    lacking = missing()
    if lacking:
        msg = (f"live audio tests need {', '.join(lacking)}: run scripts/virtual-audio.sh install as root "
               "(or scripts/setup.sh)")
        if os.environ.get("CI"):
            pytest.fail(f"{msg} (CI is set, so this is not skipped)")
        pytest.skip(msg)
    try:
        server = start(folder, rate)
    except (RuntimeError, subprocess.SubprocessError) as e:
        pytest.fail(str(e))
    try:
        yield server
    finally:
        stop(server)
