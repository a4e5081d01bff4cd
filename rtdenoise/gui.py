"""``rtdenoise gui``: a monitor window for the live engine.

What it shows: scrolling waveforms of the input, the output and the estimated noise (input minus
output) on one time axis, level meters, spectrograms of input and output, and a status line with
the backend, compute time per hop, real-time factor, latency, xruns and late hops, live. What it
controls: input and output devices, start/stop, bypass, suppression strength, latency preset, model,
backend and the virtual microphone.

How it is split, and why:

* A :class:`Session` thread owns one engine from start to stop: it builds the engine (loading a
  model takes seconds; the window must not freeze meanwhile), opens the devices through
  :class:`~rtdenoise.live.DeviceSession` (the same code as ``rtdenoise live``) or plays a file through
  :func:`~rtdenoise.live.run_file` at real-time pace, waits, and closes everything in order. Model,
  backend, latency and device changes need a new engine, so they restart the session.
* The window (GUI thread; :mod:`rtdenoise.gui_window`) never touches audio: a timer, at most 30
  times a second, takes what the inference thread wrote into the engine's
  :class:`~rtdenoise.live.Scope` since the last tick and draws it, each curve reduced to min/max per
  pixel first (:mod:`rtdenoise.gui_plots`). Bypass and strength go straight to the engine.
* This module imports no Qt: the command checks for a display and for PyQt5 first, so either
  missing is a one-line error, not an abort or a traceback.
* With no audio device (a fresh machine, a server) the window opens all the same, says so, and
  plays generated noisy speech (the demo's) through the engine as if from a microphone, so a
  newcomer sees it work.
"""
from __future__ import annotations

import argparse
import functools
import logging
import os
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from .errors import RtDenoiseError

if TYPE_CHECKING:
    from .live import LiveEngine

log = logging.getLogger(__name__)

FPS = 30                       # the most frames per second the window draws
VIEW_SECONDS = 5.0             # how much history the views show
# Latency presets: (hop, look-ahead) in samples at 16 kHz. Algorithmic latency is hop + look-ahead.
PRESETS: dict[str, tuple[int, int]] = {"low (32 ms)": (256, 256), "default (64 ms)": (512, 512),
                                       "safe (128 ms)": (1024, 1024)}
DEFAULT_PRESET = "default (64 ms)"
DEMO = "demo"                  # Source.kind of the generated noisy speech
NO_DISPLAY = ("no display to open a window on: run it in a desktop session, or set QT_QPA_PLATFORM=offscreen "
              "to run it headless")


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
    from .demo import make_example
    _, noisy = make_example()
    return noisy[:, None]


def read_source(source: Source) -> tuple[np.ndarray, int]:
    """The audio ([frames, channels]) and rate of a file or the demo source."""
    if source.kind == DEMO:
        from .config import SAMPLE_RATE
        return demo_speech(), SAMPLE_RATE
    from .audio import read_audio
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
        from .live import build_engine
        s = self.settings
        engine = build_engine(rate, cin, cout, model=s.model, backend=s.backend, device=s.device,
                              precision=s.precision, threads=s.threads, hop=s.hop, lookahead=s.lookahead,
                              noise_output=noise)
        engine.set_bypass(s.bypass)
        engine.set_strength(s.strength)
        return engine

    def _attach(self, engine: LiveEngine) -> None:
        from .live import Scope
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
        from .live import run_file
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
        from .live import DeviceSession
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
        return "the audio stream stopped: a device went away or the audio server stopped" if lost else ""


def list_audio_devices() -> tuple[list[str], list[str], str]:
    """(input device names, output device names, why there are none or ""): the pickers' contents.
    Names, not indices, because creating a virtual microphone renumbers PortAudio's devices."""
    from . import devices
    try:
        found = devices.list_devices()
    except RtDenoiseError as e:
        return [], [], str(e)
    ins = [d.name for d in found if d.max_input > 0]
    outs = [d.name for d in found if d.max_output > 0]
    return ins, outs, "" if ins else devices.NO_SERVER_HINT


