"""Generators rewritten for inference engines, and their ONNX export.

The seed family (below, first) needs rewriting to be fast; the spectral family exports as it is, as a
step graph with its state as inputs and outputs (:func:`export_spectral_onnx`).

Two rewrites give the same numbers as :class:`~rtdenoise.model.NoiseCanceler` with less work:

Polyphase upsampling
    A stride-2 ``ConvTranspose1d`` is two ordinary convolutions, one per output phase (even and
    odd samples), interleaved. They are stacked into one ``Conv1d`` with twice the output
    channels. ONNX Runtime runs plain convolutions no slower than transposed ones, and only plain
    ones have an int8 kernel, so this is what lets the whole decoder be quantised.
Only the tail a stream reads
    A stream takes from each window only its last samples (the hop it emits plus the crossfade
    into the next). Every decoder sample depends on a few neighbours of the layer below, so the
    decoder computes, level by level, only the frames that reach those last samples: at the full
    rate about a quarter of the window instead of all of it. The encoder still sees the whole
    window, since the bottleneck does. The frame ranges are fixed when the graph is built.

int8
    ONNX Runtime's static quantisation (per-channel int8 weights, uint8 activations, QDQ form) of
    every convolution except those nearest the waveform: the first two encoder layers and the last
    three decoder layers stay fp32, where rounding is heard most and compute is smallest.
    Activation ranges come from :func:`calibration_windows`: synthetic speech with babble and
    stationary noise at -5 to 20 dB SNR (``models/calibration.flac``, made by
    ``scripts/make_calibration.py``), never the validation data. On a 2-core Zen 4 CPU this made
    the streaming hop of ``rtdenoise-small`` about three times cheaper than fp32 (see the README's
    benchmark for the quality it costs).
"""
from __future__ import annotations

import copy
import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import RtDenoiseError
from .config import SAMPLE_RATE
from .pretrained import CALIBRATION_FILE, calibration_file
from .seed import NoiseCanceler, level_gain
from .spectral import SpectralCanceler

log = logging.getLogger(__name__)

#: fp32 layers kept at each end of the int8 graph: (first encoder layers, last decoder layers).
FLOAT_ENDS = (2, 3)


class ExportError(RtDenoiseError):
    """An export or quantisation step failed."""


