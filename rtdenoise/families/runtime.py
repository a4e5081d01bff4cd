"""A model's generator made runnable: its backend built by its family, once per model object; a
model opened by name with its framing decided before its weights load; its graphs shipped.

What every command's shared ``--model/--backend/--device/--precision`` flags mean
(:func:`open_model`), and what the stream, offline enhancement, eval and bench ask for a backend
(:func:`for_model`).
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import weakref
from dataclasses import dataclass
from typing import Any

from ..errors import BackendError
from ..model import backends, graphs
from ..model.backends import Backend
from ..model.format import graph_key, sha256
from ..model.framing import StreamConfig
from ..model.pretrained import NEEDS_TORCH, find_model, load_model, parse_config, read_config, torch_module
from .registry import of

log = logging.getLogger(__name__)


def build(model: Any, name: str | None = "auto", threads: int | None = None,
          precision: str | None = "auto", tail: int | None = None) -> Backend:
    """``model``'s generator on backend ``name`` (see :mod:`rtdenoise.model.backends`), as its
    family builds it. ``threads``: CPU threads for onnx (default: every core, or torch's setting).
    ``tail``: return only the last ``tail`` samples of each window (a family whose stream reads
    less than the whole generator output)."""
    family = of(model)
    name = backends.choose(name, backends.device_of(model))
    if name != "onnx" and not hasattr(model, "parameters"):
        raise BackendError(f"backend {name} needs the model's weights in PyTorch: {NEEDS_TORCH}")
    return family.build_backend(model, name, threads, family.resolve_precision(name, precision), tail)


_built: "weakref.WeakKeyDictionary[Any, dict[tuple, Backend]]" = weakref.WeakKeyDictionary()


def for_model(model: Any, name: "str | Backend | None" = "auto", threads: int | None = None,
              precision: str | None = "auto", tail: int | None = None) -> Backend:
    """:func:`build`, remembered per model object, so repeated ``enhance`` calls reuse one session.
    A plain window function (tests, custom models) passes through as it is, and so does a ready
    :class:`Backend` as ``name``, except that one computing more than ``tail`` is rebuilt alike
    with ``tail`` (the stream asks; the caller need not know).

    Why per object: building an ONNX session hashes every weight and loads the graph (a fraction of
    a second for small models, more for the seed preset); weights changed in place afterwards (as
    in training, which uses ``torch``) need a fresh model object or :func:`build`."""
    family = of(model)
    if isinstance(name, Backend):
        if tail is None or name.tail == tail or name.name not in backends.BACKENDS or name.stateful:
            return name
        name, threads, precision = name.name, name.threads, name.precision
    if family is None or (hasattr(model, "parameters") and not _is_generator(model)):
        if hasattr(model, "parameters"):              # a stand-in torch module (tests): eager only
            return Backend("torch", backends.torch_fn(model), "torch (custom module)")
        return Backend("custom", model, "custom function")
    backend = backends.choose(name, backends.device_of(model))
    tail = None if tail == getattr(model.config, "window", None) else tail
    key = (backend, threads or backends.default_threads(), family.resolve_precision(backend, precision), tail)
    per_model = _built.setdefault(model, {})
    if key not in per_model:
        per_model[key] = build(model, *key)
    return per_model[key]


def _is_generator(model: Any) -> bool:
    """Whether a torch module is one of the families' generators (not a stand-in)."""
    from ..model.weights import GENERATORS
    return isinstance(model, tuple(GENERATORS.values()))


@dataclass
class OpenModel:
    """A model ready to run: the model, its backend, and the framing it streams with."""

    model: Any
    backend: Backend
    framing: StreamConfig


def open_model(model: str | None = None, backend: str | None = "auto", device: str | None = None,
               threads: int | None = None, precision: str | None = "auto", *, hop: int | None = None,
               lookahead: int | None = None, rate: int | None = None, stream: bool = False) -> OpenModel:
    """Load a model by name or path onto the device its backend needs, and build that backend.

    The framing (the user's ``hop`` and ``lookahead``, checked, for audio at ``rate``: the model
    runs at the family's :meth:`~rtdenoise.families.base.Family.stream_rate` for it) is decided
    from the model's config before its weights load, so a bad value costs no loading; with
    ``stream`` the backend computes only what a stream at that framing reads."""
    name = backends.choose(backend, device)
    if device is not None and backends.device_type(device) != backends.model_device(name):
        raise BackendError(f"backend {name} runs on {backends.model_device(name)}, not on device {device}")
    path = find_model(model)
    config = parse_config(path, read_config(path))
    family = of(config)
    framing = family.framing(config, hop, lookahead, None if rate is None else family.stream_rate(config, rate))
    net = load_model(path, backends.model_device(name) if torch_module() is not None else None)
    tail = of(net).stream_tail(framing) if stream else None
    chosen = for_model(net, name, threads, precision, tail)
    log.info("backend: %s", chosen.label)
    return OpenModel(net, chosen, framing)


def ship_graphs(model: str | os.PathLike[str], wanted: list[tuple[str, int | None]] | None = None) -> dict[str, dict]:
    """Export a model's graphs from its safetensors weights into files beside them
    (``NAME.KEY.onnx``: by default the family's :meth:`~rtdenoise.families.base.Family.default_graphs`)
    and name each, with its checksum, in the model's JSON (``graphs``); returns those entries.
    The weights and their checksum are untouched. Needs PyTorch."""
    from ..model.weights import load_weights
    path = find_model(model)
    saved = read_config(path)
    net = load_weights(path, saved, parse_config(path, saved), "cpu")
    family = of(net)
    entries: dict[str, dict] = {}
    for precision, tail in wanted or family.default_graphs(net.config):
        key = graph_key(precision, tail)
        dst = path.with_name(f"{path.stem}.{key}.onnx")
        shutil.copyfile(graphs.exported(net, family, precision, tail), dst)
        entries[key] = {"file": dst.name, "sha256": sha256(dst)}
        log.info("%s: %s graph %s (%.1f MB)", path.stem, key, dst.name, dst.stat().st_size / 1e6)
    saved["graphs"] = entries
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(saved, indent=2) + "\n")
    os.replace(tmp, path)
    return entries
