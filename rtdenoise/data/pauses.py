"""Pauses in speech: gates that silence stretches of an utterance with soft onsets and offsets.

Why: read-speech corpora are continuous, while a call's microphone hears noise alone about half the
time, between turns and sentences. A model trained and judged only on speech-dense crops never has
to produce silence, and its validation barely notices what it leaves in the pauses. The same gates
make the training crops (:func:`training_gate`) and the ``pauses`` validation group
(:func:`conversation_gate`), with different draws.
"""
from __future__ import annotations

import numpy as np

#: Onsets and offsets of a pause: a raised-cosine ramp of this many seconds, as speech starts and
#: stops (a hard cut would teach the model clicks that real pauses do not have).
RAMP_S = (0.01, 0.05)


def _turn(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """``n`` samples of speech's envelope: one, with a raised-cosine rise at the start and fall at the
    end (each of a drawn length, at most a third of the stretch)."""
    seg = np.ones(n, np.float32)
    for end in (0, 1):
        k = min(int(rng.uniform(*RAMP_S) * rate), n // 3)
        if k >= 2:
            rise = (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, k))).astype(np.float32)
            if end:
                seg[n - k:] = rise[::-1]
            else:
                seg[:k] = rise
    return seg


def training_gate(rng: np.random.Generator, n: int, rate: int, stretches: tuple[int, int] = (1, 3),
                  seconds: tuple[float, float] = (0.15, 0.8)) -> np.ndarray:
    """A gate for one training crop: 1 to 3 pauses of 0.15 to 0.8 s at random places."""
    gate = np.ones(n, np.float32)
    for _ in range(int(rng.integers(stretches[0], stretches[1] + 1))):
        length = min(n, int(rng.uniform(*seconds) * rate))
        start = int(rng.integers(0, n - length + 1))
        gate[start:start + length] = np.minimum(gate[start:start + length], 1.0 - _turn(rng, length, rate))
    return gate


def conversation_gate(rng: np.random.Generator, n: int, rate: int, speech_share: tuple[float, float] = (0.4, 0.7),
                      turn_s: tuple[float, float] = (0.8, 2.5)) -> np.ndarray:
    """A gate for a conversation-like stretch: turns of 0.8 to 2.5 s of speech between pauses, so
    that speech is on for a drawn 40 to 70% of the time (as one side of a call), with a pause
    before the first turn and after the last."""
    spoken = int(rng.uniform(*speech_share) * n)
    turns: list[int] = []
    while sum(turns) < spoken:
        turns.append(min(int(rng.uniform(*turn_s) * rate), spoken - sum(turns)))
    weights = rng.uniform(0.5, 1.5, len(turns) + 1)
    pauses = (weights / weights.sum() * (n - spoken)).astype(int)
    gate = np.zeros(n, np.float32)
    at = 0
    for pause, turn in zip(pauses, turns):
        at += int(pause)
        gate[at:at + turn] = _turn(rng, turn, rate)[:n - at]
        at += turn
    return gate
