"""Inference backends: the same generator run by eager torch, ONNX Runtime or a CUDA graph.

Every consumer of G (offline :func:`~rtdenoise.signal.offline.enhance`, :class:`~rtdenoise.signal.streaming.StreamingDenoiser`,
the live engine, the benchmark) takes a *window function*: ``fn(frames [B, W] float32) -> [B, W]``.
This module builds one per backend, so the rest of the package never knows which runs:

``torch``
    Eager PyTorch on the model's device, in inference mode. Always there; the fallback.
``onnx``
    ONNX Runtime on the CPU. At batch 1 eager torch spends most of its time in a slow generic
    transposed-convolution kernel; ONNX Runtime ran the same graph 2.4 to 4.4 times faster on a
    2-core CPU. The graph (:mod:`rtdenoise.model.export`: polyphase decoder, only the output tail a
    stream reads) is exported once per set of weights, tail and precision (a few seconds) into a
    cache folder, keyed by a hash of the weights and architecture, and reused; new weights get a
    new file. ``precision`` ``int8`` (the default here) quantises the inner convolutions, about
    three times faster than ``fp32`` for a streaming hop. The default when there is no GPU.
``cuda`` (:mod:`rtdenoise.model.cuda`)
    The model resident on the GPU. Batch-1 windows (the live hop) replay a captured CUDA graph
    from pinned host buffers, so a hop costs one host-to-device copy, one graph launch, one copy
    back and the single synchronisation needed to hand the result over; launch overhead per layer,
    which makes small-frame GPU streaming no faster than a CPU, is gone. Larger batches (offline)
    run eagerly. ``precision`` may be ``fp16`` or ``bf16``; the default stays fp32 because the
    error that half precision adds has not been measured on a GPU yet.

A window function returns the whole window, or with ``tail`` only its last ``tail`` samples
(:attr:`Backend.tail`): all a stream reads, and on onnx much less work (see :mod:`rtdenoise.model.export`).

The spectral family (:mod:`rtdenoise.model.spectral`) has no windows: its backends build a *step
function* ``fn(spec [B, T, bins, 2], state) -> (spec, state)`` (:data:`StepFn`)
with the recurrent state as explicit inputs and outputs: on onnx as graph inputs and outputs, on
cuda resident on the GPU between hops (one captured graph per live frame), on torch as tensors.
:attr:`Backend.initial_state` and :attr:`Backend.skip` go with it.

``auto`` picks ``cuda`` when a GPU is there, else ``onnx`` when onnxruntime is installed, else ``torch``.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from ..errors import RtDenoiseError
from .seed import NoiseCanceler
from .spectral import SpectralCanceler, skip_frame

log = logging.getLogger(__name__)

#: The seed family's ``fn(frames [B, W] float32) -> [B, W]`` (or the last ``tail`` samples).
WindowFn = Callable[[np.ndarray], np.ndarray]
#: The spectral family's ``fn(spec [B, T, bins, 2] float32, state) -> (enhanced spec, new state)``.
StepFn = Callable[[np.ndarray, Sequence[np.ndarray]], tuple[np.ndarray, list[np.ndarray]]]
#: ``skip(state, spec [1, 1, bins, 2]) -> state`` after a frame the network did not run on.
SkipFn = Callable[[list, np.ndarray], list]
BACKENDS = ("cuda", "onnx", "torch")
#: Precisions per backend; the first is what ``auto`` means there.
PRECISIONS = {"cuda": ("fp32", "fp16", "bf16"), "onnx": ("int8", "fp32"), "torch": ("fp32",)}
#: The spectral family on onnx: fp32 by default (see :func:`spectral_onnx_fn` for why).
SPECTRAL_PRECISIONS = {"cuda": ("fp32", "fp16", "bf16"), "onnx": ("fp32", "int8"), "torch": ("fp32",)}


class BackendError(RtDenoiseError):
    """A backend that is not available here, or failed to build."""


@dataclass
class Backend:
    """A ready window function and what it is, for logs, statistics and benchmark tables."""

    name: str                 # cuda, onnx or torch (or custom)
    fn: WindowFn
    label: str                # e.g. "onnx int8 (1 thread)"
    precision: str = "fp32"
    threads: int | None = None
    tail: int | None = None   # fn returns the last ``tail`` samples of each window; None: all of it
    # The spectral family: fn is a step function; its state at a stream's start (for a batch), and
    # the state after a frame the network did not run on.
    initial_state: "Callable[[int], list] | None" = None
    skip: "Callable[[list, np.ndarray], list] | None" = None

    @property
    def stateful(self) -> bool:
        return self.initial_state is not None


def cuda_available() -> bool:
    return torch.cuda.is_available()


def onnx_available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def available() -> list[str]:
    """The backends this machine can run, fastest first."""
    return [b for b, ok in (("cuda", cuda_available()), ("onnx", onnx_available()), ("torch", True)) if ok]


def choose(name: str | None = "auto", device: str | torch.device | None = None) -> str:
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


def resolve_precision(name: str, precision: str | None = "auto", family: str = "seed") -> str:
    """The precision ``auto`` means on backend ``name`` for a model ``family`` (for the seed family
    int8 on onnx, else fp32); a named one is checked to exist there."""
    choices = (SPECTRAL_PRECISIONS if family == "spectral" else PRECISIONS).get(name, ("fp32",))
    if precision in (None, "auto"):
        if name == "onnx" and family == "seed" and not _calibration_present():
            log.info("no int8 calibration clip found; onnx runs in fp32")
            return "fp32"
        return choices[0]
    if precision not in choices:
        raise BackendError(f"precision {precision} is not available on backend {name}: choose {', '.join(choices)}")
    return precision


def _calibration_present() -> bool:
    from .export import ExportError, calibration_file
    try:
        calibration_file()
        return True
    except ExportError:
        return False


def build(model: "NoiseCanceler | SpectralCanceler", name: str | None = "auto", threads: int | None = None,
          precision: str | None = "auto", tail: int | None = None) -> Backend:
    """A window function (seed family) or step function (spectral family) running ``model`` on
    backend ``name`` (see the module docstring).

    ``threads``: CPU threads for onnx (default: torch's current setting). ``tail``: return only the
    last ``tail`` samples of each window (seed family only). The model is moved to the backend's
    device if it is not there (the cuda backend needs it on the GPU)."""
    name = choose(name, next(model.parameters()).device)
    if isinstance(model, SpectralCanceler):
        return _build_spectral(model, name, threads, resolve_precision(name, precision, "spectral"))
    precision = resolve_precision(name, precision)
    W = model.config.window
    if tail is not None and not 0 < tail <= W:
        raise BackendError(f"tail must be in 1..{W} samples, got {tail}")
    tail = None if tail == W else tail
    if name == "torch":
        device = next(model.parameters()).device
        return Backend("torch", _cut(torch_fn(model), tail), f"torch {device.type}"
                       + (f" ({_threads(torch.get_num_threads())})" if device.type == "cpu" else ""), tail=tail)
    if name == "onnx":
        threads = threads or torch.get_num_threads()
        return Backend("onnx", onnx_fn(model, threads, precision, tail), f"onnx {precision} ({_threads(threads)})",
                       precision, threads, tail)
    from .cuda import DTYPES, window_fn
    return Backend("cuda", _cut(window_fn(model, DTYPES[precision]), tail),
                   f"cuda {precision} ({torch.cuda.get_device_name()})", precision, tail=tail)


def _cut(fn: WindowFn, tail: int | None) -> WindowFn:
    """``fn`` returning only the last ``tail`` samples (backends that compute the whole window anyway)."""
    if tail is None:
        return fn
    return lambda frames: fn(frames)[:, -tail:]


def whole_windows(backend: Backend, window: int) -> WindowFn:
    """The backend's function with the samples before its tail zero-filled: for overlap-add code
    whose weight is zero there (the stream's framing), which indexes whole windows."""
    if backend.tail is None:
        return backend.fn
    fn, tail = backend.fn, backend.tail

    def run(frames: np.ndarray) -> np.ndarray:
        out = np.zeros((len(frames), window), np.float32)
        out[:, window - tail:] = fn(frames)
        return out
    return run


_built: "weakref.WeakKeyDictionary[NoiseCanceler, dict[tuple, Backend]]" = weakref.WeakKeyDictionary()


def for_model(model: "NoiseCanceler | SpectralCanceler | WindowFn", name: "str | Backend | None" = "auto", threads: int | None = None,
              precision: str | None = "auto", tail: int | None = None) -> Backend:
    """:func:`build`, remembered per model object, so repeated ``enhance`` calls reuse one session.
    A plain window function (tests, custom models) passes through as it is, and so does a ready
    :class:`Backend` as ``name``, except that a whole-window one is rebuilt alike with ``tail``
    when a tail is asked for (the stream asks; the caller need not know).

    Why per object: building an ONNX session hashes every weight and loads the graph (a fraction of
    a second for small models, more for the seed preset); weights changed in place afterwards (as
    in training, which uses ``torch``) need a fresh model object or :func:`build`."""
    if isinstance(name, Backend):
        if tail is None or name.tail == tail or name.name not in BACKENDS or not isinstance(model, NoiseCanceler):
            return name
        name, threads, precision = name.name, name.threads, name.precision
    if not isinstance(model, torch.nn.Module):
        return Backend("custom", model, "custom function")
    if not isinstance(model, (NoiseCanceler, SpectralCanceler)):   # a stand-in module (tests): eager only
        return Backend("torch", torch_fn(model), "torch (custom module)")
    backend = choose(name, next(model.parameters()).device)
    spectral = isinstance(model, SpectralCanceler)
    tail = None if spectral or tail == model.config.window else tail
    key = (backend, threads or torch.get_num_threads(),
           resolve_precision(backend, precision, model.config.family), tail)
    per_model = _built.setdefault(model, {})
    if key not in per_model:
        per_model[key] = build(model, *key)
    return per_model[key]


def open_model(model: str | None = None, backend: str | None = "auto", device: str | None = None,
         threads: int | None = None, precision: str | None = "auto",
         tail: "Callable[[NoiseCanceler], int] | None" = None) -> tuple[NoiseCanceler, Backend]:
    """Load a model by name or path onto the device its backend needs, and build that backend:
    what every command's shared ``--model/--backend/--device/--precision`` flags mean. ``tail``
    maps the loaded model to the tail its consumer reads (a stream's), if not whole windows."""
    from .pretrained import load_model
    name = choose(backend, device)
    if device is not None and torch.device(device).type != model_device(name):
        raise BackendError(f"backend {name} runs on {model_device(name)}, not on --device {device}")
    net = load_model(model, model_device(name))
    precision = resolve_precision(name, precision, net.config.family)
    chosen = for_model(net, name, threads, precision, tail(net) if tail else None)
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


def weights_key(model: "NoiseCanceler | SpectralCanceler") -> str:
    """A hash of the architecture and every weight: the cache key, so changed weights re-export."""
    h = hashlib.sha256(json.dumps(model.config.to_dict(), sort_keys=True).encode())
    h.update(torch.__version__.encode())
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return h.hexdigest()[:20]


def onnx_path(model: NoiseCanceler, tail: int | None = None, precision: str = "fp32") -> Path:
    """The cache file for these weights, tail and precision (int8 also keys on the calibration clip)."""
    from .export import calibration_key
    W = model.config.window
    calib = f"-c{calibration_key()}" if precision == "int8" else ""
    return cache_dir() / "onnx" / f"g-w{W}-t{tail or W}-{precision}{calib}-{weights_key(model)}.onnx"


_export_lock = threading.Lock()


def _ensure_graph(model: NoiseCanceler, tail: int | None, precision: str, again: bool = False) -> Path:
    """The cached graph, made if missing (or ``again``): an fp32 export, quantised for int8."""
    from .export import calibration_windows, export_onnx, quantize_int8
    path = onnx_path(model, tail, precision)
    with _export_lock:
        if again or not path.is_file():
            fp32 = onnx_path(model, tail, "fp32")
            if again or not fp32.is_file():
                log.info("exporting the generator to ONNX (once for these weights): %s", fp32)
                export_onnx(model, fp32, tail)
            if precision == "int8":
                log.info("quantising the generator to int8 (once for these weights): %s", path)
                quantize_int8(fp32, path, calibration_windows(model.config.window, model.config.preemphasis))
    return path


def onnx_fn(model: NoiseCanceler, threads: int = 1, precision: str = "fp32", tail: int | None = None) -> WindowFn:
    """ONNX Runtime on the CPU, from the cached export of these exact weights (made if missing)."""
    import onnxruntime as ort
    from .export import ExportError
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, threads)
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    try:
        path = _ensure_graph(model, tail, precision)
        try:
            session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as e:         # a cache file damaged since it was written: make it again
            log.warning("cached ONNX graph %s unreadable (%s); exporting again", path, str(e).splitlines()[0][:120])
            path = _ensure_graph(model, tail, precision, again=True)
            session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except ExportError as e:
        raise BackendError(str(e)) from None
    name = session.get_inputs()[0].name

    def run(frames: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(frames, np.float32)[:, None, :]
        return session.run(None, {name: x})[0][:, 0, :]
    return run


# --- the spectral family --------------------------------------------------------------------------

def _build_spectral(model: SpectralCanceler, name: str, threads: int | None, precision: str) -> Backend:
    cfg = model.config
    skip = lambda state, spec: skip_frame(state, spec, cfg)
    zeros = lambda batch: [s.numpy() for s in model.initial_state(batch, "cpu")]
    if name == "torch":
        device = next(model.parameters()).device
        return Backend("torch", spectral_torch_fn(model), f"torch {device.type}"
                       + (f" ({_threads(torch.get_num_threads())})" if device.type == "cpu" else ""),
                       initial_state=zeros, skip=skip)
    if name == "onnx":
        threads = threads or torch.get_num_threads()
        return Backend("onnx", spectral_onnx_fn(model, threads, precision), f"onnx {precision} ({_threads(threads)})",
                       precision, threads, initial_state=zeros, skip=skip)
    from .cuda import DTYPES, step_fn
    fn, initial, skip_on_gpu = step_fn(model, DTYPES[precision])
    return Backend("cuda", fn, f"cuda {precision} ({torch.cuda.get_device_name()})", precision,
                   initial_state=initial, skip=skip_on_gpu)


def spectral_torch_fn(model: SpectralCanceler) -> Callable:
    """Eager torch on the model's device, in inference mode; state as numpy arrays."""
    device = next(model.parameters()).device

    def run(spec: np.ndarray, state: list) -> tuple[np.ndarray, list]:
        with torch.inference_mode():
            out = model.step(torch.from_numpy(np.ascontiguousarray(spec, np.float32)).to(device),
                             *[torch.as_tensor(s, device=device) for s in state])
        return out[0].float().cpu().numpy(), [s.float().cpu().numpy() for s in out[1:]]
    return run


def spectral_onnx_fn(model: SpectralCanceler, threads: int = 1, precision: str = "fp32") -> Callable:
    """ONNX Runtime on the CPU: the step graph (:func:`rtdenoise.export.export_spectral_onnx`), the
    state as graph inputs and outputs, exported once per set of weights into the cache.

    fp32 by default: the network is a few hundred thousand multiply-adds per frame, so a hop costs
    mostly the call itself, and int8 (dynamic quantisation of its matrix products) is offered to
    measure, not assumed to pay (the README's benchmark has the figures)."""
    import onnxruntime as ort
    from .export import ExportError, export_spectral_onnx, quantize_spectral_int8
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, threads)
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    path = cache_dir() / "onnx" / f"spectral-{precision}-{weights_key(model)}.onnx"

    def ensure(again: bool = False) -> None:
        with _export_lock:
            if again or not path.is_file():
                fp32 = path.with_name(path.name.replace(f"-{precision}-", "-fp32-"))
                if again or not fp32.is_file():
                    log.info("exporting the generator to ONNX (once for these weights): %s", fp32)
                    export_spectral_onnx(model, fp32)
                if precision == "int8":
                    log.info("quantising the generator to int8 (once for these weights): %s", path)
                    quantize_spectral_int8(fp32, path)
    try:
        ensure()
        try:
            session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as e:         # a cache file damaged since it was written: make it again
            log.warning("cached ONNX graph %s unreadable (%s); exporting again", path, str(e).splitlines()[0][:120])
            ensure(again=True)
            session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except ExportError as e:
        raise BackendError(str(e)) from None
    names = [i.name for i in session.get_inputs()]

    def run(spec: np.ndarray, state: list) -> tuple[np.ndarray, list]:
        feed = {names[0]: np.ascontiguousarray(spec, np.float32)}
        feed.update(zip(names[1:], state))
        out = session.run(None, feed)
        return out[0], out[1:]
    return run
