"""Inference backends: the same generator run by eager torch, ONNX Runtime or a CUDA graph.

Every consumer of G (offline :func:`~rtdenoise.signal.offline.enhance`, :class:`~rtdenoise.signal.streaming.StreamingDenoiser`,
the live engine, the benchmark) takes a :class:`Backend`: the seed family's *window function*
``fn(frames [B, W] float32) -> [B, W]`` or the spectral family's *step function*. Each family builds
its own from the parts here (:mod:`rtdenoise.families`), so the rest of the package never knows which
runs:

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
``--backend torch`` or ``cuda`` says in one line which extra to install. It knows no family: which
precisions a family offers, and how its generator becomes a function, its family decides.
"""
from __future__ import annotations

import importlib.util
import logging
import os
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..errors import BackendError
from .pretrained import NEEDS_TORCH, torch_module
from .types import StepFn, WindowFn
from .upper_band import UpperBandFile

log = logging.getLogger(__name__)

BACKENDS = ("cuda", "onnx", "torch")


@dataclass
class Backend:
    """A ready window or step function and what it is, for logs, statistics and benchmark tables."""

    name: str                 # cuda, onnx or torch (or custom)
    fn: "WindowFn | StepFn"
    label: str                # e.g. "onnx int8 (1 thread)"
    precision: str = "fp32"
    threads: int | None = None
    tail: int | None = None   # fn returns the last ``tail`` samples of each window; None: all of it
    # The spectral family: fn is a step function; its state at a stream's start (for a batch), and
    # the state after a frame the network did not run on.
    initial_state: "Callable[[int], list] | None" = None
    skip: "Callable[[list, np.ndarray], list] | None" = None
    # ... and the learned head of the band above the model's Nyquist, where the model ships one.
    upper: "UpperBandFile | None" = None

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
        on_cpu = device is not None and device_type(device) == "cpu"
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


def device_type(device: Any) -> str:
    return str(getattr(device, "type", device)).split(":")[0]


def device_of(model: Any) -> str:
    """The device type a model's weights are on ("cpu" for a model without torch)."""
    if hasattr(model, "parameters"):
        return next(model.parameters()).device.type
    return "cpu"


def model_device(name: str) -> str:
    """Where the torch model must live for backend ``name``."""
    return "cuda" if name == "cuda" else "cpu"


def default_threads() -> int:
    """CPU threads for onnx when none are asked for: torch's setting where torch is loaded, else
    every core."""
    import sys
    torch = sys.modules.get("torch")
    return torch.get_num_threads() if torch is not None else (os.cpu_count() or 1)


def torch_label(model: Any) -> str:
    """``torch cpu (1 thread)``: what a torch backend is, for logs and tables."""
    device = next(model.parameters()).device
    return f"torch {device.type}" + (f" ({threads_label(torch_module().get_num_threads())})" if device.type == "cpu" else "")


def cuda_label(precision: str) -> str:
    """``cuda fp32 (the GPU's name)``."""
    return f"cuda {precision} ({torch_module().cuda.get_device_name()})"


def cut(fn: WindowFn, tail: int | None) -> WindowFn:
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


def threads_label(n: int) -> str:
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


# --- torch, a step function -----------------------------------------------------------------------

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