def model_names() -> list[str]:
    """Models reachable by name (the model pickers' contents), the shipped default first."""
    from .pretrained import model_dirs, resolve
    default = resolve(None).stem
    names = {p.stem for d in model_dirs() if d.is_dir() for p in d.glob("*.json")}
    return [default] + sorted(names - {default})


def model_framing(name: str | None) -> tuple[int, int | None]:
    """The model's window in samples, and its fixed algorithmic latency if it has one (a spectral
    model), read without loading its weights: which latency presets fit."""
    from .config import config_from_dict
    from .errors import ModelError
    from .pretrained import read_config, resolve
    path = resolve(name)
    saved = read_config(path)
    try:
        cfg = config_from_dict(saved.get("model"), str(saved.get("family", "seed")))
    except ValueError as e:
        raise ModelError(f"{path}: {e}") from None
    return cfg.window, (cfg.latency if cfg.family == "spectral" else None)


def check_display() -> None:
    """Refuse, in one line, to start Qt where it would abort the interpreter: Linux with no display."""
    if sys.platform.startswith("linux") and not any(os.environ.get(v) for v in
                                                    ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
        raise RtDenoiseError(NO_DISPLAY)


# --- the command ----------------------------------------------------------------------------------

def add_arguments(p: argparse.ArgumentParser) -> None:
    from .cli import add_model_flags
    p.add_argument("-i", "--input", metavar="DEVICE", help="input device (part of its name); default: the system's")
    p.add_argument("-o", "--output", metavar="DEVICE", help="output device (part of its name); default: the system's")
    p.add_argument("--file", metavar="WAV", help="play this file through the engine, as live, instead of a microphone")
    p.add_argument("--demo", action="store_true", help="start with generated noisy speech (needs no audio device)")
    p.add_argument("--virtual-mic", action="store_true", help="send the clean audio to a new virtual microphone")
    p.add_argument("--lookahead", type=int, help="samples of future G sees, at 16 kHz (with --hop: a custom preset)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for G (default 1)")
    p.add_argument("--strength", type=float, default=1.0, help="0 (dry) .. 1 (fully denoised)")
    p.add_argument("--bypass", action="store_true", help="start bypassed")
    p.add_argument("--no-start", action="store_true", help="open the window without starting the engine")
    add_model_flags(p)


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The command line as the window's first settings; bad values fail here, in one line."""
    if not 0.0 <= args.strength <= 1.0:
        raise RtDenoiseError("--strength must be between 0 and 1")
    if args.file and not Path(args.file).is_file():
        raise RtDenoiseError(f"{args.file}: no such file")
    if args.file:
        source = Source("file", args.file)
    elif args.demo:
        source = Source(DEMO, DEMO)
    else:
        source = Source("device", args.input or "")
    return Settings(source=source, output=args.output, virtual_mic=args.virtual_mic, model=args.model,
                    backend=args.backend, device=args.device, precision=args.precision, threads=args.threads,
                    hop=args.hop, lookahead=args.lookahead, bypass=args.bypass, strength=args.strength)


def main(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if settings.source.kind == "file":
        read_source(settings.source)          # an unreadable file is a one-line error, before any window
    model_framing(settings.model)             # so is an unknown model
    check_display()
    try:
        from PyQt5 import QtWidgets
        from .gui_window import MonitorWindow
    except ImportError as e:
        raise RtDenoiseError(f"the GUI needs PyQt5 and pyqtgraph ({e}): pip install 'rtdenoise[gui]'") from None
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([sys.argv[0]])
    window = MonitorWindow(settings, autostart=not args.no_start)
    # Ctrl-C and SIGTERM close the window as its close button does (engine stopped, virtual microphone
    # removed). Python runs the handler at the window's next timer tick, since Qt's loop is C++.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: window.close())
    window.show()
    app.exec_()
    return 0
