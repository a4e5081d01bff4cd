"""The ``rtdenoise`` command: one subcommand per tool module, shared model flags, one-line errors.

Each tool module (``enhance``, ``evaluate``, ``train``, ``demo``) defines ``add_arguments(parser)``
and ``main(args)``; ``rtdenoise TOOL``, ``python -m rtdenoise TOOL`` and ``python main.py TOOL`` all
come here.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
from types import ModuleType
from typing import Sequence

from . import __version__
from .errors import RtDenoiseError

TOOLS = {
    "devices": ("devices", "list audio devices with their rates and channels"),
    "live": ("live", "denoise a microphone live, to speakers, a virtual microphone or files"),
    "gui": ("gui", "a window: live waveforms, spectrograms, levels and controls of the engine (needs rtdenoise[gui])"),
    "demo": ("demo", "make noisy speech with no data files, denoise it, write WAVs, a spectrogram and metrics"),
    "enhance": ("enhance", "denoise audio files or folders"),
    "eval": ("evaluate", "PESQ, STOI and SI-SDR of the noisy input and a model on validation mixtures or pairs"),
    "bench": ("bench", "rtdenoise and its peers (RNNoise, DeepFilterNet3, spectral gating): quality and speed, one run"),
    "train": ("train", "train the GAN (G, CD, ND) on speech and noise recordings"),
}


def add_model_flags(p: argparse.ArgumentParser) -> None:
    """Flags every tool that runs a model shares."""
    g = p.add_argument_group("model")
    g.add_argument("-m", "--model", default=None,
                   help="model name (in models/) or path to its .json/.safetensors; default: the shipped default")
    g.add_argument("--backend", default="auto", choices=("auto", "cuda", "onnx", "torch"),
                   help="how G runs: cuda (GPU, CUDA graph), onnx (ONNX Runtime, CPU), torch (eager); "
                        "default: cuda if there is a GPU, else onnx")
    g.add_argument("--precision", default="auto", choices=("auto", "fp32", "int8", "fp16", "bf16"),
                   help="onnx: int8 (default) or fp32; cuda: fp32 (default), fp16 or bf16; torch: fp32")
    g.add_argument("--device", default=None, help="torch device, e.g. cpu or cuda (default: the backend's)")
    g.add_argument("--hop", type=int, default=None,
                   help="samples between overlapping windows (default: a quarter window)")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s", stream=sys.stderr)
    for noisy in ("numba", "matplotlib", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _run(module: ModuleType, args: argparse.Namespace) -> int:
    _setup_logging(getattr(args, "verbose", False))
    try:
        return int(module.main(args) or 0)
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
    for name, (module_name, help_text) in TOOLS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("-v", "--verbose", action="store_true", help="more log output")
        if name == chosen:
            module = importlib.import_module(f".{module_name}", __package__)
            module.add_arguments(p)
    args = parser.parse_args(argv)
    assert module is not None
    return _run(module, args)
