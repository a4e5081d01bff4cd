"""Inference backends: the same generator run by eager torch, ONNX Runtime or a CUDA graph.

Every consumer of G (offline :func:`~rtdenoise.signal.offline.enhance`, :class:`~rtdenoise.signal.streaming.StreamingDenoiser`,
the live engine, the benchmark) takes a *window function*: ``fn(frames [B, W] float32) -> [B, W]``.
This module builds one per backend, so the rest of the package never knows which runs:

``torch``
    Eager PyTorch on the model's device, in inference mode: the fallback where PyTorch is installed.
``onnx``
    ONNX Runtime on the CPU, on the graphs shipped beside the weights or exported once into a
    cache (:mod:`rtdenoise.model.graphs`). At batch 1 eager torch spends most of its time in a slow
    generic transposed-convolution kernel; ONNX Runtime ran the same graph 2.4 to 4.4 times faster
    on a 2-core CPU. For the seed family the graph is rewritten (:mod:`rtdenoise.model.export`:
    polyphase decoder, only the output tail a stream reads), and ``precision`` ``int8`` (its
    default) quantises the inner convolutions, about three times faster than ``fp32`` for a
    streaming hop. The default when there is no GPU, and the only backend without PyTorch.
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

``auto`` picks ``cuda`` when a GPU is there, else ``onnx`` when onnxruntime is installed, else
``torch``. This module imports PyTorch only for the torch and cuda backends; without it,
``--backend torch`` or ``cuda`` says in one line which extra to install.
"""
from __future__ import annotations

import importlib.util
import logging
import os
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import BackendError, RtDenoiseError
from . import graphs
from .config import family_of
from .framing import initial_state, skip_frame
from .pretrained import NEEDS_TORCH, torch_module

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
#: The spectral family on onnx: fp32 by default (see :func:`rtdenoise.model.graphs.step_fn` for why).
SPECTRAL_PRECISIONS = {"cuda": ("fp32", "fp16", "bf16"), "onnx": ("fp32", "int8"), "torch": ("fp32",)}


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
    """A CUDA GPU that torch sees (False without torch)."""
    torch = torch_module()
    return torch is not None and torch.cuda.is_available()


def onnx_available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def available() -> list[str]:
    """The backends this machine can run, fastest first."""
    return [b for b, ok in (("cuda", cuda_available()), ("onnx", onnx_available()),
                            ("torch", torch_module() is not None)) if ok]


def choose(name: str | None = "auto", device: Any = None) -> str:
    """The backend ``auto`` (or None) means here; a named one is checked to be available.
    ``device="cpu"`` rules out CUDA for ``auto``."""
    name = (name or "auto").lower()
    if name == "auto":
        on_cpu = device is not None and _device_type(device) == "cpu"
        if cuda_available() and not on_cpu:
            return "cuda"
        if onnx_available():
            return "onnx"
        if torch_module() is not None:
            return "torch"
        raise BackendError("no backend to run a model: pip install onnxruntime (or PyTorch: " + NEEDS_TORCH + ")")
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}: choose auto, {', '.join(BACKENDS)}")
    if name in ("cuda", "torch") and torch_module() is None:
        raise BackendError(f"backend {name} needs PyTorch, which is not installed: {NEEDS_TORCH} (or use --backend onnx)")
    if name == "cuda" and not cuda_available():
        raise BackendError("backend cuda: no CUDA GPU is visible to torch (use --backend onnx or torch)")
    if name == "onnx" and not onnx_available():
        raise BackendError("backend onnx: onnxruntime is not installed (pip install onnxruntime)")
    return name


def _device_type(device: Any) -> str:
    return str(getattr(device, "type", device)).split(":")[0]


def _model_device(model: Any) -> str:
    """The device type a model's weights are on ("cpu" for a model without torch)."""
    if hasattr(model, "parameters"):
        return next(model.parameters()).device.type
    return "cpu"


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
    from .pretrained import calibration_file
    try:
        calibration_file()
        return True
    except RtDenoiseError:
        return False


def default_threads() -> int:
    """CPU threads for onnx when none are asked for: torch's setting where torch is loaded, else
    every core."""
    import sys
    torch = sys.modules.get("torch")
    return torch.get_num_threads() if torch is not None else (os.cpu_count() or 1)


def build(model: Any, name: str | None = "auto", threads: int | None = None,
          precision: str | None = "auto", tail: int | None = None) -> Backend:
    """A window function (seed family) or step function (spectral family) running ``model`` on
    backend ``name`` (see the module docstring).

    ``threads``: CPU threads for onnx (default: :func:`default_threads`). ``tail``: return only the
    last ``tail`` samples of each window (seed family only). The model is moved to the backend's
    device if it is not there (the cuda backend needs it on the GPU)."""
    name = choose(name, _model_device(model))
    if name != "onnx" and not hasattr(model, "parameters"):
        raise BackendError(f"backend {name} needs the model's weights in PyTorch: {NEEDS_TORCH}")
    if family_of(model) == "spectral":
        return _build_spectral(model, name, threads, resolve_precision(name, precision, "spectral"))
    precision = resolve_precision(name, precision)
    W = model.config.window
    if tail is not None and not 0 < tail <= W:
        raise BackendError(f"tail must be in 1..{W} samples, got {tail}")
    tail = None if tail == W else tail
    if name == "torch":
        return Backend("torch", _cut(torch_fn(model), tail), _torch_label(model), tail=tail)
    if name == "onnx":
        threads = threads or default_threads()
        return Backend("onnx", graphs.window_fn(model, threads, precision, tail), f"onnx {precision} ({_threads(threads)})",
                       precision, threads, tail)
    from .cuda import DTYPES, window_fn
    return Backend("cuda", _cut(window_fn(model, DTYPES[precision]), tail), _cuda_label(precision), precision, tail=tail)


