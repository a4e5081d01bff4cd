"""ONNX Runtime on a generator's graphs: the ones shipped beside its weights, or exported into a cache.

Where a graph comes from, in order:

1. **Shipped** beside the weights and named in the model's JSON with its checksum
   (:class:`rtdenoise.model.pretrained.Graphs`): no export, no calibration, no PyTorch. A graph
   whose checksum does not match is refused in one line, as weights are.
2. **Exported** from the torch module into ``$RTDENOISE_CACHE`` (``~/.cache/rtdenoise``), keyed by a
   hash of the architecture and every weight, once per set of weights, tail and precision (a few
   seconds; :mod:`rtdenoise.model.export`), as the model's family says (its ``cache_name``,
   ``export`` and ``quantize``: an :class:`Exporter`; this module knows no family). Each file is
   written with a checksum beside it and
   checked when loaded: a file damaged since it was written is exported again, even one that still
   parses. Needs PyTorch; this is how a model a user trained runs on onnx.
3. For a seed-family stream that asks for an output tail no graph computes alone, the shipped
   whole-window graph, its output cut to the tail (the same numbers, more work).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..errors import BackendError, ModelError
from .format import graph_key, sha256
from .pretrained import NEEDS_TORCH, torch_module
from .types import StepFn, WindowFn

log = logging.getLogger(__name__)


class Exporter(Protocol):
    """What a family tells this module about its graphs (:class:`rtdenoise.families.base.Family`)."""

    def cache_name(self, config: Any, precision: str, tail: int | None) -> str:
        """The cache file's name before the weights' hash."""

    def export(self, model: Any, path: Path, tail: int | None) -> None:
        """Write the fp32 graph."""

    def quantize(self, model: Any, fp32: Path, path: Path) -> None:
        """Write the int8 graph made from the fp32 one."""


_fallback_cache: list[Path] = []


def cache_dir() -> Path:
    """Where exported graphs are kept: ``$RTDENOISE_CACHE``, else ``$XDG_CACHE_HOME/rtdenoise``
    (``~/.cache/rtdenoise``); where that cannot be written, a temporary folder of this process
    (said once in the log: the export is then made again by the next run)."""
    if _fallback_cache:
        return _fallback_cache[0]
    if os.environ.get("RTDENOISE_CACHE"):
        chosen = Path(os.environ["RTDENOISE_CACHE"])
    else:
        chosen = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rtdenoise"
    try:
        (chosen / "onnx").mkdir(parents=True, exist_ok=True)
        probe = chosen / "onnx" / f".probe-{os.getpid()}"
        probe.touch()
        probe.unlink()
        return chosen
    except OSError as e:
        import tempfile
        _fallback_cache.append(Path(tempfile.mkdtemp(prefix="rtdenoise-cache-")))
        log.warning("the export cache %s cannot be written (%s); exporting into %s for this run",
                    chosen, e.strerror or e, _fallback_cache[0])
        return _fallback_cache[0]


def weights_key(model: Any) -> str:
    """A hash of the architecture and every weight of a torch generator: the cache key, so changed
    weights re-export."""
    torch = torch_module()
    h = hashlib.sha256(json.dumps(model.config.to_dict(), sort_keys=True).encode())
    h.update(torch.__version__.encode())
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return h.hexdigest()[:20]


def cache_path(model: Any, family: Exporter, precision: str = "fp32", tail: int | None = None) -> Path:
    """The cache file for a torch generator's weights, precision and (seed family) tail."""
    return cache_dir() / "onnx" / f"{family.cache_name(model.config, precision, tail)}-{weights_key(model)}.onnx"


_export_lock = threading.Lock()


def _intact(path: Path) -> bool:
    """Whether a cached graph is the file that was written (its checksum beside it matches)."""
    mark = path.with_name(path.name + ".sha256")
    try:
        return path.is_file() and mark.read_text().strip() == sha256(path)
    except OSError:
        return False


def exported(model: Any, family: Exporter, precision: str, tail: int | None) -> Path:
    """The cached graph, exported (and for int8 quantised) if missing or damaged."""
    path = cache_path(model, family, precision, tail)
    with _export_lock:
        if _intact(path):
            return path
        if path.is_file():
            log.warning("cached ONNX graph %s is damaged; exporting it again", path)
        fp32 = cache_path(model, family, "fp32", tail)
        if not _intact(fp32):
            log.info("exporting the generator to ONNX (once for these weights): %s", fp32)
            family.export(model, fp32, tail)
            fp32.with_name(fp32.name + ".sha256").write_text(sha256(fp32) + "\n")
        if precision == "int8":
            log.info("quantising the generator to int8 (once for these weights): %s", path)
            family.quantize(model, fp32, path)
            path.with_name(path.name + ".sha256").write_text(sha256(path) + "\n")
    return path


def graph_for(model: Any, family: Exporter, precision: str, tail: int | None = None) -> tuple[Path, bool]:
    """The graph to run (see the module docstring) and whether its output must be cut to ``tail``."""
    graphs = getattr(model, "graphs", None)
    exact = graphs.get(graph_key(precision, tail)) if graphs is not None else None
    if exact is not None:
        return exact, False
    if hasattr(model, "state_dict"):             # a torch module: export what is not shipped
        try:
            return exported(model, family, precision, tail), False
        except ModelError as e:          # e.g. no calibration clip for int8
            raise BackendError(str(e)) from None
    whole = graphs.get(graph_key(precision)) if graphs is not None and tail is not None else None
    if whole is not None:
        return whole, True
    shipped = ", ".join(graphs.entries) if graphs is not None and graphs.entries else "none"
    raise BackendError(f"{getattr(model, 'source', 'this model')}: no shipped {graph_key(precision, tail)} graph "
                     f"(shipped: {shipped}), and exporting one needs PyTorch: {NEEDS_TORCH}")


def session(path: Path, threads: int) -> Any:
    """An ONNX Runtime CPU session on ``path`` with ``threads`` intra-op threads."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, threads)
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as e:
        raise BackendError(f"{path}: ONNX Runtime cannot load it ({str(e).splitlines()[0][:160]})") from None


def window_fn(model: Any, family: Exporter, threads: int = 1, precision: str = "fp32",
              tail: int | None = None) -> WindowFn:
    """The seed family's window function on ONNX Runtime: [B, W] -> [B, tail or W]."""
    path, cut = graph_for(model, family, precision, tail)
    s = session(path, threads)
    name = s.get_inputs()[0].name

    def run(frames: np.ndarray) -> np.ndarray:
        y = s.run(None, {name: np.ascontiguousarray(frames, np.float32)[:, None, :]})[0][:, 0, :]
        return y[:, -tail:] if cut else y
    return run


def step_fn(model: Any, family: Exporter, threads: int = 1, precision: str = "fp32") -> StepFn:
    """The spectral family's step on ONNX Runtime, the state as graph inputs and outputs.

    fp32 by default: the network is well under a million multiply-adds per frame, so a hop costs
    mostly the call itself, and int8 (dynamic quantisation of its matrix products) is offered to
    measure, not assumed to pay (the README's benchmark has the figures)."""
    path, _ = graph_for(model, family, precision)
    s = session(path, threads)
    names = [i.name for i in s.get_inputs()]

    def run(spec: np.ndarray, state: list) -> tuple[np.ndarray, list]:
        feed = {names[0]: np.ascontiguousarray(spec, np.float32)}
        feed.update(zip(names[1:], state))
        out = s.run(None, feed)
        return out[0], out[1:]
    return run