class PolyphaseUpsample(nn.Module):
    """``ConvTranspose1d(stride=2)`` as one ``Conv1d`` whose 2C outputs are the even and odd phases.

    For output sample ``o = 2m + r`` the transposed convolution sums ``x[i] * w[k]`` over
    ``o = 2i + k - p``, so phase ``r`` uses the taps ``k`` of one parity at input offsets
    ``d = i - m = (r + p - k) / 2``. Frame ``m`` of the ``Conv1d`` reads inputs ``m + lo .. m + hi``.
    """

    def __init__(self, deconv: nn.ConvTranspose1d) -> None:
        super().__init__()
        if deconv.stride != (2,) or deconv.dilation != (1,) or deconv.groups != 1 or deconv.output_padding != (0,):
            raise ValueError("only stride-2, undilated, ungrouped transposed convolutions are supported")
        w = deconv.weight.detach()                       # [C_in, C_out, K]
        c_in, c_out, K = w.shape
        p = deconv.padding[0]
        taps = [[(k, (r + p - k) // 2) for k in range(K) if (r + p - k) % 2 == 0] for r in (0, 1)]
        offsets = [d for phase in taps for _, d in phase]
        self.lo, self.hi = min(offsets), max(offsets)
        weight = torch.zeros(2, c_out, c_in, self.hi - self.lo + 1, dtype=w.dtype)
        for r, phase in enumerate(taps):
            for k, d in phase:
                weight[r, :, :, d - self.lo] = w[:, :, k].T
        self.conv = nn.Conv1d(c_in, 2 * c_out, self.hi - self.lo + 1)
        self.conv.weight.data = weight.reshape(2 * c_out, c_in, -1).contiguous()
        bias = deconv.bias.detach() if deconv.bias is not None else torch.zeros(c_out)
        self.conv.bias.data = bias.repeat(2).contiguous()
        self.channels = c_out

    def forward(self, x: Tensor) -> Tensor:
        """[B, C_in, n] -> [B, C_out, 2n], zero-padded at both ends like the transposed convolution."""
        if -self.lo == self.hi:
            y = F.conv1d(x, self.conv.weight, self.conv.bias, padding=self.hi)
        else:
            y = self.conv(F.pad(x, (-self.lo, self.hi)))
        B, _, n = y.shape
        return y.view(B, 2, self.channels, n).permute(0, 2, 3, 1).reshape(B, self.channels, 2 * n)


class InferenceGenerator(nn.Module):
    """The same function as ``g`` (a :class:`NoiseCanceler`), for export: polyphase decoder, and
    with ``tail`` only the last ``tail`` output samples, computed through the decoder's cone.

    [B, 1, window] -> [B, 1, tail]. Built from a copy of ``g``'s weights, on the CPU."""

    def __init__(self, g: NoiseCanceler, tail: int | None = None) -> None:
        super().__init__()
        g = copy.deepcopy(g).to("cpu").eval()
        self.config = cfg = g.config
        W = cfg.window
        self.tail = W if tail is None else int(tail)
        if not 0 < self.tail <= W:
            raise ValueError(f"tail must be in 1..{W}, got {tail}")
        self.encoder, self.enc_act, self.dec_act = g.encoder, g.enc_act, g.dec_act
        self.ups = nn.ModuleList(PolyphaseUpsample(d) for d in g.decoder)
        # Where each decoder layer's input must start (a), and the first frame it computes (f):
        # walked back from the tail's first sample.
        n = len(self.ups)
        starts = [0] * (n + 1)
        frames = [0] * n
        starts[n] = W - self.tail
        for j in reversed(range(n)):
            frames[j] = starts[j + 1] // 2
            starts[j] = max(0, frames[j] + self.ups[j].lo)
        self.starts, self.frames = starts, frames

    def forward(self, x: Tensor) -> Tensor:
        cfg = self.config
        gain = level_gain(x, cfg.level_db) if cfg.level_db is not None else None
        h = x * gain if gain is not None else x
        inp = h
        skips = []
        for conv, act in zip(self.encoder, self.enc_act):
            h = act(conv(h))
            skips.append(h)
        if cfg.latent:
            h = torch.cat([h, torch.randn_like(h)], dim=1)
        skips = skips[:-1][::-1]
        h = h[..., self.starts[0]:]
        for j, up in enumerate(self.ups):
            # h starts at sample starts[j]; frames computed from the cut input are valid from
            # frames[j] on (their taps all lie after the cut), and the next layer wants samples
            # from starts[j + 1] >= 2 * frames[j] on.
            y = up(h)[..., self.starts[j + 1] - 2 * self.starts[j]:]
            h = torch.cat([self.dec_act[j](y), skips[j][..., self.starts[j + 1]:]], dim=1) if j < len(skips) else y
        start = self.starts[-1]
        if cfg.residual:
            out = inp[..., start:] - torch.tanh(h)
        else:
            out = torch.tanh(h)
        return out / gain if gain is not None else out


# --- ONNX -----------------------------------------------------------------------------------------

def export_onnx(model: NoiseCanceler, path: Path, tail: int | None = None) -> Path:
    """Export :class:`InferenceGenerator` (dynamic batch) to ``path``, written under a temporary
    name and renamed, so a killed export never leaves a half file that later runs would trust."""
    net = InferenceGenerator(model, tail).eval()
    x = torch.zeros(1, 1, net.config.window)
    batch = torch.export.Dim("batch", min=1, max=1024)
    return _atomic(path, "ONNX export", lambda tmp: torch.onnx.export(
        net, (x,), tmp, dynamo=True, dynamic_shapes=({0: batch},), external_data=False, verbose=False))


def _atomic(path: Path, what: str, make: Any) -> Path:
    """``make(tmp)`` into a temporary file beside ``path``, renamed into place when complete, so a
    killed or failed step never leaves a half file that later runs would trust; a failure is one
    :class:`ExportError` line. The exporters' and quantisers' chatter is silenced meanwhile."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=path.parent)
    os.close(fd)
    try:
        with _quiet():
            make(tmp)
        os.replace(tmp, path)
    except Exception as e:
        raise ExportError(f"{what} failed: {str(e).splitlines()[0][:200]}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def quantize_int8(src: Path, dst: Path, windows: list[np.ndarray]) -> Path:
    """Statically quantise the convolutions of the fp32 graph ``src`` into ``dst`` (see the module
    docstring), with activation ranges from ``windows`` (pre-emphasised, [window] each)."""
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    graph = onnx.load(str(src))
    name = graph.graph.input[0].name
    first, last = FLOAT_ENDS
    n = sum(1 for node in graph.graph.node if node.op_type == "Conv") // 2
    keep = {f"encoder.{i}.weight" for i in range(first)} | {f"ups.{n - 1 - i}.conv.weight" for i in range(last)}
    float_nodes = [node.name for node in graph.graph.node if node.op_type == "Conv" and node.input[1] in keep]

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(windows)

        def get_next(self) -> dict[str, np.ndarray] | None:
            w = next(self._it, None)
            return None if w is None else {name: np.asarray(w, np.float32)[None, None]}

    def make(tmp: str) -> None:
        pre = Path(tmp).with_suffix(".pre.onnx")
        try:
            quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
            quantize_static(str(pre), tmp, Reader(), quant_format=QuantFormat.QDQ, op_types_to_quantize=["Conv"],
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True,
                            calibrate_method=CalibrationMethod.Percentile, nodes_to_exclude=float_nodes,
                            extra_options={"CalibPercentile": 99.999})
        finally:
            for leftover in (pre, Path(str(pre) + ".data")):
                leftover.unlink(missing_ok=True)
    return _atomic(dst, "int8 quantisation", make)


class _SpectralStep(nn.Module):
    """``SpectralCanceler.step`` as a module with positional tensors, for the exporter."""

    def __init__(self, g: SpectralCanceler) -> None:
        super().__init__()
        self.g = copy.deepcopy(g).to("cpu").eval()

    def forward(self, spec: Tensor, *state: Tensor) -> tuple[Tensor, ...]:
        return self.g.step(spec, *state)


def export_spectral_onnx(model: SpectralCanceler, path: Path) -> Path:
    """Export the spectral generator's step (any batch, any number of frames) to ``path``: inputs
    ``spec`` [B, T, bins, 2] and the state (:attr:`SpectralCanceler.state_names`), outputs ``out``
    and the next state (``<name>_out``). Written under a temporary name and renamed.

    The TorchScript exporter is used here, not the dynamo one: it maps ``nn.GRU`` to ONNX's GRU
    operator with the frame count left dynamic (one graph for a live frame and a whole file),
    where the dynamo exporter fixed the frame count of the traced example."""
    step = _SpectralStep(model)
    names = model.state_names
    state = model.initial_state(1, "cpu")
    spec = torch.zeros(1, 3, model.config.bins, 2)
    axes = {"spec": {0: "batch", 1: "frames"}, "out": {0: "batch", 1: "frames"}}
    for name, s in zip(names, state):
        b = 1 if name == "gru" else 0                      # GRU state is [layers, batch, hidden]
        axes[name] = axes[name + "_out"] = {b: "batch"}
    return _atomic(path, "ONNX export", lambda tmp: torch.onnx.export(
        step, (spec, *state), tmp, dynamo=False, opset_version=17, input_names=["spec", *names],
        output_names=["out", *[n + "_out" for n in names]], dynamic_axes=axes))


def quantize_spectral_int8(src: Path, dst: Path) -> Path:
    """Dynamic int8 quantisation (weights int8, activations quantised per call) of the spectral
    step graph's matrix products and GRUs: no calibration data needed."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    return _atomic(dst, "int8 quantisation", lambda tmp: quantize_dynamic(
        str(src), tmp, weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Gemm", "GRU"]))


def calibration_windows(window: int, preemphasis: float, count: int = 144, seed: int = 0) -> list[np.ndarray]:
    """``count`` windows drawn (seeded) from the calibration clip, pre-emphasised as G sees them."""
    import soundfile as sf
    from .emphasis import emphasise
    try:
        audio, rate = sf.read(str(calibration_file()), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as e:
        raise ExportError(f"{CALIBRATION_FILE}: cannot read it ({str(e).splitlines()[0][:120]})") from None
    if rate != SAMPLE_RATE:
        raise ExportError(f"{CALIBRATION_FILE} must be {SAMPLE_RATE // 1000} kHz, not {rate} Hz")
    pre, _ = emphasise(audio[:, 0].astype(np.float32), preemphasis)
    if len(pre) < window:
        raise ExportError(f"{CALIBRATION_FILE} is shorter than one window")
    rng = np.random.default_rng(seed)
    return [pre[s:s + window].copy() for s in rng.integers(0, len(pre) - window + 1, count)]


def calibration_key() -> str:
    """Part of the int8 cache key: a changed calibration clip means a new quantisation."""
    return hashlib.sha256(calibration_file().read_bytes()).hexdigest()[:8]


class _quiet:
    """Silence stdout, warnings and other libraries' logging (the exporter's optimiser and the
    quantiser report every step) while they run; our own messages are logged before and after."""

    def __enter__(self) -> None:
        import contextlib
        import io
        import warnings
        self._stack = contextlib.ExitStack()
        self._stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
        self._stack.enter_context(warnings.catch_warnings())
        warnings.simplefilter("ignore")
        self._disabled = logging.root.manager.disable
        logging.disable(logging.WARNING)

    def __exit__(self, *exc: object) -> None:
        logging.disable(self._disabled)
        self._stack.close()
