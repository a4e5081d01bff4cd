"""``rtdenoise eval``: PESQ, STOI, SI-SDR, the noise left in pauses and DNSMOS of the noisy input and
a model, per group and overall; or DNSMOS alone, before and after, on a folder of a user's own
recordings (no clean reference needed)."""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..data.recordings import Corpus, default_data_dir
from ..errors import RtDenoiseError
from ..families import of
from ..families.runtime import open_model
from ..options import add_model_flags
from ..signal.offline import enhance
from ..signal.streaming import enhance_like_stream
from . import metrics
from .evaluate import (ALL_GROUPS, Enhancer, at_rate, evaluate, pairs_from_folder, recordings_from_folder, summarise,
                       table, validation_examples, write_results)

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group()
    src.add_argument("--data", metavar="DIR", help="recordings folder whose valid rows make the validation set "
                     "(default: $RTDENOISE_DATA or ../shared/data)")
    src.add_argument("--pairs", metavar="DIR", help="folder with noisy/ and clean/ subfolders of same-named files")
    src.add_argument("--recordings", metavar="DIR", help="folder of your own noisy recordings (no clean reference): "
                     "DNSMOS before and after")
    p.add_argument("--count", type=int, default=120, help="validation mixtures (default 120)")
    p.add_argument("--groups", nargs="*", choices=ALL_GROUPS, default=list(ALL_GROUPS),
                   help="which validation groups to score (default: all: the mixtures, rooms, telephone, levels, clean, "
                        "fullband at 48 kHz, and real-noise, new-speakers, pauses and noise-alone where the data has them)")
    p.add_argument("--group-count", type=int, default=40, help="examples per group beside the mixtures (default 40)")
    p.add_argument("--by-snr", action="store_true", help="print a row per SNR too (the JSON always has them)")
    p.add_argument("--seconds", type=float, default=4.0, help="length of each validation mixture (default 4)")
    p.add_argument("--json", metavar="FILE", help="write the summary and every example's scores as JSON")
    p.add_argument("--csv", metavar="FILE", help="write every example's scores as CSV")
    p.add_argument("--noisy-only", action="store_true", help="score only the noisy input (no model)")
    p.add_argument("--no-dnsmos", dest="dnsmos", action="store_false",
                   help="leave DNSMOS out (a fraction of a second per 9 s window of audio, per system)")
    p.add_argument("--live", action="store_true",
                   help="also score the model as `rtdenoise live` runs it (its stream's hop --hop, look-ahead --lookahead)")
    p.add_argument("--lookahead", type=int, nargs="+", default=None,
                   help="with --live: look-ahead in samples (default as rtdenoise live's); several values score each")
    add_model_flags(p, hops=("overlap", "stream"))


def main(args: argparse.Namespace) -> int:
    if args.recordings and not args.dnsmos:
        raise RtDenoiseError("--recordings is scored by DNSMOS alone: leave out --no-dnsmos")
    if args.recordings:
        if not metrics.dnsmos_available():
            raise RtDenoiseError("--recordings needs DNSMOS: pip install speechmos librosa (or the eval extra)")
        examples = recordings_from_folder(Path(args.recordings))
    elif args.pairs:
        examples = pairs_from_folder(Path(args.pairs))
    else:
        data = Path(args.data) if args.data else default_data_dir()
        try:
            corpus = Corpus.load(data, "valid")
        except (FileNotFoundError, ValueError) as e:
            raise RtDenoiseError(str(e)) from None
        examples = validation_examples(corpus, args.groups, args.count, args.group_count, args.seconds, data)
    systems: dict[str, Enhancer] = {}
    if not args.noisy_only:
        systems.update(model_systems(args))
    rows = evaluate(examples, systems, no_reference=args.dnsmos)
    summary = summarise(rows)
    print(table(summary, by_snr=args.by_snr))
    for path in filter(None, (args.json, args.csv)):
        write_results(Path(path), rows, summary)
        log.info("wrote %s", path)
    return 0


def model_systems(args: argparse.Namespace) -> dict[str, Enhancer]:
    """The model offline (``--overlap-hop``) and, with ``--live``, as its stream runs at each
    look-ahead: each framing decided by the model's family exactly as ``live`` decides it."""
    looks = args.lookahead or [None]
    opened = open_model(args.model, args.backend, args.device, precision=args.precision, hop=args.hop,
                        lookahead=looks[0])
    model, backend = opened.model, opened.backend
    family = of(model)
    framings = [family.framing(model.config, args.hop, look) for look in looks]
    family.check_overlap_hop(model.config, args.overlap_hop)
    name = model.source.stem
    offline: Enhancer = lambda x, rate: enhance(model, x, rate, args.overlap_hop, backend=backend)
    if family.fixed_framing:                # its offline output is its stream's
        return {f"{name} (live, {framings[0].latency_ms:.0f} ms)": offline}
    systems = {name: offline}
    for f in framings if args.live else []:
        label = f"{name} live ({f.latency_ms:.0f} ms: look-ahead {1000 * f.lookahead / f.rate:.0f})"
        systems[label] = at_rate(lambda x, f=f: enhance_like_stream(model, x, f, backend=backend), f.rate)
    return systems
