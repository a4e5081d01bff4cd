"""Offline enhancement: whole signals and files through the generator of either family.

A spectral model runs its frames in order from a silent start, as a stream does, in chunks with
the state carried (:func:`rtdenoise.stft.enhance`): the result is the stream's output sample for
sample, without its delay.

A seed-family generator sees fixed windows. A signal is cut into windows every ``hop`` samples (padded by
half a window at both ends, so every sample is seen by overlapping windows), each window is
enhanced, and the outputs are blended with a Hann weight normalised by the summed weights. Window
edges, where the convolutions see zero padding, count least, and an identity generator gives back
the input exactly: no seams at window borders. SEGAN's own inference cut files into
non-overlapping windows and had audible seams there.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile as sf
from tqdm import tqdm

from . import backends
from .audio import AUDIO_SUFFIXES, check_audio, read_audio, resample, write_audio
from .cli import add_model_flags
from .emphasis import deemphasis, preemphasis
from .errors import AudioError, RtDenoiseError
from .model import NoiseCanceler
from .spectral import SpectralCanceler, frame_count

log = logging.getLogger(__name__)

WindowFn = Callable[[np.ndarray], np.ndarray]


def default_hop(window: int) -> int:
    """A quarter window: each sample is blended from four windows, which smooths out edge effects."""
    return window // 4


def overlap_add(x: np.ndarray, window: int, hop: int, fn: WindowFn, batch: int = 16,
                progress: Callable[[int], None] | None = None, weight: np.ndarray | None = None,
                pad: tuple[int, int] | None = None) -> np.ndarray:
    """Apply ``fn`` ([k, window] -> [k, window]) to overlapping windows of the rows of ``x``
    ([rows, n]) and blend the outputs back into [rows, n].

    ``weight`` (per window position; default a Hann window) says how much each window's output
    counts where windows overlap; ``pad`` is the silence (before, after) the first and last
    windows reach into (default half a window each side, so every sample is seen by several)."""
    if hop <= 0 or hop > window:
        raise ValueError(f"hop must be in 1..{window}, got {hop}")
    rows, n = x.shape
    front, back = pad if pad is not None else (window // 2, window // 2)
    count = max(1, -(-(n + front + back - window) // hop) + 1)
    total = (count - 1) * hop + window
    padded = np.zeros((rows, total), np.float32)
    padded[:, front:front + n] = x
    if weight is None:
        weight = np.hanning(window + 1)[:window].astype(np.float32) + 1e-3
    out = np.zeros_like(padded)
    norm = np.zeros(total, np.float32)
    starts = np.arange(count) * hop
    for s in starts:
        norm[s:s + window] += weight
    frames = [(r, s) for r in range(rows) for s in starts]
    for i in range(0, len(frames), batch):
        chunk = frames[i:i + batch]
        y = fn(np.stack([padded[r, s:s + window] for r, s in chunk]))
        for (r, s), yy in zip(chunk, y):
            out[r, s:s + window] += weight * yy
        if progress:
            progress(len(chunk))
    out, norm = out[:, front:front + n], norm[front:front + n]
    return np.divide(out, norm, out=np.zeros_like(out), where=norm > 0)


def enhance_16k(model: "NoiseCanceler | SpectralCanceler", x: np.ndarray, hop: int | None = None, batch: int = 16,
                progress: Callable[[int], None] | None = None, backend: "str | backends.Backend | None" = "auto") -> np.ndarray:
    """Enhance rows of 16 kHz audio ([rows, n] or [n]) on ``backend`` (see :mod:`rtdenoise.backends`):
    seed family pre-emphasis to de-emphasis over overlapping windows, spectral family frame by frame."""
    cfg = model.config
    x = np.atleast_2d(np.asarray(x, np.float32))
    if isinstance(model, SpectralCanceler):
        from . import stft
        check_hop(model, hop)
        be = backends.for_model(model, backend)
        return stft.enhance(be.fn, be.initial_state, x, cfg, progress)
    pre, _ = preemphasis(x, cfg.preemphasis)
    fn = backends.for_model(model, backend).fn
    y = overlap_add(pre, cfg.window, hop or default_hop(cfg.window), fn, batch, progress)
    out, _ = deemphasis(y, cfg.preemphasis)
    return out


def check_hop(model: "NoiseCanceler | SpectralCanceler", hop: int | None) -> None:
    """A spectral model has one hop, its own: any other is a one-line error that says which."""
    if isinstance(model, SpectralCanceler) and hop not in (None, model.config.hop):
        raise RtDenoiseError(f"--hop {hop}: this spectral model runs one frame every {model.config.hop} samples "
                             f"(use --hop {model.config.hop} or leave it out)")


def enhance(model: "NoiseCanceler | SpectralCanceler", audio: np.ndarray, sample_rate: int, hop: int | None = None,
            progress: Callable[[int], None] | None = None, backend: "str | backends.Backend | None" = "auto") -> np.ndarray:
    """Denoise ``audio`` ([frames] or [frames, channels], any rate) and return it in the same shape
    and rate. Channels are enhanced independently; other rates go through soxr to 16 kHz and back."""
    audio = np.asarray(audio, np.float32)
    check_audio(audio)
    mono = audio.ndim == 1
    frames = audio[:, None] if mono else audio
    x = resample(frames, sample_rate, model.config.sample_rate).T          # [channels, n16]
    y = enhance_16k(model, x, hop, progress=progress, backend=backend).T
    y = resample(y, model.config.sample_rate, sample_rate)
    y = _fit(y, len(frames))
    return y[:, 0] if mono else y


def windows_for(model: "NoiseCanceler | SpectralCanceler", frames: int, channels: int, sample_rate: int,
                hop: int | None = None) -> int:
    """How many generator windows (spectral family: frames) ``enhance`` will run for such audio,
    for progress bars."""
    n = int(np.ceil(frames * model.config.sample_rate / sample_rate))
    if isinstance(model, SpectralCanceler):
        return channels * frame_count(n, model.config.n_fft, model.config.hop)
    w = model.config.window
    h = hop or default_hop(w)
    return channels * max(1, -(-(n + 2 * (w // 2) - w) // h) + 1)


def _fit(y: np.ndarray, n: int) -> np.ndarray:
    """Trim or zero-pad axis 0 to n (resampling round trips can differ by a sample)."""
    if len(y) >= n:
        return y[:n]
    return np.concatenate([y, np.zeros((n - len(y),) + y.shape[1:], y.dtype)])


# --- the command ------------------------------------------------------------------------------

def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", metavar="IN", help="audio files or folders (searched recursively)")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output folder, or a file name when there is a single input file")
    p.add_argument("--noise-out", metavar="DIR", help="also write the estimated noise (input minus output) here")
    p.add_argument("--force", action="store_true", help="replace existing outputs (inputs are never replaced)")
    add_model_flags(p)


def plan_outputs(inputs: list[str], output: str) -> list[tuple[Path, Path]]:
    """(input file, output file) pairs. Folders keep their inner layout under ``output``; a single
    input file may be written to an output file name."""
    files: list[tuple[Path, Path]] = []
    for arg in inputs:
        p = Path(arg)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in AUDIO_SUFFIXES)
            if not found:
                raise AudioError(f"{p}: no audio files in this folder")
            files += [(f, f.relative_to(p)) for f in found]
        elif p.is_file():
            files.append((p, Path(p.name)))
        else:
            raise AudioError(f"{p}: no such file or folder")
    out = Path(output)
    if len(inputs) == 1 and Path(inputs[0]).is_file() and out.suffix.lower() in AUDIO_SUFFIXES:
        return [(files[0][0], out)]
    return [(src, out / rel) for src, rel in files]


def _check_plan(plan: list[tuple[Path, Path]], force: bool) -> None:
    """Refuse before any work: outputs that are inputs, collide, or exist (unless ``force``)."""
    sources = {src.resolve() for src, _ in plan}
    seen: set[Path] = set()
    for _, dst in plan:
        r = dst.resolve()
        if r in sources:
            raise RtDenoiseError(f"{dst}: output would overwrite an input; choose another output")
        if r in seen:
            raise RtDenoiseError(f"{dst}: two inputs would be written to the same output")
        seen.add(r)
        if dst.exists() and not force:
            raise RtDenoiseError(f"{dst}: already exists (use --force to replace it)")


def main(args: argparse.Namespace) -> int:
    plan = plan_outputs(args.inputs, args.output)
    noise_plan = plan_outputs(args.inputs, args.noise_out) if args.noise_out else []
    _check_plan(plan + noise_plan, args.force)
    model, backend = backends.load(args.model, args.backend, args.device, precision=args.precision)
    total = 0
    for src, _ in plan:
        try:
            info = sf.info(str(src))
            total += windows_for(model, info.frames, info.channels, info.samplerate, args.hop)
        except (sf.LibsndfileError, RuntimeError):
            pass                                            # reported when it is read
    failed = 0
    with tqdm(total=total, unit="win", desc="enhance", disable=None, dynamic_ncols=True) as bar:
        for i, (src, dst) in enumerate(plan):
            try:
                audio, rate = read_audio(src)
                # Clip once here, so that output + noise = input holds for the files as written.
                clean = np.clip(enhance(model, audio, rate, args.hop, progress=bar.update, backend=backend), -1.0, 1.0)
                write_audio(dst, clean, rate)
                if noise_plan:
                    write_audio(noise_plan[i][1], audio - clean, rate)
                log.debug("%s -> %s", src, dst)
            except RtDenoiseError as e:
                if len(plan) == 1:
                    raise
                failed += 1                                 # report it and go on with the rest
                bar.write(f"rtdenoise: error: {e}", file=sys.stderr)
    if failed:
        raise RtDenoiseError(f"{failed} of {len(plan)} files failed (see above)")
    log.info("wrote %d file%s to %s", len(plan), "" if len(plan) == 1 else "s", args.output)
    return 0

