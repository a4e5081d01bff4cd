"""Flags that several commands share: which model, how it runs, how it streams, and its controls.

Kept apart from :mod:`rtdenoise.cli` so that a command module can import them without importing
the command table (and the table need not import any command until one is chosen). Each flag is
the library's parameter of the same name (``--overlap-hop`` is ``overlap_hop``), so an error the
library raises about a parameter reaches the user spelled as the flag they typed
(:func:`rtdenoise.cli.main`).

Two hops, two names: ``--overlap-hop`` is offline enhancement's hop between overlapping windows
(seed family; default a quarter window), ``--hop`` is a live stream's hop (how often the
generator runs, and so part of the latency).
"""
from __future__ import annotations

import argparse

OVERLAP_HOP_HELP = ("seed-family models: samples between overlapping windows offline (default: a quarter "
                    "window); spectral models run their own hop")
STREAM_HOP_HELP = ("samples at the model's rate between live hops (seed family: default 512, 32 ms at 16 kHz); "
                   "spectral models run their own hop (256)")


def add_model_flags(p: argparse.ArgumentParser, hops: tuple[str, ...] = ("overlap",),
                    threads: bool = False) -> argparse._ArgumentGroup:
    """The model group: ``-m/--model``, ``--backend``, ``--precision``, ``--device``, the hops the
    command uses (``overlap``: ``--overlap-hop``; ``stream``: ``--hop``) and, with ``threads``,
    ``--threads`` for G. Returns the group."""
    g = p.add_argument_group("model")
    g.add_argument("-m", "--model", default=None,
                   help="model name (in models/) or path to its .json/.safetensors; default: the shipped default")
    g.add_argument("--backend", default="auto", choices=("auto", "cuda", "onnx", "torch"),
                   help="how G runs: cuda (GPU, CUDA graph), onnx (ONNX Runtime, CPU), torch (eager); "
                        "default: cuda if there is a GPU, else onnx")
    g.add_argument("--precision", default="auto", choices=("auto", "fp32", "int8", "fp16", "bf16"),
                   help="onnx: int8 (default for the seed family) or fp32 (default for the spectral family); "
                        "cuda: fp32 (default), fp16 or bf16; torch: fp32")
    g.add_argument("--device", default=None, help="torch device, e.g. cpu or cuda (default: the backend's)")
    if "overlap" in hops:
        g.add_argument("--overlap-hop", type=int, default=None, help=OVERLAP_HOP_HELP)
    if "stream" in hops:
        g.add_argument("--hop", type=int, default=None, help=STREAM_HOP_HELP)
    if threads:
        g.add_argument("--threads", type=int, default=1,
                       help="CPU threads for G, torch or onnx (default 1: steadier under load than 2 on a 2-core machine)")
    return g


def add_control_flags(g: "argparse.ArgumentParser | argparse._ArgumentGroup") -> None:
    """``--strength`` and ``--atten-limit``: how much of what G removes is removed, live and offline alike."""
    g.add_argument("--strength", type=float, default=1.0, help="0 (dry) .. 1 (fully denoised)")
    g.add_argument("--atten-limit", type=float, metavar="DB", help="remove at most this many dB of noise")


def flag(name: str) -> str:
    """The flag that carries the library's parameter ``name``."""
    return "--" + name.replace("_", "-")
