"""Objective quality: wide-band PESQ, STOI and SI-SDR, for the noisy input and for a model.

Figures are computed on the fixed validation material (``valid`` rows only, see ``data``): the 120
mixtures, and four groups of audio unlike plain mixtures (rooms, telephone band, quiet or clipped
microphones, nearly clean speech; :func:`rtdenoise.data.validation_groups`), or on any folder of
noisy/clean pairs. They are summarised per group and SNR, per group, and overall, and in a
"10+" bucket per group: the mixtures at 10 dB SNR and above plus those with no noise at all, where a
denoiser should do no harm. CSIG/CBAK/COVL are not computed: no maintained package provides
them, and a hand-made version would need its own validation.
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
from tqdm import tqdm

from . import backends
from .audio import AUDIO_SUFFIXES, read_audio, resample
from .cli import add_model_flags
from .config import SAMPLE_RATE
from .data import GROUPS, Corpus, Example, default_data_dir, validation_groups, validation_set
from .enhance import enhance_16k
from .errors import AudioError, RtDenoiseError

log = logging.getLogger(__name__)

METRICS = ("pesq", "stoi", "si_sdr")

#: SI-SDR is reported up to this many dB. Why: for speech with no noise added, the input is the
#: reference itself and its SI-SDR is unbounded (about 140 dB with float rounding), which would
#: swamp any mean it enters; an error 40 dB below the speech is inaudible, so nothing is lost.
SI_SDR_CEILING = 40.0

#: A system under test: 16 kHz noisy mono in, enhanced mono of the same length out.
Enhancer = Callable[[np.ndarray], np.ndarray]


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant SDR in dB (Le Roux et al. 2019), both signals made zero-mean."""
    ref = reference.astype(np.float64) - reference.mean()
    est = estimate.astype(np.float64) - estimate.mean()
    target = ref * (np.dot(est, ref) / (np.dot(ref, ref) + 1e-12))
    return float(10 * np.log10((np.sum(target ** 2) + 1e-12) / (np.sum((est - target) ** 2) + 1e-12)))


def score(reference: np.ndarray, estimate: np.ndarray, rate: int = SAMPLE_RATE) -> dict[str, float]:
    """PESQ (wide-band; NaN where PESQ finds no utterance), STOI and SI-SDR (up to
    :data:`SI_SDR_CEILING`) of one signal pair."""
    from pesq import PesqError, pesq
    from pystoi import stoi
    try:
        p = float(pesq(rate, reference, estimate, "wb"))
    except PesqError:
        p = math.nan
    return {"pesq": p, "stoi": float(stoi(reference, estimate, rate, extended=False)),
            "si_sdr": min(SI_SDR_CEILING, si_sdr(reference, estimate))}


@dataclass
class Row:
    """Scores of one example for one system ("noisy" or a model name)."""
    system: str
    name: str
    snr: float
    kind: str
    pesq: float
    stoi: float
    si_sdr: float
    group: str = "mixtures"


def evaluate(examples: Sequence[Example], systems: dict[str, Enhancer]) -> list[Row]:
    """Score the noisy input and each system's output on every example."""
    rows = []
    for ex in tqdm(examples, desc="eval", unit="ex", disable=None, dynamic_ncols=True):
        rows.append(Row("noisy", ex.name, ex.snr, ex.kind, **score(ex.clean, ex.noisy), group=ex.group))
        for name, fn in systems.items():
            rows.append(Row(name, ex.name, ex.snr, ex.kind, **score(ex.clean, fn(ex.noisy)), group=ex.group))
    return rows


#: The do-no-harm bucket: 10 dB SNR and above, and no added noise at all.
HIGH_SNR = "10+"


