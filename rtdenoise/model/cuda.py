"""The cuda backend: generators of either family resident on the GPU, live hops as CUDA graphs.

Launch overhead per layer is what makes small-frame GPU streaming no faster than a CPU; a
captured graph replays the whole hop as one launch. Here for both families: the seed family's
window (:func:`window_fn`) and the spectral family's frame step with its state kept on the GPU
(:func:`step_fn`). Used through :mod:`rtdenoise.model.backends`.
"""
from __future__ import annotations

import logging
from typing import Callable

import numpy as np
import torch

from .seed import NoiseCanceler
from .spectral_numpy import skip_frame
from .spectral import SpectralCanceler

log = logging.getLogger(__name__)

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def window_fn(model: NoiseCanceler, dtype: torch.dtype = torch.float32) -> Callable[[np.ndarray], np.ndarray]:
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




def step_fn(model: SpectralCanceler, dtype: torch.dtype = torch.float32) -> tuple[Callable, Callable, Callable]:
    """The step on the GPU with its state resident there. A live frame (batch 1, one frame)
    replays a captured CUDA graph that reads the state buffers and writes the next state into them,
    so a hop costs one small copy in, one launch, one copy out and one sync; the state never
    leaves the GPU. Other shapes (whole files) run eagerly. The state handed around is a token
    naming the resident buffers; :attr:`Backend.skip` advances the deep filter's history there."""
    model = model.to("cuda").eval()
    cfg = model.config
    autocast = torch.autocast("cuda", dtype=dtype, enabled=dtype != torch.float32)
    host_in = torch.zeros(1, 1, cfg.bins, 2, pin_memory=True)
    host_out = torch.zeros(1, 1, cfg.bins, 2, pin_memory=True)
    dev_in = torch.zeros(1, 1, cfg.bins, 2, device="cuda")
    resident = [s.clone() for s in model.initial_state(1, "cuda")]

    def forward(spec: torch.Tensor, state: list) -> tuple:
        with autocast:
            out = model.step(spec, *state)
        return tuple(o.float() for o in out)

    graph: "torch.cuda.CUDAGraph | None" = None
    with torch.inference_mode():
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):            # warm-up on a side stream, as graph capture requires
            for _ in range(3):
                forward(dev_in, resident)
        torch.cuda.current_stream().wait_stream(side)
        try:
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                dev_out, *next_state = forward(dev_in, resident)
                for r, n in zip(resident, next_state):
                    r.copy_(n)                    # the state is updated inside the graph
        except RuntimeError as e:                 # e.g. a cuDNN GRU that refuses capture: run it eagerly
            log.warning("CUDA graph capture failed (%s); the live frame runs eagerly", str(e).splitlines()[0][:120])
            graph = None
    torch.cuda.synchronize()
    host_in_np, host_out_np = host_in.numpy(), host_out.numpy()

    class Resident(list):
        """The token for the GPU-resident state of the one live stream."""

    def initial_state(batch: int) -> list:
        if batch == 1:
            with torch.inference_mode():
                for r, z in zip(resident, model.initial_state(1, "cuda")):
                    r.copy_(z)
            return Resident()
        return [s for s in model.initial_state(batch, "cuda")]

    def run(spec: np.ndarray, state: list) -> tuple[np.ndarray, list]:
        if graph is not None and isinstance(state, Resident) and spec.shape[:2] == (1, 1):
            host_in_np[:] = spec
            with torch.inference_mode():
                dev_in.copy_(host_in, non_blocking=True)
                graph.replay()
                host_out.copy_(dev_out, non_blocking=True)
            torch.cuda.current_stream().synchronize()   # the one host sync per hop: the result is needed now
            return host_out_np.copy(), state
        with torch.inference_mode():
            tensors = list(resident) if isinstance(state, Resident) else [torch.as_tensor(s, device="cuda") for s in state]
            out, *new = forward(torch.from_numpy(np.ascontiguousarray(spec, np.float32)).to("cuda"), tensors)
            if isinstance(state, Resident):
                for r, n in zip(resident, new):
                    r.copy_(n)
                return out.cpu().numpy(), state
            return out.cpu().numpy(), new

    def skip(state: list, spec: np.ndarray) -> list:
        if len(resident) < 2 or not isinstance(state, Resident):
            return skip_frame(state, spec, cfg) if not isinstance(state, Resident) else state
        with torch.inference_mode():
            low = torch.from_numpy(np.ascontiguousarray(spec[:, -1:, :cfg.df_bins])).to("cuda")
            resident[1].copy_(torch.cat([resident[1][:, 1:], low], dim=1))
        return state

    return run, initial_state, skip
