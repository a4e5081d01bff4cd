"""The live engine: audio callback -> ring -> inference thread -> ring -> audio callback.

Three parts, each with one job:

* The **audio callback** (PortAudio's thread, or a file clock standing in for it) only copies: the
  captured block, mixed down to mono into a preallocated array, into the input ring; the output
  ring into the device's block, copied to every output channel. It never allocates a buffer, waits
  on a lock, logs or touches the model; what goes wrong there is counted.
* The **inference thread** owns everything else: resamplers (libsamplerate's streaming sinc
  converter, which keeps its state between blocks and, unlike soxr's stream, hands out output at a
  constant delay of a few milliseconds instead of in bursts up to 36 ms late), the :class:`~rtdenoise.signal.streaming.StreamingDenoiser` with its filters
  and overlap, the recorders and the statistics. When the output would run dry before G could
  finish a hop (the queued output is shorter than 1.2 times G's usual time), it skips G for that
  hop and the stream crossfades to the delayed dry input and back when it catches up: a late
  machine sounds like bypass, never like garbage or gaps.
* The **output schedule** is counted in samples, not measured in time: the playback side plays
  silence until ``hop + safety`` samples have been played, then reads the output ring. So output
  runs a fixed distance behind the input whatever the compute time, compute jitter up to ``safety``
  never reaches the speaker, and end-to-end latency is known before the first sample:
  hop + look-ahead (algorithmic) + safety + the device latencies PortAudio reports.
* The **latency hold** keeps that total where it was once the devices settled. The devices' own
  share moves after a glitch (PortAudio realigns capture and playback after an xrun: 43 to 38 ms
  here after a 0.4 s stall) and when the server changes its quantum. The engine measures it from
  PortAudio's timestamps and, where it moved for half a second, adds or sheds as much delay of its
  own, crossfaded over 2 ms within a hop, counted; it never sheds below the margin its compute
  needs, and says what it could not take back.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import RtDenoiseError
from ..families import of
from ..model.framing import StreamConfig
from ..signal.streaming import StreamingDenoiser
from .fallback import DryFallback
from .ring import SampleRing

if TYPE_CHECKING:
    from ..model.backends import Backend

log = logging.getLogger(__name__)


@dataclass
class LiveConfig:
    """How the engine buffers audio, in milliseconds (the framing is the model's: :class:`StreamConfig`)."""

    # Output scheduled this far behind the input, to absorb compute jitter. None: at least 20 ms,
    # and at least a block plus twice G's time per hop as measured at start, plus 4 ms.
    safety_ms: float | None = None
    block_ms: float = 8.0            # audio callback block (PortAudio blocksize); divides the 32 ms hop
    # SCHED_FIFO priority of the audio callback thread (the inference thread runs one below), as a
    # desktop's audio clients get from rtkit, below the audio server's own threads; None: leave them.
    # Off by default: through the test PipeWire server it made PortAudio flag more xruns (the
    # exact-sample bypass test passed 3 of 8 runs with it, 4 of 6 without; README, "live").
    realtime_priority: int | None = None
    ring_seconds: float = 2.0        # capacity of each ring
    # Hold the total latency at its settled value (see the module docstring): corrections are made
    # once the devices' measured delay is this far from where it settled. None: never correct.
    hold_tolerance_ms: float | None = 2.0


@dataclass
class Stats:
    """What the engine has done so far: the figures printed on exit and shown by the GUI."""

    hops: int = 0
    compute_p50_ms: float = 0.0
    compute_p99_ms: float = 0.0
    real_time_factor: float = 0.0
    late_hops: int = 0               # hops emitted dry because inference was behind
    late_events: int = 0             # times it fell behind
    input_overruns: int = 0          # captured samples dropped: the input ring was full
    output_underruns: int = 0        # samples the output wanted but did not get (after start)...
    filled_dry_samples: int = 0      # ... and played instead from the delayed dry input (never silence)
    filled_dry_events: int = 0
    device_xruns: int = 0            # blocks PortAudio flagged (input overflow, output underflow) after start-up
    dropped_hops: int = 0            # output hops shed because the output ring ran too full
    latency_corrections: int = 0     # times the engine added or shed delay to hold the latency
    latency_off_ms: float = 0.0      # how far the total is from where it settled, now (+: longer)
    nonfinite_samples: int = 0       # NaN/Inf input samples, replaced by silence
    algorithmic_latency_ms: float = 0.0
    latency_ms: float = 0.0          # algorithmic + safety + device latencies
    backend: str = "cpu"

    @property
    def xruns(self) -> int:
        return (self.input_overruns > 0) + (self.output_underruns > 0) + self.device_xruns

    def summary(self) -> str:
        return (f"hops {self.hops}, compute per hop p50 {self.compute_p50_ms:.1f} ms / p99 {self.compute_p99_ms:.1f} ms, "
                f"real-time factor {self.real_time_factor:.2f}, latency {self.latency_ms:.0f} ms "
                f"(algorithmic {self.algorithmic_latency_ms:.0f}), late hops {self.late_hops} in {self.late_events} events, "
                f"xruns: device {self.device_xruns}, input overrun {self.input_overruns} samples, "
                f"output underrun {self.output_underruns} samples (filled with the dry input: "
                f"{self.filled_dry_samples} samples in {self.filled_dry_events} events), dropped hops {self.dropped_hops}, "
                f"latency held by {self.latency_corrections} corrections (now {self.latency_off_ms:+.1f} ms off)"
                + (f", NaN/Inf input samples {self.nonfinite_samples}" if self.nonfinite_samples else ""))


def realtime_thread(priority: int | None) -> int:
    """Run the calling thread under SCHED_FIFO at ``priority`` where the system allows it (root,
    an rtprio limit, as desktop audio groups have); returns 1 if it does, else 0, and the thread
    goes on at normal priority. Why: on a busy machine a normal thread that misses its turn is
    a gap in the output; the audio server itself runs at real-time priority."""
    if priority is None or not hasattr(os, "sched_setscheduler"):
        return 0
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except OSError:
        return 0
    return 1


class _Resampler:
    """A mono stream resampler with state, for the inference thread."""

    def __init__(self, rate_in: int, rate_out: int) -> None:
        import samplerate
        self.ratio = rate_out / rate_in
        self._r = samplerate.Resampler("sinc_medium", channels=1)

    def __call__(self, x: np.ndarray, final: bool = False) -> np.ndarray:
        return np.asarray(self._r.process(x, self.ratio, end_of_input=final), np.float32).ravel()

    @staticmethod
    def round_trip_delay(rate: int, model_rate: int) -> int:
        """Device samples that going to the model's rate and back adds (measured with an impulse,
        so it holds for whatever the library does inside)."""
        x = np.zeros(rate // 5, np.float32)
        x[rate // 50] = 1.0
        y = _Resampler(model_rate, rate)(_Resampler(rate, model_rate)(x))
        return int(np.argmax(np.abs(y))) - rate // 50


class Recorder:
    """Writes the input (delayed to line up), output and removed noise at the model's rate, so
    the three files are sample-aligned. Runs in the inference thread, never in the callback."""

    def __init__(self, folder: Path, rate: int) -> None:
        import soundfile as sf
        from ..signal.audio import writable
        self.files = {}
        for name in ("input", "output", "noise"):
            path = folder / f"{name}.wav"
            if path.exists():
                raise RtDenoiseError(f"{path}: already exists; choose another --record folder")
            writable(path)
        try:
            for name in ("input", "output", "noise"):
                self.files[name] = sf.SoundFile(str(folder / f"{name}.wav"), "w", rate, 1, "FLOAT")
        except (sf.LibsndfileError, OSError) as e:
            self.close()
            raise RtDenoiseError(f"{folder}: cannot record there ({str(e).splitlines()[0][:120]})") from None

    def write(self, dry: np.ndarray, out: np.ndarray) -> None:
        self.files["input"].write(dry)
        self.files["output"].write(out)
        self.files["noise"].write(dry - out)

    def close(self) -> None:
        for f in self.files.values():
            f.close()


class Scope:
    """What a monitor (the GUI) sees: the engine's input and output at the model's rate, aligned
    sample for sample, handed over through rings so the inference thread never waits for a reader.

    The inference thread writes every hop; one reader thread calls :meth:`read` for what arrived
    since its last call (the removed noise is ``input - output``). A reader that falls behind by
    more than ``seconds`` misses what did not fit (both rings alike, so they stay aligned); the
    engine never waits for it."""

    def __init__(self, seconds: float, rate: int) -> None:
        self.rate = rate
        self._dry = SampleRing(int(seconds * rate))
        self._out = SampleRing(int(seconds * rate))

    def write(self, dry: np.ndarray, out: np.ndarray) -> None:
        self._dry.write(dry)
        self._out.write(out)

    def read(self) -> tuple[np.ndarray, np.ndarray]:
        """(input, output) samples written since the last call, equal lengths."""
        n = min(self._dry.available(), self._out.available())
        return self._dry.read(n), self._out.read(n)


class LiveEngine:
    """Real-time denoising between a capture and a playback at ``rate`` (any device rate).

    Drive it with :meth:`callback` (PortAudio's duplex signature) or :meth:`capture` and
    :meth:`playback` separately; run :meth:`start` for the inference thread, or :meth:`pump` by
    hand where there is no real-time clock (files as fast as possible).
    """

    def __init__(self, model: Any, rate: int, in_channels: int = 1, out_channels: int = 1,
                 config: LiveConfig | None = None, stream: StreamConfig | None = None,
                 record: Path | None = None, noise_output: bool = False,
                 preemphasis: float | None = None, backend: "str | Backend | None" = "auto") -> None:
        self.config = config = config or LiveConfig()
        if stream is None:
            family = of(model)
            if family is None:
                raise ValueError("a window function needs an explicit StreamConfig")
            stream = family.framing(model.config, rate=family.stream_rate(model.config, int(rate)))
        self.denoiser = StreamingDenoiser(model, stream, preemphasis, backend=backend)
        self.framing = stream = self.denoiser.config
        self.rate, self.model_rate = int(rate), int(stream.rate)
        model_rate = self.model_rate
        self.in_channels, self.out_channels = in_channels, out_channels
        ms = lambda t: int(round(t * self.rate / 1000))
        self.block = max(1, ms(config.block_ms))
        cap = max(int(config.ring_seconds * self.rate), 8 * self.block, 4 * self.hop_device)
        self.ring_in = SampleRing(cap)
        self.ring_out = SampleRing(cap)
        self.ring_noise = SampleRing(cap) if noise_output else None
        # Callback scratch: allocated once, sized for any block PortAudio may hand over.
        self._in_mono = np.zeros(cap, np.float32)
        self._out_mono = np.zeros(cap, np.float32)
        self._noise_mono = np.zeros(cap, np.float32)
        self.fallback = DryFallback(cap, fade=ms(2.0))   # the callback's own copy of the input, for gaps
        self._resample_in = _Resampler(self.rate, model_rate) if self.rate != model_rate else None
        self._resample_out = _Resampler(model_rate, self.rate) if self.rate != model_rate else None
        self._resample_noise = _Resampler(model_rate, self.rate) if self.rate != model_rate and noise_output else None
        self.resampler_delay = _Resampler.round_trip_delay(self.rate, model_rate) if self.rate != model_rate else 0
        self._hop_out = np.zeros(stream.hop, np.float32)
        self._shift = 0                                   # delay the engine added (+) or shed (-) to hold the latency
        self._pending = 0                                 # of that, still to apply, hop by hop
        self._shift_floor = 0                             # the most it may shed: what the compute margin allows
        self._corrections = 0
        self._hold_seen = 0                               # looks in a row that found the latency off
        self._settled_delay: float | None = None          # the devices' delay once settled: what the hold keeps
        fade = max(1, ms(2.0))
        self._xfade = (0.5 - 0.5 * np.cos(np.pi * (np.arange(fade) + 0.5) / fade)).astype(np.float32)   # 0 -> 1
        self._set_safety(ms(20.0 if config.safety_ms is None else config.safety_ms))
        self._played = {"out": 0, "noise": 0}
        self._flowing = {"out": False, "noise": False}     # a real sample has been played: start-up is over
        self._capturing = True
        self.realtime = True                              # False: a file as fast as possible (no clock, never late)
        self._was_late = False
        self._times = np.zeros(4096, np.float64)         # compute seconds of the most recent hops
        self._compute_estimate = 0.0                      # running mean of G's time per hop, seconds
        self._hops = 0
        self._late_events = 0
        self._dropped = 0
        self.device_xruns = 0
        self._device_delays = np.zeros(256, np.float64)   # the callback's recent output-DAC minus input-ADC times
        self._device_count = 0
        self.realtime_threads = 0                         # of the callback and inference threads, how many run SCHED_FIFO
        self._callback_scheduled = False
        self.device_latency = 0.0                         # seconds, in + out, as PortAudio reports
        self._xruns_from = 0                              # playback frame where device start-up ends (start())
        self.backend_label = self.denoiser.backend.label
        self.recorder = Recorder(record, model_rate) if record else None
        self.scope: Scope | None = None                   # set by a monitor before start(): see Scope
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.error: BaseException | None = None

    def _set_safety(self, samples: int) -> None:
        self.safety = samples
        self._max_out = self.safety + 2 * self.hop_device + 4 * self.block   # more than this: latency creeping up
        self._start_at = self.hop_device + self.safety    # playback samples of silence before the stream
        self.fallback.delay = self.latency_samples

    @property
    def hop_device(self) -> int:
        return int(np.ceil(self.framing.hop * self.rate / self.model_rate))

    # -- controls (any thread; read by the inference thread once per hop) -----------------------
    def set_bypass(self, on: bool) -> None:
        self.denoiser.bypass = bool(on)

    def set_strength(self, strength: float) -> None:
        self.denoiser.set_strength(strength)

    def set_attenuation_limit(self, db: float | None) -> None:
        self.denoiser.set_attenuation_limit(db)

    @property
    def bypass(self) -> bool:
        return self.denoiser.bypass

    @property
    def strength(self) -> float:
        return self.denoiser.strength

    @property
    def flowing(self) -> bool:
        """The output plays the stream: its start-up silence is over and a real sample has played."""
        return self._flowing["out"]

    @property
    def frames_played(self) -> int:
        """Output frames the device has asked for so far: what a watchdog reads to see that the
        audio callback still comes (an int the callback bumps; reading it takes no lock)."""
        return self._played["out"]

    # -- the audio callback side: copies only ---------------------------------------------------
    def capture(self, indata: np.ndarray) -> None:
        """Take a captured block [frames, channels]."""
        if not self._capturing:
            return
        frames = len(indata)
        if indata.shape[1] == 1:
            mono = indata[:, 0]
        else:
            mono = self._in_mono[:frames]
            np.mean(indata, axis=1, out=mono)
        self.ring_in.write(mono)
        self.fallback.capture(mono)

    def playback(self, outdata: np.ndarray) -> None:
        """Fill a playback block [frames, channels]; where the output ring runs short, with the
        delayed dry input (see :mod:`rtdenoise.live.fallback`)."""
        self._fill("out", self.ring_out, self._out_mono, outdata, self.fallback)

    def noise_playback(self, outdata: np.ndarray) -> None:
        """Fill a block of the estimated-noise output (input minus output, time-aligned)."""
        if self.ring_noise is None:
            outdata.fill(0.0)
        else:
            self._fill("noise", self.ring_noise, self._noise_mono, outdata)

    def _fill(self, which: str, ring: SampleRing, scratch: np.ndarray, outdata: np.ndarray,
              fallback: DryFallback | None = None) -> None:
        frames = len(outdata)
        mono = scratch[:frames]
        position = self._played[which]
        lead = self._start_at - position                  # silence still due before the stream
        self._played[which] += frames
        flowing = self._flowing[which] and self._capturing  # count underruns between start-up and stop
        if lead >= frames:
            mono.fill(0.0)
        else:
            lead = max(0, lead)
            mono[:lead] = 0.0
            got = ring.read_into(mono[lead:], count_underrun=flowing)
            if fallback is not None and flowing:
                fallback.patch(mono, position, lead + got)
            self._flowing[which] = got > 0 or flowing
        outdata[:] = mono[:, None]

    def callback(self, indata: np.ndarray, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """PortAudio duplex callback."""
        if not self._callback_scheduled:                  # once, on the callback's own thread
            self._callback_scheduled = True
            self.realtime_threads += realtime_thread(self.config.realtime_priority)
        if status and self._capturing and self._played["out"] >= self._xruns_from:
            self.device_xruns += 1
        if time_info is not None:                         # the devices' own delay, as PortAudio times it
            self._device_delays[self._device_count % len(self._device_delays)] = (
                time_info.outputBufferDacTime - time_info.inputBufferAdcTime)
            self._device_count += 1
        self.capture(indata)
        self.playback(outdata)

    # -- the inference side -----------------------------------------------------------------------
    def pump(self, final: bool = False) -> int:
        """Process what has been captured; returns the number of hops run. ``final`` also pushes
        silence through so that every captured sample reaches the output."""
        x = self.denoiser.scrub(self.ring_in.read(self.ring_in.available()))   # before the resampler's state
        if self._resample_in is not None:
            x = self._resample_in(x, final)
        if final:
            x = np.concatenate([x, np.zeros(self.denoiser.padding(len(x)), np.float32)])
        hops = self.denoiser.hops(x)
        count = len(hops)
        for k, hop_in in enumerate(hops):
            late = self.realtime and not final and self._slack() < 1.2 * self._compute_estimate
            if late and not self._was_late:
                self._late_events += 1
            self._was_late = late
            t0 = time.perf_counter()
            self.denoiser.process_hop(hop_in, self._hop_out, run_model=not late)
            if not late:
                spent = time.perf_counter() - t0
                self._times[self._hops % len(self._times)] = spent
                self._hops += 1
                self._compute_estimate += 0.1 * (spent - self._compute_estimate)
            else:                              # forget a slow spell little by little, so G gets retried
                self._compute_estimate *= 0.98
            dry = self.denoiser.last_dry
            noise = dry - self._hop_out if (self.ring_noise is not None or self.recorder) else None
            if self.recorder:
                self.recorder.write(dry, self._hop_out)
            if self.scope is not None:
                self.scope.write(dry, self._hop_out)
            last = final and k == count - 1
            out = self._hop_out if self._resample_out is None else self._resample_out(self._hop_out, last)
            if noise is not None and self._resample_noise is not None:
                noise = self._resample_noise(noise, last)
            self._emit(out, noise)            # hop by hop: the output side gets each as soon as it exists
        return count

    def _slack(self) -> float:
        """Seconds until the output would run dry: what is queued, plus any silence still due
        before the stream starts. A hop is late when G could not finish within it."""
        queued = self.ring_out.queued() + max(0, self._start_at - self._played["out"])
        return queued / self.rate

    def _emit(self, out: np.ndarray, noise: np.ndarray | None) -> None:
        if self._pending:
            out, noise = self._apply_shift(out, noise)
        if self.realtime and self.ring_out.queued() + len(out) > self._max_out + max(0, self._shift):
            self._dropped += 1                  # the output clock is slower than the input's: shed
            return
        self.ring_out.write(out)
        if self.ring_noise is not None and noise is not None:
            self.ring_noise.write(noise)

    def _apply_shift(self, out: np.ndarray, noise: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        """Add (``_pending`` > 0) or shed (< 0) up to a hop's worth of delay in this output hop,
        crossfaded: to shed ``k``, the stream fades from where it is into ``k`` samples ahead; to add,
        it fades back ``k`` samples and plays them again."""
        F = len(self._xfade)
        k = min(abs(self._pending), len(out) - F, len(out) - F if noise is None else len(noise) - F)
        if k <= 0:
            return out, noise

        def shifted(x: np.ndarray) -> np.ndarray:
            if self._pending < 0:
                return np.concatenate([x[:F] * (1 - self._xfade) + x[k:k + F] * self._xfade, x[k + F:]])
            return np.concatenate([x[:k], x[k:k + F] * (1 - self._xfade) + x[:F] * self._xfade, x[F:]])
        out = shifted(out)
        noise = shifted(noise) if noise is not None else None
        step = k if self._pending > 0 else -k
        self._pending -= step
        self._shift += step
        self.fallback.delay = self.latency_samples
        return out, noise

    def _hold_latency(self) -> None:
        """Once in a while (the inference thread): where the devices' measured delay has moved from
        where it settled, on two looks in a row, plan the opposite shift of the engine's own delay."""
        d = self.measured_device_delay(int(0.5 * self.rate / self.block))
        if d is None or not 0.0 < d < 2.0 or self._device_count < self.rate / self.block:
            return
        if self._settled_delay is None:
            self._settled_delay = d            # after a second of callbacks: what the ready line states
            return
        tol = self.config.hold_tolerance_ms
        if tol is None:
            return
        want = max(self._shift_floor, int(round((self._settled_delay - d) * self.rate)))
        error = want - self._shift - self._pending
        if abs(error) <= tol * self.rate / 1000:
            self._hold_seen = 0
            return
        self._hold_seen += 1
        if self._hold_seen >= 2:               # not a one-off reading
            self._hold_seen = 0
            self._pending += error
            self._corrections += 1
            log.debug("devices' delay %.1f ms, settled at %.1f: %s %.1f ms", 1000 * d, 1000 * self._settled_delay,
                      "adding" if error > 0 else "shedding", 1000 * abs(error) / self.rate)

    @property
    def settled_device_delay(self) -> float | None:
        """Seconds the devices added once settled (about a second after start); None before that."""
        return self._settled_delay

    @property
    def settled_latency(self) -> float | None:
        """Seconds from capture to playback that the engine holds: its own delay as started plus the
        devices' delay once settled (about a second after start); None before that."""
        if self._settled_delay is None:
            return None
        return (self.latency_samples - self._shift) / self.rate + self._settled_delay

    def start(self) -> None:
        """Start the inference thread (after warming G up, so the first hop is not late)."""
        self.denoiser.warm_up()
        t0 = time.perf_counter()
        for _ in range(3):
            self.denoiser.warm_up()
        self._compute_estimate = (time.perf_counter() - t0) / 3
        # The margin the compute needs: a block, twice G's time and 4 ms. The default safety is at
        # least that; the latency hold may shed down to it.
        need = int(np.ceil((self.block / self.rate + 2.0 * self._compute_estimate + 0.004) * self.rate))
        if self.config.safety_ms is None:
            self._set_safety(max(self.safety, need))
        self._shift_floor = min(0, need - self.safety)
        # PortAudio flags in the stream's first moments are the device starting, not a glitch in
        # audio already flowing: through PipeWire's ALSA plugin nearly every duplex stream here
        # reports one output underflow 16 to 64 ms in (with priming by the callback too). Start-up
        # ends once the silent lead has played and the device has had its latency twice over, one
        # buffer to fill and one to drain; flags after that are counted.
        self._xruns_from = self._start_at + int(round(2 * self.device_latency * self.rate))
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="rtdenoise-inference", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # Poll at a fraction of the block: waking on an Event would make the callback take a lock.
        nap = max(0.001, self.block / self.rate / 4)
        priority = self.config.realtime_priority
        self.realtime_threads += realtime_thread(None if priority is None else max(1, priority - 1))
        seen, logged, next_look = 0, None, time.monotonic() + 1.0
        next_hold = time.monotonic() + 0.25
        try:
            while not self._stop.is_set():
                if self.ring_in.available() * self.model_rate / self.rate + self.denoiser.pending >= self.framing.hop:
                    self.pump()
                else:
                    time.sleep(nap)
                if self.realtime and time.monotonic() >= next_hold:
                    next_hold += 0.25
                    self._hold_latency()
                if time.monotonic() >= next_look:
                    next_look += 1.0
                    d = self.measured_device_delay(self._device_count - seen)
                    if d is not None and (logged is None or abs(d - logged) > 0.002):
                        log.debug("device delay %.1f ms", 1000 * d)
                        logged = d
                    seen = self._device_count
        except BaseException as e:            # surfaced by stop() and the status line
            self.error = e
            log.debug("inference thread failed", exc_info=True)

    def measured_device_delay(self, last: int | None = None) -> float | None:
        """Seconds from capture to playback in the devices, as PortAudio times the callback's blocks
        (output DAC time minus input ADC time): the median of the ``last`` blocks (None: all it
        keeps), or None before any. What the server really adds, where the device latency PortAudio
        reports for a stream is only what was asked for (48 ms reported, 39 measured here)."""
        count = self._device_count
        n = min(count if last is None else last, count, len(self._device_delays))
        if n <= 0:
            return None
        ring = len(self._device_delays)
        idx = (count - 1 - np.arange(n)) % ring
        return float(np.median(self._device_delays[idx]))

    def stop(self, drain_seconds: float = 0.0) -> None:
        """Stop capturing, push the rest through, wait up to ``drain_seconds`` for the output to
        play it, and stop the inference thread; closes recordings."""
        self._capturing = False                            # from here the output runs dry on purpose
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        if self.error is None:
            self.pump(final=True)
        deadline = time.monotonic() + drain_seconds
        while self.ring_out.available() and time.monotonic() < deadline:
            time.sleep(0.005)
        if self.recorder:
            self.recorder.close()
            self.recorder = None
        if self.error is not None:
            raise RtDenoiseError(f"inference failed: {self.error}")

    # -- figures ----------------------------------------------------------------------------------
    def stats(self) -> Stats:
        n = min(self._hops, len(self._times))
        t = self._times[:n] if n else np.zeros(1)
        hop_s = self.framing.hop / self.model_rate
        algo = 1000 * self.framing.latency / self.model_rate
        return Stats(
            hops=self._hops, compute_p50_ms=1000 * float(np.percentile(t, 50)),
            compute_p99_ms=1000 * float(np.percentile(t, 99)), real_time_factor=float(t.mean() / hop_s),
            late_hops=self.denoiser.late_hops, late_events=self._late_events,
            input_overruns=self.ring_in.overruns, output_underruns=self.ring_out.underruns,
            filled_dry_samples=self.fallback.samples, filled_dry_events=self.fallback.events,
            device_xruns=self.device_xruns, dropped_hops=self._dropped, nonfinite_samples=self.denoiser.nonfinite_samples,
            latency_corrections=self._corrections,
            latency_off_ms=0.0 if self.settled_latency is None else
            1000 * (self.latency_samples / self.rate + self.device_delay - self.settled_latency),
            algorithmic_latency_ms=algo,
            latency_ms=1000 * (self.latency_samples / self.rate + self.device_delay), backend=self.backend_label)

    @property
    def device_delay(self) -> float:
        """Seconds the devices add: as measured over the last second or so of callbacks where
        PortAudio times them (it moves when the server's graph changes its quantum: 23 to 43 ms
        here as other programs came and went), else the latency PortAudio reports."""
        measured = self.measured_device_delay(int(self.rate / self.block))
        return measured if measured is not None and 0.0 < measured < 2.0 else self.device_latency

    @property
    def latency_samples(self) -> int:
        """Capture-to-playback delay the engine adds, in device samples (without device latency):
        output sample ``t`` plays what input sample ``t - latency_samples`` was."""
        return (self._start_at + int(round(self.framing.delay * self.rate / self.model_rate)) + self.resampler_delay
                + self._shift)
