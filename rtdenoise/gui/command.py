"""``rtdenoise gui``: a monitor window for the live engine (see :mod:`rtdenoise.gui.controller`)."""
from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from ..errors import RtDenoiseError
from ..options import add_model_flags
from ..signal.streaming import check_strength
from .controller import DEMO, Settings, Source, model_latency, read_source

NO_DISPLAY = ("no display to open a window on: run it in a desktop session, or set QT_QPA_PLATFORM=offscreen "
              "to run it headless")


def check_display() -> None:
    """Refuse, in one line, to start Qt where it would abort the interpreter: Linux with no display."""
    if sys.platform.startswith("linux") and not any(os.environ.get(v) for v in
                                                    ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
        raise RtDenoiseError(NO_DISPLAY)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-i", "--input", metavar="DEVICE", help="input device (part of its name); default: the system's")
    p.add_argument("-o", "--output", metavar="DEVICE", help="output device (part of its name); default: the system's")
    p.add_argument("--file", metavar="WAV", help="play this file through the engine, as live, instead of a microphone")
    p.add_argument("--demo", action="store_true", help="start with generated noisy speech (needs no audio device)")
    p.add_argument("--virtual-mic", action="store_true", help="send the clean audio to a new virtual microphone")
    p.add_argument("--lookahead", type=int, help="samples of future G sees, at 16 kHz (with --hop: a custom preset)")
    p.add_argument("--strength", type=float, default=1.0, help="0 (dry) .. 1 (fully denoised)")
    p.add_argument("--bypass", action="store_true", help="start bypassed")
    p.add_argument("--no-start", action="store_true", help="open the window without starting the engine")
    add_model_flags(p, hops=("stream",), threads=True)


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The command line as the window's first settings; bad values fail here, in one line."""
    check_strength(args.strength)
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
    model_latency(settings.model)             # so is an unknown model
    check_display()
    try:
        from PyQt5 import QtWidgets
        from .window import MonitorWindow
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
