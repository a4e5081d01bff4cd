"""The ``rtdenoise`` command: one subcommand per command module, imported only when chosen.

Each command module defines ``add_arguments(parser)`` and ``main(args)``; ``rtdenoise COMMAND``,
``python -m rtdenoise COMMAND`` and ``python main.py COMMAND`` all come here. Only the chosen
command's module is imported (``rtdenoise --help`` and ``rtdenoise devices`` import no model
library), and an :class:`~rtdenoise.errors.RtDenoiseError` becomes one ``rtdenoise: error:`` line
(a :class:`~rtdenoise.errors.ParameterError` with its parameter spelled as the flag that set it).
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
from types import ModuleType
from typing import Sequence

from . import __version__
from .errors import ParameterError, RtDenoiseError

COMMANDS = {
    "devices": ("live.devices", "list audio devices with their rates and channels"),
    "live": ("live.command", "denoise a microphone live, to speakers, a virtual microphone or files"),
    "gui": ("gui.command", "a window: live waveforms, spectrograms, levels and controls of the engine (needs rtdenoise[gui])"),
    "demo": ("tools.demo", "make noisy speech with no data files, denoise it, write WAVs, a spectrogram and metrics"),
    "enhance": ("tools.enhance", "denoise audio files or folders"),
    "eval": ("evaluation.command", "PESQ, STOI and SI-SDR of the noisy input and a model on the validation groups or pairs"),
    "bench": ("bench.command", "rtdenoise and its peers (RNNoise, DeepFilterNet3, spectral gating): quality and speed, one run"),
    "train": ("training.command", "train a generator of either family in the GAN (G, CD, ND) on speech and noise recordings"),
}


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s", stream=sys.stderr)
    for noisy in ("numba", "matplotlib", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _run(module: ModuleType, args: argparse.Namespace) -> int:
    _setup_logging(getattr(args, "verbose", False))
    try:
        return int(module.main(args) or 0)
    except ParameterError as e:                  # named as the library knows it: say the flag
        from .options import flag
        print(f"rtdenoise: error: {e.spelled(flag(e.name))}", file=sys.stderr)
        return 1
    except RtDenoiseError as e:
        print(f"rtdenoise: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("rtdenoise: interrupted", file=sys.stderr)
        return 130


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
