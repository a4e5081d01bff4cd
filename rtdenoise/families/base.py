"""What a generator family is: one object that knows everything the rest of the package asks of it.

A family answers, for its models: how they stream (:meth:`Family.framing`, from the config alone,
before any weights load), which precisions each backend offers, how the generator becomes a
function on each backend and which ONNX graphs it exports and ships, how a stream's hop runs
(:meth:`Family.hop_core`), and how a whole signal or a signal in blocks is enhanced offline.
Callers ask the family (:func:`rtdenoise.families.of`); none of them asks which family it is.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Protocol

import numpy as np

from ..errors import BackendError, ParameterError
from ..model.backends import Backend
from ..model.framing import StreamConfig

Progress = Callable[[int], None]


class HopCore(Protocol):
    """One hop of a stream inside :class:`~rtdenoise.signal.streaming.StreamingDenoiser`."""

    def process(self, hop_in: np.ndarray, wet: np.ndarray, run_model: bool, before: int) -> np.ndarray:
        """Fill ``wet`` with this hop's output; return the input samples it lines up with."""

    def warm_up(self) -> None:
        """Run the generator once on silence, state untouched."""


class BlockEnhancer(Protocol):
    """Offline enhancement of rows that arrive in blocks (a long file): the whole signal's samples."""

    def push(self, x: np.ndarray) -> np.ndarray: ...

    def finish(self) -> np.ndarray: ...


@dataclass(frozen=True)
class TrainingRecipe:
    """How a family trains in the GAN (:mod:`rtdenoise.training`): its defaults, and what the
    trainer asks of it instead of which family it is."""

    default_preset: str
    #: Examples are the model's whole window, in its pre-emphasised, level-normalised domain, and
    #: the discriminators judge all of it; otherwise examples are crops of raw waveform and the
    #: discriminators judge a levelled stretch of each.
    windows: bool
    #: G has an STFT (``g.stft``) and trains with compressed-spectrum and SI-SDR losses.
    spectral_losses: bool
    lr_warmup: float
    l1_weight: float
    stft_weight: float
    disc_width: float | None             # None: the preset's own
    augment: bool


class Family:
    """The base of every family; each subclass is instantiated once and registered in
    :mod:`rtdenoise.families.registry`."""

    name: ClassVar[str]
    #: Precisions per backend; the first is what ``auto`` means there.
    precisions: ClassVar[dict[str, tuple[str, ...]]]
    #: The model streams with one framing, its own: no hop or look-ahead to choose.
    fixed_framing: ClassVar[bool]
    #: With the stream bypassed the generator may rest (its output is not heard and it keeps no
    #: state that must stay current).
    rests_when_bypassed: ClassVar[bool]
    training: ClassVar[TrainingRecipe]

    # -- rates and framing -------------------------------------------------------------------------
    def rates(self, config: Any) -> tuple[int, ...]:
        """The rates a model of this config streams at natively, its own first."""
        return (config.sample_rate,)

    def stream_rate(self, config: Any, rate: int) -> int:
        """The rate audio at ``rate`` is run at: ``rate`` itself where the model streams at it,
        else the lowest native rate above it (44.1 kHz goes to 48 kHz once, 8 kHz to the model's),
        else the highest (96 kHz to 48 kHz)."""
        if rate <= 0:
            raise ParameterError("rate", f"{{name}} must be a positive number of Hz, got {rate}")
        rates = sorted(self.rates(config))
        return rate if rate in rates else next((r for r in rates if r > rate), rates[-1])

    def check_rate(self, config: Any, rate: int | None) -> int:
        """A stream's rate (None: the model's own), or the one-line error that says which it takes."""
        if rate is None:
            return config.sample_rate
        rates = self.rates(config)
        if rate not in rates:
            raise ParameterError("rate", f"{{name}} {rate}: this model streams at {' or '.join(map(str, rates))} Hz "
                                         "(resample to one of them first)")
        return rate

    def framing(self, config: Any, hop: int | None = None, lookahead: int | None = None,
                rate: int | None = None) -> StreamConfig:
        """How a model of this config streams at ``rate`` (one of :meth:`rates`; None: its own),
        with the user's optional hop and look-ahead (samples at the model's rate), checked: a
        :class:`~rtdenoise.errors.ParameterError` names the parameter that does not fit."""
        raise NotImplementedError

    def check_overlap_hop(self, config: Any, overlap_hop: int | None) -> None:
        """Offline enhancement's hop, checked (None: the family's default)."""
        raise NotImplementedError

    # -- running the generator ---------------------------------------------------------------------
    def usable_precisions(self, backend: str) -> tuple[str, ...]:
        """The precisions of ``backend`` that run here, the default first."""
        return self.precisions.get(backend, ("fp32",))

    def resolve_precision(self, backend: str, precision: str | None = "auto") -> str:
        """The precision ``auto`` means on ``backend``; a named one is checked to exist there."""
        if precision in (None, "auto"):
            return self.usable_precisions(backend)[0]
        choices = self.precisions.get(backend, ("fp32",))
        if precision not in choices:
            raise BackendError(f"precision {precision} is not available on backend {backend}: choose {', '.join(choices)}")
        return precision

    def build_backend(self, model: Any, name: str, threads: int | None, precision: str,
                      tail: int | None) -> Backend:
        """The generator as a function on backend ``name`` (already chosen and available)."""
        raise NotImplementedError

    def stream_tail(self, framing: StreamConfig) -> int | None:
        """What a stream at ``framing`` reads of each generator call, if less than all of it."""
        return None

    # -- its ONNX graphs (:class:`rtdenoise.model.graphs.Exporter`) ------------------------------
    def cache_name(self, config: Any, precision: str, tail: int | None) -> str:
        raise NotImplementedError

    def export(self, model: Any, path: Path, tail: int | None) -> None:
        raise NotImplementedError

    def quantize(self, model: Any, fp32: Path, path: Path) -> None:
        raise NotImplementedError

    def default_graphs(self, config: Any) -> list[tuple[str, int | None]]:
        """(precision, tail) of the graphs that ship with a model, so its defaults need no export."""
        raise NotImplementedError

    # -- the signal path -------------------------------------------------------------------------
    def hop_core(self, backend: Backend, framing: StreamConfig, config: Any, preemphasis: float | None) -> HopCore:
        raise NotImplementedError

    def enhance(self, model: Any, backend: Backend, x: np.ndarray, overlap_hop: int | None,
                progress: Progress | None, rate: int | None = None) -> np.ndarray:
        """Rows [rows, n] at ``rate`` (one of :meth:`rates`; None: the model's), enhanced as a whole."""
        raise NotImplementedError

    def block_enhancer(self, model: Any, backend: Backend, rows: int, overlap_hop: int | None,
                       progress: Progress | None, rate: int | None = None) -> BlockEnhancer:
        raise NotImplementedError

    def like_stream(self, model: Any, backend: Backend, x: np.ndarray, framing: StreamConfig,
                    preemphasis: float | None = None) -> np.ndarray:
        """Offline and batched: what a stream at ``framing`` emits for ``x`` [n], without its delay
        (``model`` None: ``backend`` is a plain window function, pre-emphasised by ``preemphasis``)."""
        raise NotImplementedError

    def work_units(self, config: Any, n: int, overlap_hop: int | None, rate: int | None = None) -> int:
        """Generator calls (windows or frames) ``enhance`` makes for ``n`` samples at ``rate``: progress bars."""
        raise NotImplementedError
