"""Scoring systems on many examples: the noisy input and each system, per group and SNR.

Figures are computed on the fixed validation material (``valid`` rows only, see
:mod:`rtdenoise.data.validation`): the 120 mixtures, four groups of audio unlike plain mixtures
(rooms, telephone band, quiet or clipped microphones, nearly clean speech) and the 48 kHz
``fullband`` group (:mod:`rtdenoise.data.fullband`), or on any folder of noisy/clean pairs. They are summarised per group and SNR, per group, and overall, and in
a "10+" bucket per group: the mixtures at 10 dB SNR and above plus those with no noise at all,
where a denoiser should do no harm.
"""
from __future__ import annotations

import csv
import json
import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
from tqdm import tqdm

from ..data.recordings import Corpus
from ..data.real_world import REAL_GROUPS
from ..data.validation import GROUPS, Example, validation_groups, validation_set
from ..errors import AudioError
from ..model.config import SAMPLE_RATE
from ..signal.audio import AUDIO_SUFFIXES, read_audio, resample
from .metrics import FULLBAND_METRICS, METRICS, NO_REFERENCE_METRICS, PAUSE_METRIC, dnsmos, noise_in_pauses, score

log = logging.getLogger(__name__)

#: A system under test: ``fn(noisy, rate)``, mono at ``rate`` in, enhanced mono of the same
#: length and rate out.
Enhancer = Callable[[np.ndarray, int], np.ndarray]
#: The 48 kHz group beside :data:`rtdenoise.data.validation.GROUPS` (its examples need the data's
#: extra index files).
FULLBAND = "fullband"
ALL_GROUPS = (*GROUPS, FULLBAND, *REAL_GROUPS)
#: Every metric a row may carry, in report order.
ALL_METRICS = (*METRICS, PAUSE_METRIC, *NO_REFERENCE_METRICS, *FULLBAND_METRICS)


def at_rate(fn: Callable[[np.ndarray], np.ndarray], rate: int = SAMPLE_RATE) -> Enhancer:
    """An :data:`Enhancer` from a function that takes audio at ``rate`` only: audio at any other
    rate goes through soxr to it and back (band-limited to it, as such a system is)."""
    def run(x: np.ndarray, r: int) -> np.ndarray:
        if r == rate:
            return fn(x)
        y = fn(resample(x, r, rate))
        y = resample(y, rate, r)
        return np.pad(y, (0, max(0, len(x) - len(y))))[:len(x)]
    return run


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
    si_sdr_fb: float = math.nan        # full-band pairs only (see rtdenoise.evaluation.metrics)
    lsd_hf: float = math.nan
    visqol: float = math.nan
    pauses_db: float = math.nan        # see rtdenoise.evaluation.metrics.noise_in_pauses
    dnsmos_sig: float = math.nan
    dnsmos_bak: float = math.nan
    dnsmos_ovrl: float = math.nan


def evaluate(examples: Sequence[Example], systems: dict[str, Enhancer], no_reference: bool = True) -> list[Row]:
    """Score the noisy input and each system's output on every example; ``no_reference``: DNSMOS
    too (where ``speechmos`` is installed). An example without a clean reference (a user's own
    recording) gets only DNSMOS."""
    rows = []
    for ex in tqdm(examples, desc="eval", unit="ex", disable=None, dynamic_ncols=True):
        for name, fn in {"noisy": None, **systems}.items():
            out = ex.noisy if fn is None else fn(ex.noisy, ex.rate)
            scores = dict.fromkeys(METRICS, math.nan)
            if ex.clean is not None:
                scores.update(score(ex.clean, out, ex.rate), pauses_db=noise_in_pauses(ex.clean, ex.noisy, out, ex.rate))
            if no_reference:
                scores.update(dnsmos(out, ex.rate))
            rows.append(Row(name, ex.name, ex.snr, ex.kind, group=ex.group, **scores))
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
        for m in ALL_METRICS:
            vals = [getattr(r, m) for r in rs if not math.isnan(getattr(r, m))]
            entry[m] = float(np.mean(vals)) if vals else math.nan
        out.append(entry)
    order = {s: i for i, s in enumerate(dict.fromkeys(r.system for r in rows))}
    groups = {g: i for i, g in enumerate(["all", *ALL_GROUPS])}
    return sorted(out, key=lambda e: (groups.get(str(e["group"]), len(groups)), e["snr"] not in ("all", HIGH_SNR),
                                      e["snr"] != "all", _snr_key(e["snr"]), order[e["system"]]))


