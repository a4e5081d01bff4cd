"""``rtdenoise enhance``: denoise audio files and folders.

Folders are searched recursively and mirrored under the output; existing outputs are kept unless
``--force``, inputs are never overwritten, and one bad file (or one place that cannot be written)
among many is reported while the rest are still processed. Files go through in blocks
(:mod:`rtdenoise.signal.blockwise`), so memory does not grow with their length, and keep their rate,
channels, length and sample format.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import soundfile as sf
from tqdm import tqdm

from ..errors import AudioError, RtDenoiseError
from ..families import of
from ..families.runtime import open_model
from ..options import add_control_flags, add_model_flags
from ..signal.audio import AUDIO_SUFFIXES, output_subtype
from ..signal.blockwise import enhance_file
from ..signal.offline import work_units
from ..signal.streaming import effective_strength

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", metavar="IN", help="audio files or folders (searched recursively)")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output folder, or a file name when there is a single input file")
    p.add_argument("--noise-out", metavar="DIR", help="also write the estimated noise (input minus output) here")
    p.add_argument("--force", action="store_true", help="replace existing outputs (inputs are never replaced)")
    p.add_argument("--subtype", metavar="TYPE", help="sample format of the outputs, e.g. PCM_16, PCM_24, FLOAT "
                   "(default: the input's, where the output's file type can hold it)")
    add_control_flags(p.add_argument_group("controls (as rtdenoise live has them)"))
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


def _check_plan(plan: list[tuple[Path, Path]], noise_plan: list[tuple[Path, Path]], force: bool) -> None:
    """Refuse before any work: outputs that are inputs, collide, or exist (unless ``force``)."""
    sources = {src.resolve() for src, _ in plan}
    seen: dict[Path, str] = {}
    for what, pairs in (("output", plan), ("noise output", noise_plan)):
        for _, dst in pairs:
            r = dst.resolve()
            if r in sources:
                raise RtDenoiseError(f"{dst}: {what} would overwrite an input; choose another {what}")
            if r in seen:
                raise RtDenoiseError(f"{dst}: the {seen[r]} and the {what} would both be written here"
                                     if seen[r] != what else f"{dst}: two inputs would be written to the same {what}")
            seen[r] = what
            if dst.exists() and not force:
                raise RtDenoiseError(f"{dst}: already exists (use --force to replace it)")


def main(args: argparse.Namespace) -> int:
    plan = plan_outputs(args.inputs, args.output)
    noise_plan = plan_outputs(args.inputs, args.noise_out) if args.noise_out else []
    _check_plan(plan, noise_plan, args.force)
    for _, dst in plan:                       # a --subtype the output's type cannot hold: refused before any work
        output_subtype(dst, None, args.subtype)
    strength = effective_strength(args.strength, args.atten_limit)
    opened = open_model(args.model, args.backend, args.device, precision=args.precision)
    model, backend = opened.model, opened.backend
    of(model).check_overlap_hop(model.config, args.overlap_hop)
    total = 0
    for src, _ in plan:
        try:
            info = sf.info(str(src))
            total += work_units(model, info.frames, info.channels, info.samplerate, args.overlap_hop)
        except (sf.LibsndfileError, RuntimeError):
            pass                                            # reported when it is read
    failed = 0
    with tqdm(total=total, unit="win", desc="enhance", disable=None, dynamic_ncols=True) as bar:
        for i, (src, dst) in enumerate(plan):
            try:
                enhance_file(model, src, dst, backend, args.overlap_hop, noise_plan[i][1] if noise_plan else None,
                             args.subtype, progress=bar.update, strength=strength)
                log.debug("%s -> %s", src, dst)
            except RtDenoiseError as e:
                if len(plan) == 1:
                    raise
                failed += 1                                 # report it and go on with the rest
                bar.write(f"rtdenoise: failed: {e}", file=sys.stderr)
    if failed:
        raise RtDenoiseError(f"{failed} of {len(plan)} files failed (see above)")
    log.info("wrote %d file%s to %s", len(plan), "" if len(plan) == 1 else "s", args.output)
    return 0

