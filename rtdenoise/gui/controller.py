"""The monitor window's Qt-free layer: what the window shows and controls, and the sessions it runs.

What it shows: scrolling waveforms of the input, the output and the estimated noise (input minus
output) on one time axis, level meters, spectrograms of input and output, and a status line with
the backend, compute time per hop, real-time factor, latency, xruns and late hops, live. What it
controls: input and output devices, start/stop, bypass, suppression strength, latency preset, model,
backend and the virtual microphone.

How it is split, and why:

* A :class:`Session` thread owns one engine from start to stop: it builds the engine (loading a
  model takes seconds; the window must not freeze meanwhile), opens the devices through
  :class:`~rtdenoise.live.device_session.DeviceSession` (the same code as ``rtdenoise live``) or plays a
  file through :func:`~rtdenoise.live.file_clock.run_file` at real-time pace, waits, and closes everything
  in order. Model,
  backend, latency and device changes need a new engine, so they restart the session.
* The window (GUI thread; :mod:`rtdenoise.gui.window`) never touches audio: a timer, at most 30
  times a second, takes what the inference thread wrote into the engine's
  :class:`~rtdenoise.live.engine.Scope` since the last tick and draws it, each curve reduced to
  min/max per pixel first (:mod:`rtdenoise.gui.plots`). Bypass and strength go straight to the engine.
* This module imports no Qt: the command (:mod:`rtdenoise.gui.command`) checks for a display and for
  PyQt5 first, so either missing is a one-line error, not an abort or a traceback.
* With no audio device (a fresh machine, a server) the window opens all the same, says so, and
  plays generated noisy speech (the demo's) through the engine as if from a microphone, so a
  newcomer sees it work.
"""
from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import ParameterError, RtDenoiseError
from ..families import of
from ..live import devices
from ..live.builder import build_engine
from ..live.device_session import DeviceSession
from ..live.devices import STREAM_STOPPED
from ..live.engine import LiveEngine, Scope
from ..live.file_clock import run_file
from ..model.config import SAMPLE_RATE
from ..model.pretrained import find_model, model_dirs, parse_config, read_config
from ..signal.audio import read_audio

log = logging.getLogger(__name__)

FPS = 30                       # the most frames per second the window draws
VIEW_SECONDS = 5.0             # how much history the views show
# Latency presets: (hop, look-ahead) in samples at 16 kHz. Algorithmic latency is hop + look-ahead.
LATENCY_PRESETS: dict[str, tuple[int, int]] = {"low (32 ms)": (256, 256), "default (64 ms)": (512, 512),
                                       "safe (128 ms)": (1024, 1024)}
DEFAULT_PRESET = "default (64 ms)"
DEMO = "demo"                  # Source.kind of the generated noisy speech


@dataclass(frozen=True)
class Source:
    """Where the engine's input comes from: an audio device (by name), a file, or the demo speech."""

    kind: str                  # "device", "file" or DEMO
    name: str                  # device name ("": the system's default), file path, or DEMO

    @property
    def label(self) -> str:
        if self.kind == "device":
            return self.name or "default input device"
        if self.kind == "file":
            return f"file: {Path(self.name).name}"
        return "generated noisy speech (demo, no device needed)"


@dataclass(frozen=True)
class Settings:
    """Everything a session needs: what starting it again with the same settings reproduces."""

    source: Source = Source(DEMO, DEMO)
    output: str | None = None        # output device name; None: the system's default
    virtual_mic: bool = False
    model: str | None = None         # None: the shipped default
    backend: str = "auto"
    device: str | None = None        # torch device
    precision: str = "auto"
    threads: int = 1
    hop: int | None = None           # samples at 16 kHz; None: the model's live default
    lookahead: int | None = None
    bypass: bool = False
    strength: float = 1.0


@functools.lru_cache(maxsize=1)
def demo_speech() -> np.ndarray:
    """The demo's noisy speech ([frames, 1] at 16 kHz), made once per process (espeak-ng takes seconds)."""
    from ..data.speech import make_example
    _, noisy = make_example()
    return noisy[:, None]


def read_source(source: Source) -> tuple[np.ndarray, int]:
    """The audio ([frames, channels]) and rate of a file or the demo source."""
    if source.kind == DEMO:
        return demo_speech(), SAMPLE_RATE
    return read_audio(source.name)


