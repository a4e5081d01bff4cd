"""Inference backends: the same generator run by eager torch, ONNX Runtime or a CUDA graph.

Every consumer of G (offline :func:`~rtdenoise.enhance.enhance`, :class:`~rtdenoise.streaming.StreamingDenoiser`,
the live engine, the benchmark) takes a *window function*: ``fn(frames [B, W] float32) -> [B, W]``.
This module builds one per backend, so the rest of the package never knows which runs:

``torch``
    Eager PyTorch on the model's device, in inference mode. Always there; the fallback.
``onnx``
    ONNX Runtime on the CPU. At batch 1 eager torch spends most of its time in a slow generic
    transposed-convolution kernel; ONNX Runtime ran the same graph 2.4 to 4.4 times faster on a
    2-core CPU. The graph is exported once per set of weights (``torch.onnx.export``, a few
    seconds) into a cache folder, keyed by a hash of the weights and architecture, and reused; new
    weights get a new file. The default when there is no GPU.
``cuda``
    The model resident on the GPU. Batch-1 windows (the live hop) replay a captured CUDA graph
    from pinned host buffers, so a hop costs one host-to-device copy, one graph launch, one copy
    back and the single synchronisation needed to hand the result over; launch overhead per layer,
    which makes small-frame GPU streaming no faster than a CPU, is gone. Larger batches (offline)
    run eagerly. ``precision`` may be ``fp16`` or ``bf16``; the default stays fp32 because the
    error that half precision adds has not been measured on a GPU yet.

``auto`` picks ``cuda`` when a GPU is there, else ``onnx`` when onnxruntime is installed, else ``torch``.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import tempfile
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .errors import RtDenoiseError
from .model import NoiseCanceler

log = logging.getLogger(__name__)

WindowFn = Callable[[np.ndarray], np.ndarray]
BACKENDS = ("cuda", "onnx", "torch")
PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


class BackendError(RtDenoiseError):
    """A backend that is not available here, or failed to build."""


@dataclass
class Backend:
    """A ready window function and what it is, for logs, statistics and benchmark tables."""

    name: str                 # cuda, onnx or torch
    fn: WindowFn
    label: str                # e.g. "onnx (2 threads)"


def cuda_available() -> bool:
    return torch.cuda.is_available()


def onnx_available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def available() -> list[str]:
    """The backends this machine can run, fastest first."""
    return [b for b, ok in (("cuda", cuda_available()), ("onnx", onnx_available()), ("torch", True)) if ok]


def resolve(name: str | None = "auto", device: str | torch.device | None = None) -> str:
    """The backend ``auto`` (or None) means here; a named one is checked to be available.
    ``device="cpu"`` rules out CUDA for ``auto``."""
    name = (name or "auto").lower()
    if name == "auto":
        on_cpu = device is not None and torch.device(device).type == "cpu"
        return "cuda" if cuda_available() and not on_cpu else ("onnx" if onnx_available() else "torch")
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}: choose auto, {', '.join(BACKENDS)}")
    if name == "cuda" and not cuda_available():
        raise BackendError("backend cuda: no CUDA GPU is visible to torch (use --backend onnx or torch)")
    if name == "onnx" and not onnx_available():
        raise BackendError("backend onnx: onnxruntime is not installed (pip install onnxruntime)")
    return name


def model_device(name: str) -> str:
    """Where the torch model must live for backend ``name``."""
    return "cuda" if name == "cuda" else "cpu"


def build(model: NoiseCanceler, name: str | None = "auto", threads: int | None = None,
          precision: str = "fp32") -> Backend:
    """A window function running ``model`` on backend ``name`` (see the module docstring).

    ``threads``: CPU threads for onnx (default: torch's current setting). The model is moved to
    the backend's device if it is not there (the cuda backend needs it on the GPU)."""
    name = resolve(name, next(model.parameters()).device)
    if precision not in PRECISIONS:
        raise BackendError(f"unknown precision {precision!r}: choose {', '.join(PRECISIONS)}")
    if name == "torch":
        device = next(model.parameters()).device
        return Backend("torch", torch_fn(model), f"torch {device.type}"
                       + (f" ({_threads(torch.get_num_threads())})" if device.type == "cpu" else ""))
    if name == "onnx":
        threads = threads or torch.get_num_threads()
        return Backend("onnx", onnx_fn(model, threads), f"onnx ({_threads(threads)})")
    return Backend("cuda", cuda_fn(model, PRECISIONS[precision]), f"cuda {precision} ({torch.cuda.get_device_name()})")


_built: "weakref.WeakKeyDictionary[NoiseCanceler, dict[tuple, Backend]]" = weakref.WeakKeyDictionary()


def for_model(model: NoiseCanceler | WindowFn, name: "str | Backend | None" = "auto", threads: int | None = None,
              precision: str = "fp32") -> Backend:
    """:func:`build`, remembered per model object, so repeated ``enhance`` calls reuse one session.
    A plain window function (tests, custom models), or a ready :class:`Backend` as ``name``, passes
    through as it is.

    Why per object: building an ONNX session hashes every weight and loads the graph (a fraction of
    a second for small models, more for the seed preset); weights changed in place afterwards (as
    in training, which uses ``torch``) need a fresh model object or :func:`build`."""
    if isinstance(name, Backend):
        return name
    if not isinstance(model, torch.nn.Module):
        return Backend("custom", model, "custom function")
    if not isinstance(model, NoiseCanceler):          # a stand-in module (tests): eager only
        return Backend("torch", torch_fn(model), "torch (custom module)")
    key = (resolve(name, next(model.parameters()).device), threads or torch.get_num_threads(), precision)
    per_model = _built.setdefault(model, {})
    if key not in per_model:
        per_model[key] = build(model, key[0], key[1], precision)
    return per_model[key]


def load(model: str | None = None, backend: str | None = "auto", device: str | None = None,
         threads: int | None = None, precision: str = "fp32") -> tuple[NoiseCanceler, Backend]:
    """Load a model by name or path onto the device its backend needs, and build that backend:
    what every command's shared ``--model/--backend/--device/--precision`` flags mean."""
    from .pretrained import load_model
    name = resolve(backend, device)
    if device is not None and torch.device(device).type != model_device(name):
        raise BackendError(f"backend {name} runs on {model_device(name)}, not on --device {device}")
    net = load_model(model, model_device(name))
    chosen = for_model(net, name, threads, precision)
    log.info("backend: %s", chosen.label)
    return net, chosen


def _threads(n: int) -> str:
    return f"{n} thread{'s' if n > 1 else ''}"


# --- torch ----------------------------------------------------------------------------------------

def torch_fn(model: NoiseCanceler) -> WindowFn:
    """Eager torch on the model's own device, in inference mode."""
    device = next(model.parameters()).device

    def run(frames: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            y = model(torch.from_numpy(np.ascontiguousarray(frames, np.float32)).to(device).unsqueeze(1))
        return y.squeeze(1).float().cpu().numpy()
    return run


# --- onnx -----------------------------------------------------------------------------------------

def cache_dir() -> Path:
    """Where exported graphs are kept: ``$RTDENOISE_CACHE``, else ``$XDG_CACHE_HOME/rtdenoise``
    (``~/.cache/rtdenoise``)."""
    if os.environ.get("RTDENOISE_CACHE"):
        return Path(os.environ["RTDENOISE_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rtdenoise"


def weights_key(model: NoiseCanceler) -> str:
    """A hash of the architecture and every weight: the cache key, so changed weights re-export."""
    h = hashlib.sha256(json.dumps(model.config.to_dict(), sort_keys=True).encode())
    h.update(torch.__version__.encode())
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return h.hexdigest()[:20]


def onnx_path(model: NoiseCanceler) -> Path:
    return cache_dir() / "onnx" / f"g-w{model.config.window}-{weights_key(model)}.onnx"


def export_onnx(model: NoiseCanceler, path: Path) -> Path:
    """Export G with a dynamic batch to ``path`` (written to a temporary name, then renamed, so a
    killed export never leaves a half file that later runs would trust)."""
    import copy
    cpu = copy.deepcopy(model).to("cpu").eval()
    x = torch.zeros(1, 1, cpu.config.window)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=path.parent)
    os.close(fd)
    try:
        batch = torch.export.Dim("batch", min=1, max=1024)
        # The exporter reports progress through print and warnings; keep the user's terminal clean.
        with _quiet():
            torch.onnx.export(cpu, (x,), tmp, dynamo=True, dynamic_shapes=({0: batch},),
                              external_data=False, verbose=False)
        os.replace(tmp, path)
    except Exception as e:
        raise BackendError(f"ONNX export failed: {str(e).splitlines()[0][:200]}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


class _quiet:
    """Silence stdout and warnings while the ONNX exporter runs."""

    def __enter__(self) -> None:
        import contextlib
        import io
        import warnings
        self._stack = contextlib.ExitStack()
        self._stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
        self._stack.enter_context(warnings.catch_warnings())
        warnings.simplefilter("ignore")
        logging.getLogger("torch.onnx").setLevel(logging.ERROR)

    def __exit__(self, *exc: object) -> None:
        self._stack.close()


_export_lock = threading.Lock()


def onnx_fn(model: NoiseCanceler, threads: int = 1) -> WindowFn:
    """ONNX Runtime on the CPU, from the cached export of these exact weights (exported if missing)."""
    import onnxruntime as ort
    path = onnx_path(model)
    with _export_lock:
        if not path.is_file():
            log.info("exporting the generator to ONNX (once for these weights): %s", path)
            export_onnx(model, path)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, threads)
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as e:         # a cache file damaged since it was written: export again
        log.warning("cached ONNX graph %s unreadable (%s); exporting again", path, str(e).splitlines()[0][:120])
        export_onnx(model, path)
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    def run(frames: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(frames, np.float32)[:, None, :]
        return session.run(None, {name: x})[0][:, 0, :]
    return run


# --- cuda -----------------------------------------------------------------------------------------

def cuda_fn(model: NoiseCanceler, dtype: torch.dtype = torch.float32) -> WindowFn:
    """G on the GPU: a captured CUDA graph for batch-1 windows, eager (autocast) for larger batches."""
    model = model.to("cuda").eval()
    W = model.config.window
    host_in = torch.zeros(1, 1, W, pin_memory=True)
    host_out = torch.zeros(1, 1, W, pin_memory=True)
    dev_in = torch.zeros(1, 1, W, device="cuda")
    stream = torch.cuda.Stream()
    autocast = torch.autocast("cuda", dtype=dtype, enabled=dtype != torch.float32)

    def forward(x: torch.Tensor) -> torch.Tensor:
        with autocast:
            return model(x).float()

    with torch.inference_mode():
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):          # warm-up on a side stream, as graph capture requires
            for _ in range(3):
                forward(dev_in)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            dev_out = forward(dev_in)
    torch.cuda.synchronize()
    host_in_np, host_out_np = host_in.numpy()[0, 0], host_out.numpy()[0, 0]

    def run(frames: np.ndarray) -> np.ndarray:
        frames = np.asarray(frames, np.float32)
        if len(frames) != 1:
            with torch.inference_mode():
                return forward(torch.from_numpy(np.ascontiguousarray(frames)).to("cuda").unsqueeze(1)).squeeze(1).cpu().numpy()
        host_in_np[:] = frames[0]
        with torch.inference_mode():
            dev_in.copy_(host_in, non_blocking=True)
            graph.replay()
            host_out.copy_(dev_out, non_blocking=True)
        torch.cuda.current_stream().synchronize()      # the one host sync per hop: the result is needed now
        return host_out_np[None].copy()
    return run
