"""The ``rtdenoise`` command: one subcommand per command module, imported only when chosen.

Each command module defines ``add_arguments(parser)`` and ``main(args)``; ``rtdenoise COMMAND``,
``python -m rtdenoise COMMAND`` and ``python main.py COMMAND`` all come here. Only the chosen
command's module is imported (``rtdenoise --help`` and ``rtdenoise devices`` import no model
library), and an :class:`~rtdenoise.errors.RtDenoiseError` becomes one ``rtdenoise: error:`` line
(a :class:`~rtdenoise.errors.ParameterError` with its parameter spelled as the flag that set it).
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import signal
import sys
import threading
from types import ModuleType
from typing import Any, Iterator, Sequence

from . import __version__
from .errors import ParameterError, RtDenoiseError

COMMANDS = {
    "devices": ("live.devices", "list audio devices with their rates and channels"),
    "live": ("live.command", "denoise a microphone live, to speakers, a virtual microphone or files"),
    "service": ("live.service", "the clean virtual microphone at every login: a systemd user service (install, uninstall, status, logs)"),
    "gui": ("gui.command", "a window: live waveforms, spectrograms, levels and controls of the engine (needs rtdenoise[gui])"),
    "demo": ("tools.demo", "make noisy speech with no data files, denoise it, write WAVs, a spectrogram and metrics"),
    "enhance": ("tools.enhance", "denoise audio files or folders"),
    "eval": ("evaluation.command", "PESQ, STOI and SI-SDR of the noisy input and a model on the validation groups or pairs"),
    "bench": ("bench.command", "rtdenoise and its peers (RNNoise, DeepFilterNet3, spectral gating): quality and speed, one run"),
    "train": ("training.command", "train a generator of either family in the GAN (G, CD, ND) on speech and noise recordings"),
    "train-upper": ("training.upper_band", "learn a spectral model's band above 8 kHz (for 32 and 48 kHz audio) beside the model, frozen"),
}


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s", stream=sys.stderr)
    for noisy in ("numba", "matplotlib", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    """Ctrl-C and SIGTERM both stop any command cleanly, as a KeyboardInterrupt: files being written
    are removed, streams stopped, a virtual microphone unloaded. SIGINT is set explicitly: a process
    started in the background by a shell inherits it ignored, and then Python would never raise
    KeyboardInterrupt. The previous handlers come back afterwards (for callers of :func:`main`)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def _run(module: ModuleType, args: argparse.Namespace) -> int:
    _setup_logging(getattr(args, "verbose", False))
    try:
        with _stop_on_signals():
            return int(module.main(args) or 0)
    except ParameterError as e:                  # named as the library knows it: say the flag
        from .options import flag
        print(f"rtdenoise: error: {e.spelled(flag(e.name))}", file=sys.stderr)
        return 1
    except RtDenoiseError as e:
        print(f"rtdenoise: error: {e}", file=sys.stderr)
        if e.exit_at_once:
            sys.stderr.flush()
            os._exit(1)
        return 1
    except KeyboardInterrupt:
        print("rtdenoise: interrupted", file=sys.stderr)
        return 130


def parser_for(name: str) -> argparse.ArgumentParser:
    """The parser of one command, as ``rtdenoise NAME`` parses its options: for a command that
    checks another's options ahead of time (``service install`` checks live's)."""
    module_name, help_text = COMMANDS[name]
    p = argparse.ArgumentParser(prog=f"rtdenoise {name}", description=help_text)
    p.add_argument("-v", "--verbose", action="store_true", help="more log output")
    importlib.import_module(f".{module_name}", __package__).add_arguments(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="rtdenoise", description="Real-time speech denoising with a GAN (SEGAN + noise discriminator).")
    parser.add_argument("--version", action="version", version=f"rtdenoise {__version__}")
    sub = parser.add_subparsers(dest="tool", metavar="COMMAND", required=True)
    # Only the chosen tool's module is imported: `live` should not wait for training's imports.
    chosen = next((a for a in argv if not a.startswith("-")), None)
    module = None
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("-v", "--verbose", action="store_true", help="more log output")
        if name == chosen:
            module = importlib.import_module(f".{module_name}", __package__)
            module.add_arguments(p)
    args = parser.parse_args(argv)
    assert module is not None
    return _run(module, args)