def summarise(rows: Iterable[Row]) -> list[dict[str, object]]:
    """Mean of each metric (NaN PESQ left out) per (system, group, SNR), per (system, group) over
    every SNR ('all'), per (system, group) at 10 dB and above or without noise ('10+'), and per
    system over every group (group 'all', when there is more than one group)."""
    rows = list(rows)
    several = len({r.group for r in rows}) > 1
    buckets: dict[tuple[str, str, str], list[Row]] = {}
    for r in rows:
        snr = "n/a" if math.isnan(r.snr) else f"{r.snr:+.0f}"
        for group in (r.group, "all") if several else (r.group,):
            buckets.setdefault((r.system, group, "all"), []).append(r)
            if math.isnan(r.snr) or r.snr >= 10:
                buckets.setdefault((r.system, group, HIGH_SNR), []).append(r)
        buckets.setdefault((r.system, r.group, snr), []).append(r)
    out = []
    for (system, group, snr), rs in buckets.items():
        entry: dict[str, object] = {"system": system, "group": group, "snr": snr, "n": len(rs)}
        for m in METRICS:
            vals = [getattr(r, m) for r in rs if not math.isnan(getattr(r, m))]
            entry[m] = float(np.mean(vals)) if vals else math.nan
        out.append(entry)
    order = {s: i for i, s in enumerate(dict.fromkeys(r.system for r in rows))}
    groups = {g: i for i, g in enumerate(["all", *GROUPS])}
    return sorted(out, key=lambda e: (groups.get(str(e["group"]), len(groups)), e["snr"] not in ("all", HIGH_SNR),
                                      e["snr"] != "all", _snr_key(e["snr"]), order[e["system"]]))


def _snr_key(snr: object) -> float:
    try:
        return float(str(snr))
    except ValueError:
        return math.inf


