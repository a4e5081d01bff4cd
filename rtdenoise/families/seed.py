"""The seed family: SEGAN's waveform encoder-decoder over fixed windows, and what it needs to run.

Offline, a signal is cut into overlapping windows, pre-emphasised to de-emphasised
(:mod:`rtdenoise.families.overlap`). Live, the window slides: every hop of ``H`` new samples G runs
once on the newest ``W`` samples, and its output is taken ``A`` samples back from the newest input
(``A`` is the look-ahead: how much future G sees for the oldest sample it emits), so each hop emits
samples ``[t-A-H+1, t-A]`` once sample ``t`` has arrived: the algorithmic latency is ``H + A``.

Seams between hops are hidden by a crossfade of ``C = min(H, A)`` samples: the previous window
already estimated the first ``C`` samples of this hop (they were in its look-ahead), and the two
estimates are blended with a raised-cosine ramp whose two halves sum to one. With ``A = 0`` no
earlier window saw this hop, so hops butt against each other; that is the price of zero look-ahead.
The same blend, written as a weight over window positions (:meth:`StreamConfig.weight`), turns
streaming into an ordinary overlap-add, so :func:`window_like_stream` computes offline (batched,
fast) exactly what the stream emits.

Everything runs in G's pre-emphasised domain, with the filters' state carried across hops. When
the caller is late (``run_model=False``) the hop is filled with the dry input as if G were the
identity, and the normal crossfade slides between wet and dry without a click.

On onnx the generator runs rewritten (:mod:`rtdenoise.model.export`): int8 by default where the
calibration clip is present, and a stream's graph computes only the tail of each window it reads.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..errors import BackendError, ModelError, ParameterError, check_range
from ..model import backends, graphs
from ..model.backends import Backend
from ..model.emphasis import deemphasise, emphasise
from ..model.framing import StreamConfig
from ..model.pretrained import calibration_file
from ..model.types import WindowFn
from .base import Family, Progress, TrainingRecipe
from .overlap import OverlapAddStream, default_hop, overlap_add

log = logging.getLogger(__name__)

#: The live defaults, in milliseconds: G runs 31 times a second and sees 32 ms of future, which
#: keeps a CPU real time with headroom (64 ms algorithmic latency); clamped to what a window holds.
DEFAULT_HOP_MS = 32.0
DEFAULT_LOOKAHEAD_MS = 32.0
#: Without a model, a window function's pre-emphasis (the seed design's).
PREEMPHASIS = 0.95


class SeedFamily(Family):
    name: ClassVar[str] = "seed"
    precisions: ClassVar[dict[str, tuple[str, ...]]] = {
        "cuda": ("fp32", "fp16", "bf16"), "onnx": ("int8", "fp32"), "torch": ("fp32",)}
    fixed_framing: ClassVar[bool] = False
    rests_when_bypassed: ClassVar[bool] = True
    # SEGAN's L1 (x 100) with a multi-resolution STFT loss beside it, on windows as they come.
    training: ClassVar[TrainingRecipe] = TrainingRecipe(
        default_preset="small", windows=True, spectral_losses=False, lr_warmup=3e-4, l1_weight=100.0,
        stft_weight=1.0, disc_width=None, augment=False)

    def framing(self, config: Any, hop: int | None = None, lookahead: int | None = None,
                rate: int | None = None) -> StreamConfig:
        W, rate = config.window, self.check_rate(config, rate)
        check_range("hop", hop, 1, W)
        check_range("lookahead", lookahead, 0)
        h = hop or max(1, min(int(round(DEFAULT_HOP_MS * rate / 1000)), W))
        if lookahead is None:
            lookahead = max(0, min(int(round(DEFAULT_LOOKAHEAD_MS * rate / 1000)), W - h))
        return StreamConfig(W, h, lookahead, rate=rate)

    def check_overlap_hop(self, config: Any, overlap_hop: int | None) -> None:
        if overlap_hop is not None and not 1 <= overlap_hop <= config.window:
            raise ParameterError("overlap_hop", f"{{name}} must be between 1 and the model's window "
                                                f"({config.window}), got {overlap_hop}")

    def usable_precisions(self, backend: str) -> tuple[str, ...]:
        choices = self.precisions.get(backend, ("fp32",))
        if "int8" in choices and not _calibration_present():
            return tuple(p for p in choices if p != "int8")
        return choices

    def resolve_precision(self, backend: str, precision: str | None = "auto") -> str:
        chosen = super().resolve_precision(backend, precision)
        if precision in (None, "auto") and chosen != self.precisions.get(backend, ("fp32",))[0]:
            log.info("no int8 calibration clip found; %s runs in %s", backend, chosen)
        return chosen

    def build_backend(self, model: Any, name: str, threads: int | None, precision: str,
                      tail: int | None) -> Backend:
        W = model.config.window
        if tail is not None and not 0 < tail <= W:
            raise BackendError(f"tail must be in 1..{W} samples, got {tail}")
        tail = None if tail == W else tail
        if name == "torch":
            return Backend("torch", backends.cut(backends.torch_fn(model), tail), backends.torch_label(model), tail=tail)
        if name == "onnx":
            threads = threads or backends.default_threads()
            return Backend("onnx", graphs.window_fn(model, self, threads, precision, tail),
                           f"onnx {precision} ({backends.threads_label(threads)})", precision, threads, tail)
        from ..model.cuda import DTYPES, window_fn
        return Backend("cuda", backends.cut(window_fn(model, DTYPES[precision]), tail), backends.cuda_label(precision),
                       precision, tail=tail)

    def stream_tail(self, framing: StreamConfig) -> int | None:
        return framing.tail

    def cache_name(self, config: Any, precision: str, tail: int | None) -> str:
        from ..model.export import calibration_key
        calib = f"-c{calibration_key()}" if precision == "int8" else ""
        return f"g-w{config.window}-t{tail or config.window}-{precision}{calib}"

    def export(self, model: Any, path: Path, tail: int | None) -> None:
        from ..model.export import export_onnx
        export_onnx(model, path, tail)

    def quantize(self, model: Any, fp32: Path, path: Path) -> None:
        from ..model.export import calibration_windows, quantize_int8
        quantize_int8(fp32, path, calibration_windows(model.config.window, model.config.preemphasis))

    def default_graphs(self, config: Any) -> list[tuple[str, int | None]]:
        """fp32, and int8 (the onnx default) over whole windows (offline) and over the tail a
        stream at the default framing reads (live)."""
        return [("fp32", None), ("int8", None), ("int8", self.framing(config).tail)]

    def hop_core(self, backend: Backend, framing: StreamConfig, config: Any, preemphasis: float | None) -> "WindowHop":
        if preemphasis is None:
            preemphasis = config.preemphasis if config is not None else PREEMPHASIS
        return WindowHop(backend.fn, framing, preemphasis)

    def enhance(self, model: Any, backend: Backend, x: np.ndarray, overlap_hop: int | None,
                progress: Progress | None, rate: int | None = None) -> np.ndarray:
        cfg = model.config
        self.check_rate(cfg, rate)
        self.check_overlap_hop(cfg, overlap_hop)
        pre, _ = emphasise(x, cfg.preemphasis)
        y = overlap_add(pre, cfg.window, overlap_hop or default_hop(cfg.window), backend.fn, 16, progress)
        out, _ = deemphasise(y, cfg.preemphasis)
        return out

    def block_enhancer(self, model: Any, backend: Backend, rows: int, overlap_hop: int | None,
                       progress: Progress | None, rate: int | None = None) -> "SeedBlocks":
        self.check_rate(model.config, rate)
        self.check_overlap_hop(model.config, overlap_hop)
        return SeedBlocks(backend.fn, model.config, overlap_hop, rows, progress)

    def like_stream(self, model: Any, backend: Backend, x: np.ndarray, framing: StreamConfig,
                    preemphasis: float | None = None) -> np.ndarray:
        if preemphasis is None:
            preemphasis = model.config.preemphasis if model is not None else PREEMPHASIS
        return window_like_stream(backends.whole_windows(backend, framing.window), x, framing, preemphasis)

    def work_units(self, config: Any, n: int, overlap_hop: int | None, rate: int | None = None) -> int:
        w = config.window
        h = overlap_hop or default_hop(w)
        return max(1, -(-(n + 2 * (w // 2) - w) // h) + 1)


def _calibration_present() -> bool:
    try:
        calibration_file()
        return True
    except ModelError:
        return False


class WindowHop:
    """The seed family's hop: the generator over a sliding window (see the module docstring)."""

    def __init__(self, fn: WindowFn, config: StreamConfig, preemphasis: float) -> None:
        W, H = config.window, config.hop
        self._g = fn
        self.config = config
        self.preemphasis = preemphasis
        self._ramp = config.ramp()
        self._raw = np.zeros(W, np.float32)          # newest W input samples, as they came
        self._pre = np.zeros(W, np.float32)          # the same, pre-emphasised
        self._pre_state = np.zeros(1, np.float32)
        self._de_state = np.zeros(1)
        self._tail = np.zeros(config.crossfade, np.float32)   # previous window's estimate of the next hop's start

    def warm_up(self) -> None:
        self._g(np.zeros((1, self.config.window), np.float32))

    def process(self, hop_in: np.ndarray, wet: np.ndarray, run_model: bool, before: int) -> np.ndarray:
        """Fill ``wet``; returns the dry input it lines up with. The first ``before`` samples
        precede the stream: they are silence, not G's guess, and leave no filter state."""
        cfg = self.config
        W, H, A, C = cfg.window, cfg.hop, cfg.lookahead, cfg.crossfade
        self._raw[:-H] = self._raw[H:]
        self._raw[-H:] = hop_in
        pre, self._pre_state = emphasise(hop_in, self.preemphasis, self._pre_state)
        self._pre[:-H] = self._pre[H:]
        self._pre[-H:] = pre
        y = self._g(self._pre[None])[0] if run_model else self._pre   # dry: the identity, same domain
        own = len(y) - A - H                           # where this hop's output starts in y
        wet_pre = y[own:own + H].copy()
        if C:
            wet_pre[:C] = self._ramp * wet_pre[:C] + (1.0 - self._ramp) * self._tail
            self._tail[:] = y[own + H:own + H + C]
        if before:
            wet_pre[:before] = 0.0
        wet[:], self._de_state = deemphasise(wet_pre, self.preemphasis, self._de_state)
        return self._raw[W - A - H:W - A]


