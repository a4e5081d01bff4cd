"""``rtdenoise bench``: rtdenoise and its peers, side by side, on the same audio, in one run.

Quality: PESQ (wide-band), STOI and SI-SDR on the fixed, seeded validation material (valid
speakers x valid noises: the 120 mixtures at -5 to 15 dB SNR, and the groups of rooms, telephone
band, quiet or clipped microphones and nearly clean speech; :mod:`rtdenoise.evaluation`), per
group, per SNR and overall, with the noisy input as a row; on the 48 kHz ``fullband`` group also
SI-SDR at 48 kHz, the log-spectral distance above 8 kHz and ViSQOL, each system at its native rate;
on the real-world groups (real noise, new speakers, conversation-like pauses, noise alone;
:mod:`rtdenoise.data.real_world`) also the noise left in pauses; and DNSMOS P.835 on every example
(where ``speechmos`` is installed). rtdenoise is scored as it runs live
(the streaming framing at the default latency) and, for the seed family, offline (overlapping
whole windows; a spectral model's offline output is its stream's); peers as
:mod:`rtdenoise.bench.peers` runs them (:mod:`rtdenoise.bench.systems`).

Speed, on this CPU in this run (:mod:`rtdenoise.bench.speed`): the real-time factor over the whole
files (compute / audio time, resampling included for peers), and per hop (p50, p99) as a live
stream would call each system, with each system's algorithmic latency, on every backend and
precision present, a model that streams at 48 kHz also there (and, with a GPU, the ``seed``
preset at a 16 ms hop with CUDA events).

Writes ``bench.md`` (the tables, with date, machine and command), ``bench.json`` and ``bench.png``
into ``--out`` (:mod:`rtdenoise.bench.report`).
"""
from __future__ import annotations

import argparse
import datetime
import logging
import shlex
import sys
from pathlib import Path

import numpy as np

from ..data.recordings import Corpus, default_data_dir
from ..errors import RtDenoiseError
from ..evaluation.evaluate import ALL_GROUPS, evaluate, summarise, validation_examples
from ..families import of
from ..families.runtime import for_model
from ..model import backends
from ..model.pretrained import model_dirs, torch_module
from . import report
from .speed import SpeedRow, Timed, cuda_hop_events, file_rtf, machine, time_hops
from .systems import LiveSystem, cpu_backends, peer_systems, rtdenoise_systems

log = logging.getLogger(__name__)

#: The rate of the full-band speed rows (what most microphones run at).
FULL_BAND = 48000


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", help="recordings folder (default: ../shared/data or $RTDENOISE_DATA)")
    p.add_argument("--count", type=int, default=120, help="validation mixtures (default 120)")
    p.add_argument("--group-count", type=int, default=40,
                   help="examples in each other validation group (default 40; 0: none); noise-alone: recordings, each at 3 levels")
    p.add_argument("--seconds", type=float, default=4.0, help="seconds per mixture")
    p.add_argument("--groups", nargs="*", choices=ALL_GROUPS, default=list(ALL_GROUPS),
                   help="validation groups (default: all; fullband and the real-world groups where the data has them)")
    p.add_argument("--models", nargs="*", help="rtdenoise models (default: every shipped model)")
    p.add_argument("--peers", nargs="*", help="peers to run (default: all installed): rnnoise deepfilternet3 spectral-gating")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for rtdenoise (default 1, as rtdenoise live)")
    p.add_argument("--hops", type=int, default=300, help="hops timed per streaming system")
    p.add_argument("--out", default="bench-results", help="folder for bench.md, bench.json, bench.png")


def speed_rows(live: list[LiveSystem], systems: dict[str, Timed], peers: list, threads: int, hops: int,
               examples: list) -> list[SpeedRow]:
    """Per-hop timing of every live system on each CPU backend and precision, then the peers'."""
    rows: list[SpeedRow] = []
    for s in live:
        for b, precision in cpu_backends(s.model):
            chosen = for_model(s.model, b, threads, precision)
            t = time_hops(s.model, s.framing, hops=hops, backend=chosen)
            whole = systems[s.label].rtf if chosen is s.backend else file_rtf(s.model, s.framing, chosen, examples)
            rows.append(SpeedRow(s.label, chosen.label, s.framing.latency_ms, whole, s.framing.hop_ms,
                                 t.p50_ms, t.p99_ms))
        family = of(s.model)
        if s.framing.rate != FULL_BAND and FULL_BAND in family.rates(s.model.config):
            full = family.framing(s.model.config, rate=FULL_BAND)         # the same model on a 48 kHz device
            t = time_hops(s.model, full, hops=hops, backend=s.backend)
            rows.append(SpeedRow(f"{s.label} at 48 kHz", s.backend.label, full.latency_ms, None, full.hop_ms,
                                 t.p50_ms, t.p99_ms))
        if s.offline:
            rows.append(SpeedRow(s.offline, s.backend.label, None, systems[s.offline].rtf, None, None, None))
    for p in peers:
        times = p.time_frames() * 1000
        frame_ms = None if p.frame is None else 1000 * p.frame / p.native_rate
        rows.append(SpeedRow(p.name, f"{p.package} ({p.native_rate // 1000} kHz)", p.latency_ms, systems[p.name].rtf,
                             frame_ms, float(np.percentile(times, 50)) if len(times) else None,
                             float(np.percentile(times, 99)) if len(times) else None))
    return rows


def main(args: argparse.Namespace) -> int:
    if args.count < 1:
        raise RtDenoiseError("--count must be at least 1")
    torch = torch_module()
    if torch is not None:
        torch.set_num_threads(max(1, args.threads))
    data = Path(args.data) if args.data else default_data_dir()
    try:
        examples = validation_examples(Corpus.load(data, "valid"), args.groups, args.count, args.group_count,
                                       args.seconds, data)
    except (FileNotFoundError, ValueError) as e:
        raise RtDenoiseError(str(e)) from None
    names = args.models or sorted(dict.fromkeys(p.stem for d in model_dirs() for p in d.glob("*.json")))
    if not names:
        raise RtDenoiseError("no models found (models/ folder or --models)")
    systems, live = rtdenoise_systems(names, args.threads)
    peer_timed, peers, notes = peer_systems(args.peers)
    systems.update(peer_timed)

    log.info("quality on %d validation examples: %s", len(examples), ", ".join(["noisy", *systems]))
    rows = evaluate(examples, systems)
    summary = summarise(rows)
    log.info("speed per hop")
    speed = speed_rows(live, systems, peers, args.threads, args.hops, examples)
    gpu = None
    if backends.cuda_available():
        log.info("GPU: seed preset, hop 256, CUDA events")
        gpu = cuda_hop_events()

    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    command = "rtdenoise bench " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    about = {"date": when, "machine": machine(), "command": command,
             "line": f"{when}; {machine()}; `{command}`; {len(examples)} validation examples of {args.seconds:g} s"}
    out = Path(args.out)
    print(report.write(out, about, summary, rows, speed, gpu, notes))
    log.info("wrote %s, %s and %s", out / "bench.md", out / "bench.json", out / "bench.png")
    return 0