class Session(threading.Thread):
    """One engine's life, in its own thread: build, run until stopped (or the file ends, or the
    device goes away), close. ``on_engine(engine)`` is called once the engine runs (with its
    scope attached), ``on_end(message)`` when it is over: ``""`` after a normal end, else a one-line
    error for the window. Both are called from this thread."""

    def __init__(self, settings: Settings, on_engine: Callable[[LiveEngine], None],
                 on_end: Callable[[str], None], scope_seconds: float = 2.0) -> None:
        super().__init__(name="rtdenoise-gui-session", daemon=True)
        self.settings = settings
        self.stop_event = threading.Event()
        self.engine: LiveEngine | None = None
        self.virtual_mic_name: str | None = None
        self._on_engine, self._on_end = on_engine, on_end
        self._scope_seconds = scope_seconds

    def stop(self, timeout: float | None = 30.0) -> None:
        """Ask the session to end and wait for it (engine and streams closed)."""
        self.stop_event.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)

    def _make_engine(self, rate: int, cin: int, cout: int, noise: bool = False) -> LiveEngine:
        s = self.settings
        engine = build_engine(rate, cin, cout, model=s.model, backend=s.backend, device=s.device,
                              precision=s.precision, threads=s.threads, hop=s.hop, lookahead=s.lookahead,
                              noise_output=noise)
        engine.set_bypass(s.bypass)
        engine.set_strength(s.strength)
        return engine

    def _attach(self, engine: LiveEngine) -> None:
        engine.scope = Scope(self._scope_seconds, engine.model_rate)   # before start(): see Scope
        self.engine = engine

    def run(self) -> None:
        message = ""
        try:
            if self.settings.source.kind == "device":
                message = self._run_devices()
            else:
                self._run_file()
        except RtDenoiseError as e:
            message = str(e)
        except Exception as e:            # anything else still reaches the window, in one line
            log.debug("session failed", exc_info=True)
            message = f"{type(e).__name__}: {e}"
        if message:
            log.error("%s", message)
        self._on_end(message)

    def _run_file(self) -> None:
        audio, rate = read_source(self.settings.source)
        engine = self._make_engine(rate, audio.shape[1], 1)
        self._attach(engine)
        started = threading.Event()

        def first_block(e: LiveEngine) -> None:
            if not started.is_set():
                started.set()
                self._on_engine(e)
        run_file(engine, audio, realtime=True, on_block=first_block, stop=self.stop_event)
        log.info("%s", engine.stats().summary())

    def _run_devices(self) -> str:
        s = self.settings
        with DeviceSession(self._make_engine, s.source.name or None, s.output, virtual_mic=s.virtual_mic,
                           before_start=self._attach) as session:
            self.virtual_mic_name = session.source_name
            assert session.engine is not None
            self._on_engine(session.engine)
            while session.active and not self.stop_event.wait(0.05):
                pass
            lost = not self.stop_event.is_set() and session.engine.error is None
        self.virtual_mic_name = None
        return STREAM_STOPPED if lost else ""


def list_audio_devices() -> tuple[list[str], list[str], str]:
    """(input device names, output device names, why there are none or ""): the pickers' contents.
    Names, not indices, because creating a virtual microphone renumbers PortAudio's devices."""
    try:
        found = devices.list_devices()
    except RtDenoiseError as e:
        return [], [], str(e)
    ins = [d.name for d in found if d.max_input > 0]
    outs = [d.name for d in found if d.max_output > 0]
    return ins, outs, "" if ins else devices.NO_SERVER_HINT


def model_names() -> list[str]:
    """Models reachable by name (the model pickers' contents), the shipped default first."""
    default = find_model(None).stem
    names = {p.stem for d in model_dirs() if d.is_dir() for p in d.glob("*.json")}
    return [default] + sorted(names - {default})


def model_latency(name: str | None) -> tuple[float | None, Callable[[int | None, int | None], bool]]:
    """Read from the model's config, without loading its weights: its own latency in ms if its
    family streams with one framing only (else None), and whether a (hop, look-ahead) preset fits
    it, as its family decides for ``rtdenoise live``: which latency presets to offer."""
    path = find_model(name)
    config = parse_config(path, read_config(path))
    family = of(config)

    def fits(hop: int | None, lookahead: int | None) -> bool:
        try:
            family.framing(config, hop, lookahead)
        except ParameterError:
            return False
        return True
    return (family.framing(config).latency_ms if family.fixed_framing else None), fits
