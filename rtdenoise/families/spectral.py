"""The spectral family: a causal network over STFT frames with its recurrent state carried, and
what it needs to run.

It streams with one framing, its own: a frame of ``n_fft`` samples every ``hop`` (half of it),
no look-ahead, and the output ``n_fft - hop`` samples behind the newest input because the frames
overlap (its analysis delay): the algorithmic latency is one window, 32 ms for the shipped model.
At whole multiples of its rate (32 and 48 kHz for a 16 kHz model) the same framing in time runs
on the whole band, with no resampling and no added latency (:class:`~rtdenoise.families.stft.Band`).
A file runs its frames in order from a silent start as a stream does
(:mod:`rtdenoise.families.stft`), so the offline output is the stream's, sample for sample. Its
backends take the state as explicit inputs and outputs (onnx), keep it on the GPU between hops
(cuda) or pass it as tensors (torch); on onnx fp32 is the default and int8 is offered.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..errors import ParameterError
from ..model import backends, graphs
from ..model.backends import Backend
from ..model.framing import StreamConfig
from ..model.spectral_numpy import frame_count, initial_state, skip_frame
from . import stft
from .base import Family, Progress, TrainingRecipe

#: The highest rate a spectral model streams at natively: full band, as call apps carry it.
MAX_RATE = 48000


class SpectralFamily(Family):
    name: ClassVar[str] = "spectral"
    # fp32 first on onnx: the network is well under a million multiply-adds per frame, so a hop
    # costs mostly the call itself; int8 is offered to measure, not assumed to pay.
    precisions: ClassVar[dict[str, tuple[str, ...]]] = {
        "cuda": ("fp32", "fp16", "bf16"), "onnx": ("fp32", "int8"), "torch": ("fp32",)}
    fixed_framing: ClassVar[bool] = True
    rests_when_bypassed: ClassVar[bool] = False     # its state must be current when bypass ends
    # Compressed spectra and SI-SDR, no waveform L1, through what real microphones do; narrow
    # discriminators on a stretch of each crop (at the seed's width they cost 27 steps of G).
    training: ClassVar[TrainingRecipe] = TrainingRecipe(
        default_preset="spectral", windows=False, spectral_losses=True, lr_warmup=1e-3, l1_weight=0.0,
        stft_weight=0.0, disc_width=0.0625, augment=True)

    def rates(self, config: Any) -> tuple[int, ...]:
        """Its own rate and whole multiples of it up to 48 kHz: 16, 32 and 48 kHz for the shipped
        model, each with the same bins and frame times (see :class:`~rtdenoise.families.stft.Band`)."""
        return tuple(config.sample_rate * f for f in range(1, MAX_RATE // config.sample_rate + 1)) or (config.sample_rate,)

    def framing(self, config: Any, hop: int | None = None, lookahead: int | None = None,
                rate: int | None = None) -> StreamConfig:
        f = self.check_rate(config, rate) // config.sample_rate
        self._check_hop("hop", config, hop)
        if lookahead not in (None, 0):
            raise ParameterError("lookahead", f"{{name}} {lookahead}: this spectral model uses no look-ahead "
                                              f"(use {{name}} 0 or leave it out); its latency is one "
                                              f"{1000 * config.latency / config.sample_rate:.0f} ms window")
        return StreamConfig(config.n_fft * f, config.hop * f, 0, (config.n_fft - config.hop) * f, config.sample_rate * f)

    def check_overlap_hop(self, config: Any, overlap_hop: int | None) -> None:
        self._check_hop("overlap_hop", config, overlap_hop)

    @staticmethod
    def _check_hop(name: str, config: Any, hop: int | None) -> None:
        if hop not in (None, config.hop):
            raise ParameterError(name, f"{{name}} {hop}: this spectral model runs one frame every {config.hop} "
                                       f"samples (use {{name}} {config.hop} or leave it out)")

    def build_backend(self, model: Any, name: str, threads: int | None, precision: str,
                      tail: int | None) -> Backend:
        cfg = model.config
        skip = lambda state, spec: skip_frame(state, spec, cfg)
        zeros = lambda batch: initial_state(cfg, batch)
        upper = getattr(model, "upper_band", None)          # loaded with a model that ships one
        if name == "torch":
            return Backend("torch", backends.spectral_torch_fn(model), backends.torch_label(model),
                           initial_state=zeros, skip=skip, upper=upper)
        if name == "onnx":
            threads = threads or backends.default_threads()
            return Backend("onnx", graphs.step_fn(model, self, threads, precision),
                           f"onnx {precision} ({backends.threads_label(threads)})", precision, threads,
                           initial_state=zeros, skip=skip, upper=upper)
        from ..model.cuda import DTYPES, step_fn
        fn, initial, skip_on_gpu = step_fn(model, DTYPES[precision])
        return Backend("cuda", fn, backends.cuda_label(precision), precision, initial_state=initial, skip=skip_on_gpu,
                       upper=upper)

    def cache_name(self, config: Any, precision: str, tail: int | None) -> str:
        return f"spectral-{precision}"

    def export(self, model: Any, path: Path, tail: int | None) -> None:
        from ..model.export import export_spectral_onnx
        export_spectral_onnx(model, path)

    def quantize(self, model: Any, fp32: Path, path: Path) -> None:
        from ..model.export import quantize_spectral_int8
        quantize_spectral_int8(fp32, path)

    def default_graphs(self, config: Any) -> list[tuple[str, int | None]]:
        return [("fp32", None)]

    def hop_core(self, backend: Backend, framing: StreamConfig, config: Any, preemphasis: float | None) -> stft.SpectralHop:
        return stft.SpectralHop(backend.fn, backend.initial_state, backend.skip, config, self._factor(config, framing.rate),
                                backend.upper)

    def _factor(self, config: Any, rate: int | None) -> int:
        return self.check_rate(config, rate) // config.sample_rate

    def enhance(self, model: Any, backend: Backend, x: np.ndarray, overlap_hop: int | None,
                progress: Progress | None, rate: int | None = None) -> np.ndarray:
        self.check_overlap_hop(model.config, overlap_hop)
        return stft.enhance(backend.fn, backend.initial_state, x, model.config, progress, self._factor(model.config, rate),
                            backend.upper)

    def block_enhancer(self, model: Any, backend: Backend, rows: int, overlap_hop: int | None,
                       progress: Progress | None, rate: int | None = None) -> stft.BlockEnhancer:
        self.check_overlap_hop(model.config, overlap_hop)
        return stft.BlockEnhancer(backend.fn, backend.initial_state, model.config, rows, progress,
                                  self._factor(model.config, rate), backend.upper)

    def like_stream(self, model: Any, backend: Backend, x: np.ndarray, framing: StreamConfig,
                    preemphasis: float | None = None) -> np.ndarray:
        return self.enhance(model, backend, np.atleast_2d(np.asarray(x, np.float32)), None, None, framing.rate)[0]

    def work_units(self, config: Any, n: int, overlap_hop: int | None, rate: int | None = None) -> int:
        f = self._factor(config, rate)
        return frame_count(n, config.n_fft * f, config.hop * f)


SPECTRAL = SpectralFamily()
