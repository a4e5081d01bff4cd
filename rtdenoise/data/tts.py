"""Offline speech synthesis through the espeak-ng library that the ``espeakng-loader`` wheel ships.

The demo and the tests must make real speech (clean targets and several-voice babble) with no data
files and no network. espeak-ng is small, comes with its voice data from PyPI, and needs neither.
"""
from __future__ import annotations

import ctypes
import logging
import os
import threading
from pathlib import Path

import numpy as np

from ..errors import RtDenoiseError

log = logging.getLogger(__name__)

#: Voices checked to sound distinct, for babble: median pitch about 92, 211, 105 and 194 Hz, with
#: British and American accents.
VOICES = ("en+m1", "en+f3", "en-us+m3", "en-us+f2")

_AUDIO_OUTPUT_RETRIEVAL = 1  # synchronous: espeak_Synth hands every chunk to the callback
_INITIALIZE_DONT_EXIT = 0x8000  # without it espeak-ng calls exit() when its data cannot be read
_PARAM_RATE, _PARAM_PITCH = 1, 3
_Callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.c_void_p)


class SpeechSynthesisError(RtDenoiseError, RuntimeError):
    """espeak-ng or a voice could not be loaded, or synthesis gave no samples."""


_lock = threading.Lock()
_lib: ctypes.CDLL | None = None
_sample_rate = 0
_variants: frozenset[str] = frozenset()  # espeak-ng silently ignores unknown "+variant" names
_chunks: list[np.ndarray] = []


@_Callback  # a module global, so the C side never calls a garbage-collected callback
def _collect(wav: ctypes._Pointer[ctypes.c_short], numsamples: int, events: int | None) -> int:
    if numsamples > 0:
        _chunks.append(np.ctypeslib.as_array(wav, shape=(numsamples,)).copy())
    return 0


def _load() -> tuple[ctypes.CDLL, int]:
    """Load and initialise espeak-ng once; the caller holds ``_lock``."""
    global _lib, _sample_rate, _variants
    if _lib is None:
        try:
            import espeakng_loader

            lib = ctypes.CDLL(espeakng_loader.get_library_path())
            data_path = espeakng_loader.get_data_path()
        except (ImportError, OSError, RuntimeError) as e:
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise SpeechSynthesisError(f"cannot load espeak-ng ({reason})") from None
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                     ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_RETRIEVAL, 500, os.fsencode(data_path),
                                     _INITIALIZE_DONT_EXIT)
        if rate <= 0:
            raise SpeechSynthesisError(f"cannot initialise espeak-ng with its data at {data_path}")
        lib.espeak_SetSynthCallback(_collect)
        _variants = frozenset(p.name for p in (Path(data_path) / "voices" / "!v").iterdir())
        _lib, _sample_rate = lib, rate
        log.debug("espeak-ng ready at %d Hz with data from %s", rate, data_path)
    return _lib, _sample_rate


def synthesize(text: str, voice: str = "en", rate_wpm: int = 160, pitch: int = 50
               ) -> tuple[np.ndarray, int]:
    """Speak ``text`` and return mono float32 samples in [-1, 1] and espeak-ng's sample rate.

    ``voice`` is an espeak-ng language with an optional variant ("en", "en-us", "en+f3");
    ``rate_wpm`` is words per minute (80-450) and ``pitch`` 0-100 around the voice's own pitch.
    Safe to call from several threads: calls run one at a time.
    """
    with _lock:
        lib, sample_rate = _load()
        variant = voice.partition("+")[2]
        if (variant and variant not in _variants) or lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise SpeechSynthesisError(f"unknown espeak-ng voice {voice!r}")
        lib.espeak_SetParameter(_PARAM_RATE, rate_wpm, 0)
        lib.espeak_SetParameter(_PARAM_PITCH, pitch, 0)
        encoded = text.encode()
        _chunks.clear()
        try:
            status = lib.espeak_Synth(encoded, len(encoded) + 1, 0, 0, 0, 0, None, None)
            lib.espeak_Synchronize()
            samples = np.concatenate(_chunks) if _chunks else np.zeros(0, np.int16)
        finally:
            _chunks.clear()
    if status != 0 or not samples.any():  # empty text gives a few silent samples
        raise SpeechSynthesisError(f"espeak-ng gave no speech for {text[:40]!r} (voice {voice!r})")
    return samples.astype(np.float32) / 32768.0, sample_rate