def window_like_stream(fn: WindowFn, x: np.ndarray, framing: StreamConfig, preemphasis: float = PREEMPHASIS,
                       batch: int = 16) -> np.ndarray:
    """What a sliding-window stream emits for ``x`` (mono, the model's rate), aligned to ``x``,
    from a whole-window function: one overlap-add with the stream's weight."""
    W, H, A = framing.window, framing.hop, framing.lookahead
    x = np.asarray(x, np.float32).ravel()
    # The stream's first window ends at input sample H-1, after W-H samples of silent history; its
    # flush feeds silence through the pre-emphasis filter until A samples past the input's end.
    pre, _ = emphasise(np.concatenate([x, np.zeros(A + H, np.float32)]), preemphasis)
    y = overlap_add(pre[None], W, H, fn, batch, weight=framing.weight(), pad=(W - H, 0))
    out, _ = deemphasise(y[:, :len(x)], preemphasis)
    return out[0]


class SeedBlocks:
    """The seed family's offline enhancement in blocks: pre-emphasis, overlapping windows,
    de-emphasis, each with its state carried."""

    def __init__(self, fn: WindowFn, config: Any, overlap_hop: int | None, rows: int,
                 progress: Progress | None) -> None:
        self._coef = config.preemphasis
        self._ola = OverlapAddStream(fn, config.window, overlap_hop or default_hop(config.window), rows,
                                     progress=progress)
        self._pre: np.ndarray | None = None
        self._de: np.ndarray | None = None

    def push(self, x: np.ndarray) -> np.ndarray:
        pre, self._pre = emphasise(x, self._coef, self._pre)
        return self._out(self._ola.push(pre))

    def finish(self) -> np.ndarray:
        return self._out(self._ola.finish())

    def _out(self, y: np.ndarray) -> np.ndarray:
        if y.shape[1] == 0:
            return y
        out, self._de = deemphasise(y, self._coef, self._de)
        return out


SEED = SeedFamily()