def _torch_label(model: Any) -> str:
    device = next(model.parameters()).device
    return f"torch {device.type}" + (f" ({_threads(torch_module().get_num_threads())})" if device.type == "cpu" else "")


def _cuda_label(precision: str) -> str:
    return f"cuda {precision} ({torch_module().cuda.get_device_name()})"


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


_built: "weakref.WeakKeyDictionary[Any, dict[tuple, Backend]]" = weakref.WeakKeyDictionary()


def for_model(model: Any, name: "str | Backend | None" = "auto", threads: int | None = None,
              precision: str | None = "auto", tail: int | None = None) -> Backend:
    """:func:`build`, remembered per model object, so repeated ``enhance`` calls reuse one session.
    A plain window function (tests, custom models) passes through as it is, and so does a ready
    :class:`Backend` as ``name``, except that a whole-window one is rebuilt alike with ``tail``
    when a tail is asked for (the stream asks; the caller need not know).

    Why per object: building an ONNX session hashes every weight and loads the graph (a fraction of
    a second for small models, more for the seed preset); weights changed in place afterwards (as
    in training, which uses ``torch``) need a fresh model object or :func:`build`."""
    family = family_of(model)
    if isinstance(name, Backend):
        if tail is None or name.tail == tail or name.name not in BACKENDS or family != "seed":
            return name
        name, threads, precision = name.name, name.threads, name.precision
    if family is None or (hasattr(model, "parameters") and not _is_generator(model)):
        if hasattr(model, "parameters"):              # a stand-in torch module (tests): eager only
            return Backend("torch", torch_fn(model), "torch (custom module)")
        return Backend("custom", model, "custom function")
    backend = choose(name, _model_device(model))
    tail = None if family == "spectral" or tail == model.config.window else tail
    key = (backend, threads or default_threads(), resolve_precision(backend, precision, family), tail)
    per_model = _built.setdefault(model, {})
    if key not in per_model:
        per_model[key] = build(model, *key)
    return per_model[key]


def _is_generator(model: Any) -> bool:
    """Whether a torch module is one of the two families' generators (not a stand-in)."""
    from .weights import GENERATORS
    return isinstance(model, tuple(GENERATORS.values()))


def open_model(model: str | None = None, backend: str | None = "auto", device: str | None = None,
               threads: int | None = None, precision: str | None = "auto",
               tail: "Callable[[Any], int | None] | None" = None) -> tuple[Any, Backend]:
    """Load a model by name or path onto the device its backend needs, and build that backend:
    what every command's shared ``--model/--backend/--device/--precision`` flags mean. ``tail``
    maps the loaded model to the tail its consumer reads (a stream's), if not whole windows."""
    from .pretrained import load_model
    name = choose(backend, device)
    if device is not None and _device_type(device) != model_device(name):
        raise BackendError(f"backend {name} runs on {model_device(name)}, not on --device {device}")
    net = load_model(model, model_device(name) if torch_module() is not None else None)
    precision = resolve_precision(name, precision, net.config.family)
    chosen = for_model(net, name, threads, precision, tail(net) if tail else None)
    log.info("backend: %s", chosen.label)
    return net, chosen


def _threads(n: int) -> str:
    return f"{n} thread{'s' if n > 1 else ''}"


# --- torch ----------------------------------------------------------------------------------------

def torch_fn(model: Any) -> WindowFn:
    """Eager torch on the model's own device, in inference mode."""
    torch = torch_module()
    device = next(model.parameters()).device

    def run(frames: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            y = model(torch.from_numpy(np.ascontiguousarray(frames, np.float32)).to(device).unsqueeze(1))
        return y.squeeze(1).float().cpu().numpy()
    return run


# --- the spectral family --------------------------------------------------------------------------

def _build_spectral(model: Any, name: str, threads: int | None, precision: str) -> Backend:
    cfg = model.config
    skip = lambda state, spec: skip_frame(state, spec, cfg)
    zeros = lambda batch: initial_state(cfg, batch)
    if name == "torch":
        return Backend("torch", spectral_torch_fn(model), _torch_label(model), initial_state=zeros, skip=skip)
    if name == "onnx":
        threads = threads or default_threads()
        return Backend("onnx", graphs.step_fn(model, threads, precision), f"onnx {precision} ({_threads(threads)})",
                       precision, threads, initial_state=zeros, skip=skip)
    from .cuda import DTYPES, step_fn
    fn, initial, skip_on_gpu = step_fn(model, DTYPES[precision])
    return Backend("cuda", fn, _cuda_label(precision), precision, initial_state=initial, skip=skip_on_gpu)


def spectral_torch_fn(model: Any) -> StepFn:
    """Eager torch on the model's device, in inference mode; state as numpy arrays."""
    torch = torch_module()
    device = next(model.parameters()).device

    def run(spec: np.ndarray, state: list) -> tuple[np.ndarray, list]:
        with torch.inference_mode():
            out = model.step(torch.from_numpy(np.ascontiguousarray(spec, np.float32)).to(device),
                             *[torch.as_tensor(s, device=device) for s in state])
        return out[0].float().cpu().numpy(), [s.float().cpu().numpy() for s in out[1:]]
    return run
