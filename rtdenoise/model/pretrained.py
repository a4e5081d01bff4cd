"""Finding and loading models: a JSON config beside safetensors weights and ONNX graphs, never a pickle.

A model is a few files side by side: ``NAME.json`` (the generator family, its architecture and
sample rate, the SHA-256 of every other file, and free-form training metadata), ``NAME.safetensors``
(weights, fp32 or fp16) and, for shipped models, ``NAME.KEY.onnx`` graphs exported from those
weights (``graphs`` in the JSON; :func:`rtdenoise.families.runtime.ship_graphs`). The checksums turn a
truncated or swapped file into a clear error instead of a model that silently produces garbage. A
JSON without ``family`` is the seed family's (every model saved before the spectral family existed).

This module needs no PyTorch. With torch installed, :func:`load_model` gives the torch module
(:mod:`rtdenoise.model.weights`); without it, a :class:`GraphModel`, which runs on the shipped
graphs through ONNX Runtime: the light install.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import ModelError
from .config import AnyConfig, config_from_dict
from .format import FORMAT, sha256
from .upper_band import UpperBandFile, read_upper_band

log = logging.getLogger(__name__)

DEFAULT_MODEL = "rtdenoise-spectral"
#: The int8 calibration clip for the seed family (see :mod:`rtdenoise.model.export`), beside the models.
CALIBRATION_FILE = "calibration.flac"
#: What to install for anything that needs PyTorch.
NEEDS_TORCH = "pip install 'rtdenoise[gpu]'"


@functools.lru_cache(maxsize=1)
def torch_module() -> ModuleType | None:
    """PyTorch if it is installed (imported on first need: it takes seconds), else None."""
    try:
        import torch
    except ImportError:
        return None
    return torch


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
    if p.suffix == ".onnx":
        # A shipped graph (NAME.KEY.onnx) is one way to run a model, not the model: its JSON says
        # which graph fits which backend and precision.
        owner = p.with_name(p.name.split(".")[0] + ".json")
        instead = (f"give its model, {owner} (or {owner.stem}), and --backend onnx" if owner.is_file()
                   else "give the model's .json or name, and --backend onnx")
        raise ModelError(f"{name}: an ONNX graph is not a model by itself: {instead}")
    if p.parent == Path(".") and not p.suffix:
        for d in model_dirs():
            if (d / f"{name}.json").is_file():
                return d / f"{name}.json"
    known = sorted({f.stem for d in model_dirs() if d.is_dir() for f in d.glob("*.json")})
    raise ModelError(f"model {name!r} not found (known models: {', '.join(known) or 'none'})")


def calibration_file() -> Path:
    """The calibration clip that travels with the models, or a one-line error (a
    :class:`~rtdenoise.errors.ModelError`) saying where it was looked for."""
    for d in model_dirs():
        if (d / CALIBRATION_FILE).is_file():
            return d / CALIBRATION_FILE
    raise ModelError(f"{CALIBRATION_FILE} not found next to the models ({', '.join(map(str, model_dirs()))}); "
                     "use --precision fp32")


def read_config(path: Path) -> dict[str, Any]:
    try:
        config = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelError(f"{path}: not a readable model config ({e.__class__.__name__})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelError(f"{path}: not an rtdenoise model config (format {FORMAT!r} expected)")
    return config


def parse_config(path: Path, saved: dict[str, Any]) -> AnyConfig:
    """The architecture in a model's JSON, or a one-line refusal naming what is wrong."""
    try:
        return config_from_dict(saved.get("model"), str(saved.get("family", "seed")))
    except ValueError as e:
        raise ModelError(f"{path}: not a valid model config ({str(e).splitlines()[0][:200]})") from None


