"""Flags that several commands share: which model, how it runs, and how it is framed.

Kept apart from :mod:`rtdenoise.cli` so that a command module can import them without importing
the command table (and the table need not import any command until one is chosen).
"""
from __future__ import annotations

import argparse

#: What ``--hop`` means, per command: offline tools overlap windows, live tools stream hops.
HOP_HELP = {
    "offline": "seed-family models: samples between overlapping windows (default: a quarter window); "
               "spectral models run their own hop",
    "live": "samples at 16 kHz between live hops (default 512: 32 ms); spectral models run their own hop (256)",
}


def add_model_flags(p: argparse.ArgumentParser, hop: str = "offline", threads: bool = False) -> argparse._ArgumentGroup:
    """The model group: ``-m/--model``, ``--backend``, ``--precision``, ``--device``, ``--hop`` (with the
    help of ``hop``: "offline" or "live") and, with ``threads``, ``--threads`` for G. Returns the group."""
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
    g.add_argument("--hop", type=int, default=None, help=HOP_HELP[hop])
    if threads:
        g.add_argument("--threads", type=int, default=1,
                       help="CPU threads for G, torch or onnx (default 1: steadier under load than 2 on a 2-core machine)")
    return g


def at_least(flag: str, value: float | None, minimum: float, maximum: float | None = None) -> None:
    """A numeric flag's range check, as a one-line error naming the flag (None: not given)."""
    from .errors import RtDenoiseError
    if value is None:
        return
    if value != value or value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum:g} and {maximum:g}" if maximum is not None else f"at least {minimum:g}"
        raise RtDenoiseError(f"{flag} must be {bound}, got {value:g}")
