"""What a model's files are on disk: the JSON's format tag, file checksums and graph names.

A leaf, so that reading a model (:mod:`rtdenoise.model.pretrained`) and writing one
(:mod:`rtdenoise.model.weights`) share these without importing each other.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

FORMAT = "rtdenoise-model/1"


def sha256(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MB blocks: how every file of a model is checked."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def graph_key(precision: str, tail: int | None = None) -> str:
    """How a graph is named in a model's JSON: its precision, and for a seed-family graph that
    computes only a stream's output tail, that tail (``int8-tail1024``)."""
    return precision if tail is None else f"{precision}-tail{tail}"
