"""Real-time scheduling for the live threads, where the system allows it.

Why: with other work holding every core (a build, a video call's encoder, a training run), the
ordinary scheduler gives the audio callback and the inference thread their turn too late, and the
output goes silent for whole device periods, a thing no buffer in the engine can fill: the callback
that would fill it does not run. Measured here with two busy loops on the two cores, 20 s through
PipeWire: 25 to 45 PortAudio xruns and runs of up to 232 ms of silence without this, none with it
(see the README's live section). SCHED_FIFO needs root, CAP_SYS_NICE or an rtprio limit (PipeWire
and JACK set-ups usually grant one); without it the threads keep their ordinary priority and the
engine says so once.
"""
from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

#: SCHED_FIFO priorities: the callback above the inference thread, both below the audio server's
#: own threads (PipeWire runs its data loop at 88, JACK at 70 and up).
CALLBACK_PRIORITY = 40
INFERENCE_PRIORITY = 30


def make_realtime(tid: int, priority: int, what: str) -> bool:
    """Put thread ``tid`` (a native thread id; 0 is the calling thread) under SCHED_FIFO at
    ``priority``. Returns whether it took; a refusal is logged, never raised."""
    if not hasattr(os, "sched_setscheduler"):
        return False
    try:
        os.sched_setscheduler(tid, os.SCHED_FIFO, os.sched_param(priority))
    except OSError as e:
        log.info("the %s thread keeps its ordinary priority (real-time scheduling refused: %s)", what, e.strerror)
        return False
    return True
