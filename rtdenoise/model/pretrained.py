"""Saving and loading generator weights: safetensors plus a JSON config, never a pickle.

A model is two files side by side: ``NAME.safetensors`` (weights, fp32 or fp16) and ``NAME.json``
(the generator family, its architecture and sample rate, the SHA-256 of the weights file, and
free-form training metadata). The checksum turns a truncated or swapped weights file into a clear
error instead of a model that silently produces garbage. A JSON without ``family`` is the seed
family's (every model saved before the spectral family existed).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .config import config_from_dict
from ..errors import ModelError
from .seed import NoiseCanceler
from .spectral import SpectralCanceler

log = logging.getLogger(__name__)

FORMAT = "rtdenoise-model/1"
DEFAULT_MODEL = "rtdenoise-small"

#: A generator of either family.
Generator = NoiseCanceler | SpectralCanceler
GENERATORS: dict[str, type] = {"seed": NoiseCanceler, "spectral": SpectralCanceler}


def build_generator(config) -> Generator:
    """A freshly initialised generator for ``config`` (either family's config dataclass)."""
    return GENERATORS[config.family](config)


def model_dirs() -> list[Path]:
    """Where named models are looked up, in order: ``$RTDENOISE_MODELS``, the checkout's ``models/``,
    and ``<prefix>/share/rtdenoise/models`` where an installed (non-editable) package puts them."""
    dirs = []
    if os.environ.get("RTDENOISE_MODELS"):
        dirs.append(Path(os.environ["RTDENOISE_MODELS"]))
    dirs.append(Path(__file__).resolve().parents[2] / "models")
    dirs.append(Path(sys.prefix) / "share" / "rtdenoise" / "models")
    return dirs


def find_model(model: str | os.PathLike[str] | None = None) -> Path:
    """The ``.json`` config of a model given by name (``rtdenoise-small``), by either of its two
    files, or by their common stem. ``None`` means the default model."""
    name = str(model) if model is not None else DEFAULT_MODEL
    p = Path(name)
    for candidate in (p, p.with_suffix(".json"), Path(name + ".json")):
        if candidate.suffix == ".json" and candidate.is_file():
            return candidate
    if p.suffix == ".safetensors" and p.with_suffix(".json").is_file():
        return p.with_suffix(".json")
    if p.parent == Path(".") and not p.suffix:
        for d in model_dirs():
            if (d / f"{name}.json").is_file():
                return d / f"{name}.json"
    known = sorted({f.stem for d in model_dirs() if d.is_dir() for f in d.glob("*.json")})
    raise ModelError(f"model {name!r} not found (known models: {', '.join(known) or 'none'})")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_model(model: Generator, path: str | os.PathLike[str], metadata: dict[str, Any] | None = None,
               half: bool = False) -> Path:
    """Write ``path`` (.safetensors) and its .json config; returns the .json path. ``half`` stores fp16
    (half the size; the loader casts back to fp32)."""
    weights = Path(path).with_suffix(".safetensors")
    weights.parent.mkdir(parents=True, exist_ok=True)
    dtype = torch.float16 if half else torch.float32
    tensors = {k: v.detach().to("cpu", dtype).contiguous() for k, v in model.state_dict().items()}
    tmp = weights.with_name(weights.name + ".tmp")
    save_file(tensors, str(tmp))
    os.replace(tmp, weights)
    config = {
        "format": FORMAT,
        "weights": weights.name,
        "sha256": sha256(weights),
        "dtype": str(dtype).removeprefix("torch."),
        "family": model.config.family,
        "model": model.config.to_dict(),
        "metadata": metadata or {},
    }
    cfg_path = weights.with_suffix(".json")
    cfg_path.write_text(json.dumps(config, indent=2) + "\n")
    return cfg_path


def read_config(path: Path) -> dict[str, Any]:
    try:
        config = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelError(f"{path}: not a readable model config ({e.__class__.__name__})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelError(f"{path}: not an rtdenoise model config (format {FORMAT!r} expected)")
    return config


def load_model(model: str | os.PathLike[str] | None = None, device: str | torch.device | None = None) -> Generator:
    """Load a generator of either family by name or path, checked against its checksum, in
    inference mode.

    ``device`` defaults to CUDA when available, else the CPU.
    """
    cfg_path = find_model(model)
    config = read_config(cfg_path)
    weights = cfg_path.parent / str(config.get("weights", ""))
    if not weights.is_file():
        raise ModelError(f"{cfg_path}: weights file {weights.name} is missing")
    if sha256(weights) != config.get("sha256"):
        raise ModelError(f"{weights}: checksum mismatch (file corrupt or replaced)")
    try:
        arch = config_from_dict(config.get("model"), str(config.get("family", "seed")))
    except ValueError as e:
        raise ModelError(f"{cfg_path}: not a valid model config ({str(e).splitlines()[0][:200]})") from None
    try:
        net = build_generator(arch)
        state = load_file(str(weights))
        net.load_state_dict({k: v.float() for k, v in state.items()})
    except (KeyError, TypeError, ValueError, RuntimeError, SafetensorError) as e:
        raise ModelError(f"{cfg_path}: weights do not match the config ({str(e).splitlines()[0][:200]})") from None
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    net.to(device).eval().requires_grad_(False)
    net.metadata = config.get("metadata", {})
    net.source = cfg_path
    log.info("loaded %s (%s) on %s", cfg_path.stem, cfg_path, device)
    return net