def table(summary: list[dict[str, object]], by_snr: bool = True) -> str:
    """A markdown table of a summary; without ``by_snr`` only the 'all' and '10+' rows."""
    lines = ["| system | group | SNR (dB) | n | PESQ (wb) | STOI | SI-SDR (dB) |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for e in summary:
        if by_snr or e["snr"] in ("all", HIGH_SNR):
            lines.append(f"| {e['system']} | {e['group']} | {e['snr']} | {e['n']} | {e['pesq']:.3f} | {e['stoi']:.4f} "
                         f"| {e['si_sdr']:.2f} |")
    return "\n".join(lines)


def write_results(path: Path, rows: list[Row], summary: list[dict[str, object]]) -> None:
    """JSON (summary and per-example rows) or CSV (per-example rows), by the file's ending."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".csv":
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(asdict(rows[0])))
            w.writeheader()
            w.writerows(asdict(r) for r in rows)
    else:
        path.write_text(json.dumps({"summary": summary, "rows": [asdict(r) for r in rows]}, indent=1) + "\n")


def pairs_from_folder(folder: Path) -> list[Example]:
    """Examples from ``folder/noisy/*`` and ``folder/clean/*`` with matching names (any rate, mono mix)."""
    noisy_dir, clean_dir = folder / "noisy", folder / "clean"
    if not noisy_dir.is_dir() or not clean_dir.is_dir():
        raise AudioError(f"{folder}: expected subfolders noisy/ and clean/ with files of the same names")
    out = []
    for nf in sorted(p for p in noisy_dir.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES):
        cf = clean_dir / nf.name
        if not cf.is_file():
            raise AudioError(f"{nf}: no clean file {cf}")
        (noisy, rn), (clean, rc) = read_audio(nf), read_audio(cf)
        noisy, clean = resample(noisy.mean(1), rn, SAMPLE_RATE), resample(clean.mean(1), rc, SAMPLE_RATE)
        n = min(len(noisy), len(clean))
        out.append(Example(nf.stem, clean[:n], noisy[:n], math.nan, "folder", group="pairs"))
    if not out:
        raise AudioError(f"{noisy_dir}: no audio files")
    return out


def validation_examples(corpus: Corpus, groups: Sequence[str] = GROUPS, count: int = 120, group_count: int = 40,
                        seconds: float = 4.0) -> list[Example]:
    """The fixed validation material: the ``count`` mixtures and each other group asked for."""
    out = validation_set(corpus=corpus, count=count, seconds=seconds) if "mixtures" in groups and count else []
    others = [g for g in groups if g != "mixtures"]
    if others and group_count:
        out += [e for e in validation_groups(corpus, group_count, seconds) if e.group in others]
    return out


# --- the command ------------------------------------------------------------------------------

def add_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group()
    src.add_argument("--data", metavar="DIR", help="recordings folder whose valid rows make the validation set "
                     "(default: $RTDENOISE_DATA or ../shared/data)")
    src.add_argument("--pairs", metavar="DIR", help="folder with noisy/ and clean/ subfolders of same-named files")
    p.add_argument("--count", type=int, default=120, help="validation mixtures (default 120)")
    p.add_argument("--groups", nargs="*", choices=GROUPS, default=list(GROUPS),
                   help="which validation groups to score (default: all: the mixtures, rooms, telephone, levels, clean)")
    p.add_argument("--group-count", type=int, default=40, help="examples per group beside the mixtures (default 40)")
    p.add_argument("--by-snr", action="store_true", help="print a row per SNR too (the JSON always has them)")
    p.add_argument("--seconds", type=float, default=4.0, help="length of each validation mixture (default 4)")
    p.add_argument("--json", metavar="FILE", help="write the summary and every example's scores as JSON")
    p.add_argument("--csv", metavar="FILE", help="write every example's scores as CSV")
    p.add_argument("--noisy-only", action="store_true", help="score only the noisy input (no model)")
    p.add_argument("--live", action="store_true",
                   help="also score the model as `rtdenoise live` runs it (hop --hop, default 512, look-ahead --lookahead)")
    p.add_argument("--lookahead", type=int, nargs="+", default=None,
                   help="with --live: look-ahead in samples (default 512); several values score each")
    add_model_flags(p)


def main(args: argparse.Namespace) -> int:
    if args.pairs:
        examples = pairs_from_folder(Path(args.pairs))
    else:
        data = Path(args.data) if args.data else default_data_dir()
        try:
            corpus = Corpus.load(data, "valid")
        except (FileNotFoundError, ValueError) as e:
            raise RtDenoiseError(str(e)) from None
        examples = validation_examples(corpus, args.groups, args.count, args.group_count, args.seconds)
    systems: dict[str, Enhancer] = {}
    if not args.noisy_only:
        model, backend = backends.load(args.model, args.backend, args.device, precision=args.precision)
        spectral = model.config.family == "spectral"
        if spectral:
            from .enhance import check_hop
            from .streaming import check_lookahead
            check_hop(model, args.hop)
            for look in args.lookahead or []:
                check_lookahead(model, look)
        label = model.source.stem + (f" (live, {1000 * model.config.latency / model.config.sample_rate:.0f} ms)"
                                     if spectral else "")
        systems[label] = lambda x: enhance_16k(model, x, args.hop, backend=backend)[0]
        if args.live and not spectral:     # a spectral model's offline output is its stream's
            from .streaming import StreamConfig, default_stream_config, enhance_like_stream
            d = default_stream_config(model.config.window)
            for look in args.lookahead or [d.lookahead]:
                try:
                    cfg = StreamConfig(d.window, args.hop or d.hop, look)
                except ValueError as e:
                    raise RtDenoiseError(str(e)) from None
                rate = model.config.sample_rate
                label = (f"{model.source.stem} live ({1000 * cfg.latency / rate:.0f} ms: "
                         f"look-ahead {1000 * look / rate:.0f})")
                systems[label] = lambda x, cfg=cfg: enhance_like_stream(model, x, cfg, backend=backend)
    rows = evaluate(examples, systems)
    summary = summarise(rows)
    print(table(summary, by_snr=args.by_snr))
    for path in filter(None, (args.json, args.csv)):
        write_results(Path(path), rows, summary)
        log.info("wrote %s", path)
    return 0