@dataclass(eq=False)
class Graphs:
    """The ONNX graphs shipped beside a model's weights, each checked against its checksum the
    first time it is used."""

    folder: Path
    entries: dict[str, dict[str, str]] = field(default_factory=dict)
    _checked: set[str] = field(default_factory=set)

    def get(self, key: str) -> Path | None:
        """The graph named ``key`` (see :func:`graph_key`), checked; None if none ships."""
        entry = self.entries.get(key)
        if entry is None:
            return None
        path = self.folder / str(entry.get("file", ""))
        if key not in self._checked:
            if not path.is_file():
                raise ModelError(f"{path}: the model's {key} graph is missing")
            if sha256(path) != entry.get("sha256"):
                raise ModelError(f"{path}: checksum mismatch (file corrupt or replaced)")
            self._checked.add(key)
        return path

    def __contains__(self, key: str) -> bool:
        return key in self.entries


def shipped_graphs(path: Path, saved: dict[str, Any]) -> Graphs:
    entries = saved.get("graphs") or {}
    if not isinstance(entries, dict) or not all(isinstance(v, dict) for v in entries.values()):
        raise ModelError(f"{path}: 'graphs' must map names to {{file, sha256}}")
    return Graphs(path.parent, entries)


@dataclass(eq=False)
class GraphModel:
    """A model as an install without PyTorch loads it: its config, its metadata and the graphs
    shipped beside its weights. It runs on the onnx backend only."""

    config: AnyConfig
    source: Path
    metadata: dict[str, Any]
    graphs: Graphs
    upper_band: UpperBandFile | None = None

    def __repr__(self) -> str:
        return f"GraphModel({self.source.stem}, {type(self.config).family} family, graphs: {', '.join(self.graphs.entries)})"


def load_model(model: str | os.PathLike[str] | None = None, device: Any = None) -> Any:
    """Load a model of either family by name or path, every file checked against its checksum.

    With PyTorch installed: the torch module in inference mode on ``device`` (default: CUDA when
    there is a GPU, else the CPU), with ``graphs`` attached. Without it: a :class:`GraphModel`."""
    cfg_path = find_model(model)
    saved = read_config(cfg_path)
    arch = parse_config(cfg_path, saved)
    graphs = shipped_graphs(cfg_path, saved)
    if torch_module() is None:
        if device is not None and str(device).split(":")[0] != "cpu":
            raise ModelError(f"device {device} needs PyTorch: {NEEDS_TORCH}")
        if not graphs.entries:
            raise ModelError(f"{cfg_path}: no ONNX graph ships with this model, and exporting one needs PyTorch: "
                             f"{NEEDS_TORCH}")
        log.info("loaded %s (%s): its shipped ONNX graphs, without PyTorch", cfg_path.stem, cfg_path)
        return GraphModel(arch, cfg_path, saved.get("metadata", {}), graphs, shipped_upper_band(cfg_path, saved))
    from .weights import load_weights
    net = load_weights(cfg_path, saved, arch, device)
    net.graphs = graphs
    net.upper_band = shipped_upper_band(cfg_path, saved)
    return net


def model_files(saved: dict[str, Any]) -> list[str]:
    """Every file a model's JSON names beside it: its weights, its graphs and its upper-band head."""
    head = saved.get("upper_band") or {}
    return [str(saved.get("weights", "")), *(str(g.get("file", "")) for g in (saved.get("graphs") or {}).values()),
            *([str(head["file"])] if isinstance(head, dict) and "file" in head else [])]


def shipped_upper_band(path: Path, saved: dict[str, Any]) -> UpperBandFile | None:
    """The learned head of the band above a spectral model's Nyquist that its JSON names
    (``upper_band``: file and checksum; :mod:`rtdenoise.model.upper_band`), checked; None if none."""
    entry = saved.get("upper_band")
    if entry is None:
        return None
    head = path.parent / str(entry.get("file", "")) if isinstance(entry, dict) else None
    if head is None or not head.is_file():
        raise ModelError(f"{path}: its upper-band head {head.name if head else repr(entry)} is missing")
    if sha256(head) != entry.get("sha256"):
        raise ModelError(f"{head}: checksum mismatch (file corrupt or replaced)")
    return read_upper_band(head)