def _snr_key(snr: object) -> float:
    try:
        return float(str(snr))
    except ValueError:
        return math.inf


#: Table columns beyond PESQ, STOI and SI-SDR, each shown when any row has it: (metric, heading, format).
OPTIONAL_COLUMNS = (("pauses_db", "noise in pauses (dB below input)", ".1f"), ("dnsmos_sig", "DNSMOS SIG", ".2f"),
                    ("dnsmos_bak", "DNSMOS BAK", ".2f"), ("dnsmos_ovrl", "DNSMOS OVRL", ".2f"),
                    ("si_sdr_fb", "SI-SDR 48 kHz (dB)", ".2f"), ("lsd_hf", "LSD > 8 kHz (dB)", ".2f"),
                    ("visqol", "ViSQOL", ".3f"))


def table(summary: list[dict[str, object]], by_snr: bool = True) -> str:
    """A markdown table of a summary; without ``by_snr`` only the 'all' and '10+' rows. The
    pause, DNSMOS and full-band columns are there when any example has them; an empty cell is a
    metric that example's group does not define (PESQ on noise alone, LSD above 8 kHz at 16 kHz)."""
    shown = [(m, head, fmt) for m, head, fmt in OPTIONAL_COLUMNS
             if any(not math.isnan(float(e.get(m, math.nan))) for e in summary)]
    head = "| system | group | SNR (dB) | n | PESQ (wb) | STOI | SI-SDR (dB) |" + "".join(f" {h} |" for _, h, _ in shown)
    lines = [head, "|" + " --- |" * (head.count("|") - 1)]
    cell = lambda v, fmt: "" if math.isnan(float(v)) else format(v, fmt)
    for e in summary:
        if by_snr or e["snr"] in ("all", HIGH_SNR):
            line = (f"| {e['system']} | {e['group']} | {e['snr']} | {e['n']} | {cell(e['pesq'], '.3f')} | "
                    f"{cell(e['stoi'], '.4f')} | {cell(e['si_sdr'], '.2f')} |")
            lines.append(line + "".join(f" {cell(e.get(m, math.nan), fmt)} |" for m, _, fmt in shown))
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


def validation_examples(corpus: Corpus, groups: Sequence[str] = ALL_GROUPS, count: int = 120, group_count: int = 40,
                        seconds: float = 4.0, data_dir: Path | None = None) -> list[Example]:
    """The fixed validation material: the ``count`` mixtures and each other group asked for (the
    full-band group from ``data_dir``; where that has no full-band material, it is left out and
    said so in the log)."""
    out = validation_set(corpus=corpus, count=count, seconds=seconds) if "mixtures" in groups and count else []
    others = [g for g in groups if g in GROUPS and g != "mixtures"]
    if others and group_count:
        out += [e for e in validation_groups(corpus, group_count, seconds) if e.group in others]
    if FULLBAND in groups and group_count:
        from ..data.fullband import fullband_examples
        try:
            out += fullband_examples(data_dir, group_count, seconds)
        except FileNotFoundError as e:
            log.warning("the %s group is left out: %s", FULLBAND, e)
    real = tuple(g for g in groups if g in REAL_GROUPS)
    if real and group_count:
        from ..data.real_world import real_world_examples
        try:
            out += real_world_examples(corpus, real, group_count, seconds, data_dir)
        except FileNotFoundError as e:
            log.warning("the groups %s are left out: %s", ", ".join(real), e)
    return out


def recordings_from_folder(folder: Path) -> list[Example]:
    """A user's own recordings, noisy with no clean reference: every audio file in ``folder``
    (any rate, mono mix), for the no-reference metrics alone."""
    if not folder.is_dir():
        raise AudioError(f"{folder}: not a folder")
    out = []
    for f in sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES):
        x, rate = read_audio(f)
        out.append(Example(f.stem, None, x.mean(1), math.nan, "recording", "recordings", rate))
    if not out:
        raise AudioError(f"{folder}: no audio files")
    return out
