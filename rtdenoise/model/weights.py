"""Generator weights on the torch side: building either family's module, saving it, loading it.

safetensors plus the JSON of :mod:`rtdenoise.model.pretrained`, never a pickle. Needs PyTorch
(the ``gpu`` or ``train`` extra); an install without it runs the graphs that ship beside the weights.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..errors import ModelError
from .config import AnyConfig
from .format import FORMAT, sha256
from .seed import NoiseCanceler
from .spectral import SpectralCanceler

log = logging.getLogger(__name__)

#: A generator of either family.
Generator = NoiseCanceler | SpectralCanceler
GENERATORS: dict[str, type] = {"seed": NoiseCanceler, "spectral": SpectralCanceler}


def build_generator(config: AnyConfig) -> Generator:
    """A freshly initialised generator for ``config`` (either family's config dataclass)."""
    return GENERATORS[config.family](config)


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


def load_weights(cfg_path: Path, saved: dict[str, Any], arch: AnyConfig, device: Any = None) -> Generator:
    """The torch module of ``arch`` with the weights ``saved`` names, checked by checksum, in
    inference mode on ``device`` (default: CUDA when there is a GPU, else the CPU)."""
    weights = cfg_path.parent / str(saved.get("weights", ""))
    if not weights.is_file():
        raise ModelError(f"{cfg_path}: weights file {weights.name} is missing")
    if sha256(weights) != saved.get("sha256"):
        raise ModelError(f"{weights}: checksum mismatch (file corrupt or replaced)")
    try:
        net = build_generator(arch)
        state = load_file(str(weights))
        net.load_state_dict({k: v.float() for k, v in state.items()})
    except (KeyError, TypeError, ValueError, RuntimeError, SafetensorError) as e:
        raise ModelError(f"{cfg_path}: weights do not match the config ({str(e).splitlines()[0][:200]})") from None
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    net.to(device).eval().requires_grad_(False)
    net.metadata = saved.get("metadata", {})
    net.source = cfg_path
    log.info("loaded %s (%s) on %s", cfg_path.stem, cfg_path, device)
    return net
