"""The live engine between audio devices, opened and closed in the one safe order
(:class:`DeviceSession`), for ``rtdenoise live`` and the window alike."""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Callable

from ..errors import RtDenoiseError
from . import devices, pactl
from .engine import LiveEngine

if TYPE_CHECKING:
    from .virtual_devices import VirtualMic, VirtualSpeaker

log = logging.getLogger(__name__)

#: Seconds without an audio callback after which a stream PortAudio still calls active counts as
#: stopped. An audio server that froze, or one that went away while PortAudio's ALSA layer keeps
#: retrying the device, leaves the stream "active" with no callback ever again; a live command
#: that then waited for it would hang for good. Long enough that no scheduling hiccup trips it.
STALL_TIMEOUT_S = 5.0

#: Seconds the ready line waits for the engine to have measured the devices' delay (it takes about
#: one second of callbacks).
SETTLE_TIMEOUT_S = 2.5

#: Seconds closing a stalled stream may take before the session gives up on it: PortAudio's stop
#: can wait on a server that no longer answers.
CLOSE_TIMEOUT_S = 5.0


class DeviceSession:
    """An engine between audio devices, opened and closed in the one safe order: what ``rtdenoise
    live`` and the GUI both run, so the two cannot drift apart.

    Entering it creates the virtual microphone's sink (first: it re-initialises PortAudio, which
    would invalidate streams opened before), finds and checks the devices before opening anything,
    has ``make_engine(rate, in_channels, out_channels, noise_output)`` build the engine for the rate
    and channels found, opens the streams, calls ``before_start(engine)`` (a monitor attaches its
    :class:`Scope` there), starts the inference thread and then the streams, and returns once audio
    plays through them; only then does the virtual microphone appear. Leaving it stops the
    engine (draining what is queued), then the streams, then removes the virtual microphone, however
    it is left; an inference failure is raised from there as a one-line :class:`RtDenoiseError`.

    Args:
        make_engine: builds the engine once the rate and channels are known (see
            :func:`rtdenoise.live.builder.build_engine`).
        input, output, noise_device: device index or part of its name; None: the system's default
            (no noise output when ``noise_device`` is None).
        rate: device rate; None takes the input device's own.
        in_channels, out_channels: None opens up to 2.
        virtual_mic: play the output into a new virtual microphone instead of ``output`` (True), or
            into this one (a deferred :class:`~.virtual_devices.VirtualMic` its caller opened and
            closes: two sessions in one process must make their devices before either opens a
            stream, since making one re-initialises PortAudio).
        virtual_speaker: denoise what programs play into a new virtual speaker instead of ``input``
            (True), or into this one (a :class:`~.virtual_devices.VirtualSpeaker`, as above).
        device_latency: PortAudio's latency setting, seconds or 'low'/'high'.
    """

    def __init__(self, make_engine: Callable[[int, int, int, bool], LiveEngine], input: str | int | None = None,
                 output: str | int | None = None, *, noise_device: str | int | None = None, rate: int | None = None,
                 in_channels: int | None = None, out_channels: int | None = None, virtual_mic: bool | VirtualMic = False,
                 device_latency: str | float = 0.02, virtual_mic_name: str | None = None,
                 virtual_speaker: bool | VirtualSpeaker = False, virtual_speaker_name: str | None = None,
                 before_start: Callable[[LiveEngine], None] | None = None) -> None:
        self._make_engine = make_engine
        self.input, self.output, self.noise_device = input, output, noise_device
        self.rate, self.in_channels, self.out_channels = rate, in_channels, out_channels
        self.virtual_mic = virtual_mic
        self.virtual_mic_name = virtual_mic_name
        self.virtual_speaker = virtual_speaker
        self.virtual_speaker_name = virtual_speaker_name
        self.device_latency = device_latency
        self._before_start = before_start
        self.engine: LiveEngine | None = None
        self.stream: Any = None
        self.noise_stream: Any = None
        self.source_name: str | None = None     # the virtual microphone's name, while open
        self._mic: Any = None                   # the VirtualMic, while open
        self.speaker: VirtualSpeaker | None = None   # the VirtualSpeaker, while open
        self._stack = contextlib.ExitStack()
        self._stderr: devices.filtered_stderr | None = None
        self._started = False
        self.stalled = False                    # the callback stopped coming (see STALL_TIMEOUT_S)
        self.abandoned = False                  # streams left open that PortAudio could not close
        self._seen = (-1, 0.0)                  # (frames played, when that count was first seen)

    @property
    def active(self) -> bool:
        """Whether audio still flows: the stream runs, its callback still comes, and the inference
        thread has not failed. Polled by the command and the window, a few times a second."""
        if not (self.stream is not None and self.stream.active and self.engine is not None
                and self.engine.error is None):
            return False
        now, played = time.monotonic(), self.engine.frames_played
        if played != self._seen[0]:
            self._seen = (played, now)
        elif now - self._seen[1] > STALL_TIMEOUT_S:
            if not self.stalled:
                log.debug("no audio callback for %.0f s", now - self._seen[1])
            self.stalled = True
        return not self.stalled

    def __enter__(self) -> DeviceSession:
        try:
            self._open()
        except BaseException as e:
            self.close()
            if isinstance(e, RtDenoiseError):
                e.exit_at_once = self.abandoned
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open(self) -> None:
        self._stderr = self._stack.enter_context(devices.filtered_stderr())   # first in, so out last: PortAudio's prints
        sd = devices.sounddevice()
        in_spec, out_spec = self.input, self.output
        if self.virtual_mic:
            from .virtual_devices import VirtualMic     # PipeWire/PulseAudio only: imported when asked for
            # Deferred: the microphone appears once audio flows into its sink (see _await_audio).
            self._mic = self.virtual_mic if isinstance(self.virtual_mic, VirtualMic) else self._stack.enter_context(
                VirtualMic.named(self.virtual_mic_name, deferred=True))
            out_spec = self._mic.output_device
        if self.virtual_speaker:
            from .virtual_devices import VirtualSpeaker
            self.speaker = (self.virtual_speaker if isinstance(self.virtual_speaker, VirtualSpeaker) else
                            self._stack.enter_context(VirtualSpeaker.named(self.virtual_speaker_name)))
            in_spec = self.speaker.capture_device
        dev_in, dev_out = devices.find(in_spec, "input"), devices.find(out_spec, "output")
        self._refuse_own_microphone(dev_in.name)
        self._refuse_own_speaker(dev_out.name)
        cin = self.in_channels or min(dev_in.max_input, 2)
        cout = self.out_channels or min(dev_out.max_output, 2)
        rate = self.rate or self._native_rate(dev_in, dev_out, cin, cout)
        devices.check_rate(dev_in, rate, cin, "input")
        devices.check_rate(dev_out, rate, cout, "output")
        noise_dev = devices.find(self.noise_device, "output") if self.noise_device is not None else None
        if noise_dev:
            devices.check_rate(noise_dev, rate, 1, "output")
        self.engine = engine = self._make_engine(rate, cin, cout, noise_dev is not None)
        latency: str | float = self.device_latency
        try:
            latency = float(latency)
        except ValueError:
            pass
        try:
            # Pinned: the server must not move a stream to another device when the defaults change
            # (the clean microphone's feed would go to the speakers, a capture could land on
            # rtdenoise's own microphone), nor when its device goes away (it stops, and says so).
            props = {"node.dont-reconnect": "true", **(self.speaker.capture_properties if self.speaker else {})}
            with devices.stream_properties(props):
                self.stream = sd.Stream(device=(dev_in.index, dev_out.index), samplerate=rate, blocksize=engine.block,
                                        channels=(cin, cout), dtype="float32", latency=latency, callback=engine.callback)
                self.noise_stream = (sd.OutputStream(device=noise_dev.index, samplerate=rate, blocksize=engine.block,
                                                     channels=1, dtype="float32", latency=latency,
                                                     callback=lambda out, frames, t, status: engine.noise_playback(out))
                                     if noise_dev else None)
        except sd.PortAudioError as e:
            raise devices.DeviceError(f"cannot open the audio devices: {e}") from None
        engine.device_latency = float(sum(self.stream.latency))
        if self._before_start:
            self._before_start(engine)
        engine.start()                     # warms G up and sets the safety margin from its speed
        self._started = True
        self._seen = (-1, time.monotonic())
        self.stream.start()
        if self.noise_stream:
            self.noise_stream.start()
        self._await_audio()
        if self._mic is not None:               # audio flows into it: it can appear (the line below waits)
            self._mic.publish()
            self.source_name = self._mic.source_name
            log.info("virtual microphone %r is ready: pick it as the microphone in your call or recorder", self.source_name)
        if self.speaker is not None:
            log.info("virtual speaker %r is ready: pick it as the speaker in your call or player; what it plays "
                     "comes out denoised on %s", self.speaker.sink_name, dev_out.name)
        self._await_settled()
        # The devices' share as measured once settled (what the engine then holds), else as reported.
        total, devices_s, how = engine.settled_latency, engine.settled_device_delay, "measured"
        if total is None or devices_s is None:
            total = engine.latency_samples / engine.rate + engine.device_latency
            devices_s, how = engine.device_latency, "reported"
        log.info("%s -> %s at %d Hz; latency %.0f ms (algorithmic %.0f + safety %.0f + devices %.0f, %s); "
                 "real-time priority: %s", dev_in.name, dev_out.name, rate, 1000 * total,
                 engine.stats().algorithmic_latency_ms, 1000 * engine.safety / engine.rate, 1000 * devices_s, how,
                 "off" if engine.config.realtime_priority is None else
                 {2: "yes", 1: "audio thread only"}.get(engine.realtime_threads, "not granted (no rtprio limit or rtkit)"))

    def _await_audio(self) -> None:
        """Return once the output plays the stream (its start-up silence over): only then is the
        session announced and its virtual microphone made, so nothing that picks them up records
        silence. A stream that stops or never plays within STALL_TIMEOUT_S is a device error."""
        engine = self.engine
        assert engine is not None
        while not engine.flowing:
            if not self.active:
                raise devices.DeviceError(devices.STREAM_STOPPED)
            time.sleep(0.005)
        # The device still holds the last of the start-up silence: a latency's worth, and a block.
        played = engine.frames_played + int((engine.device_latency + engine.block / engine.rate) * engine.rate)
        while engine.frames_played < played:
            if not self.active:
                raise devices.DeviceError(devices.STREAM_STOPPED)
            time.sleep(0.005)

    def _await_settled(self) -> None:
        """Wait (up to SETTLE_TIMEOUT_S) for the engine to have measured the devices' delay, so the
        ready line states the latency a recording through the server measures, and the one the
        engine then holds. Where PortAudio gives no timestamps it never settles: the line then
        states the reported latency."""
        engine = self.engine
        assert engine is not None
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while engine.settled_latency is None and time.monotonic() < deadline:
            if not self.active:
                raise devices.DeviceError(devices.STREAM_STOPPED)
            time.sleep(0.01)

    def _refuse_own_microphone(self, name: str) -> None:
        """Never capture rtdenoise's own output: its virtual microphone or sink by name, or the
        system's default microphone when that is an rtdenoise virtual microphone (a feedback loop)."""
        from .virtual_devices import default_source, owned_sources
        mic = self._mic
        if mic is not None and name in (mic.source_name, mic.sink_name):
            raise devices.DeviceError(f"the input {name!r} is rtdenoise's own virtual microphone: name the real "
                                      "microphone with --input")
        if self.input is None and self.speaker is None:
            default = default_source()
            if default is not None and default in owned_sources():
                raise devices.DeviceError(f"the system's default microphone is {default!r}, an rtdenoise virtual "
                                          "microphone: name the real microphone with --input")

    def _refuse_own_speaker(self, name: str) -> None:
        """Never play into rtdenoise's own virtual speaker: by name, or as the system's default output
        when that is one (what a virtual speaker plays would come back into it)."""
        if self.speaker is None:
            return
        from .virtual_devices import default_sink, owned_sinks
        if name in (self.speaker.play_device, self.speaker.capture_device):
            raise devices.DeviceError(f"the output {name!r} is rtdenoise's own virtual speaker: name the real "
                                      "speakers with --output")
        if self.output is None:
            default = default_sink()
            if default is not None and default in owned_sinks():
                raise devices.DeviceError(f"the system's default output is {default!r}, an rtdenoise virtual "
                                          "device: name the real speakers with --output")

    @staticmethod
    def _native_rate(dev_in: Any, dev_out: Any, cin: int, cout: int) -> int:
        """The rate to open the devices at when none is asked for: the audio server's own where both
        devices take it (no resampling stage in the server), else the input device's default."""
        rate = pactl.server_rate()
        if rate:
            try:
                devices.check_rate(dev_in, rate, cin, "input")
                devices.check_rate(dev_out, rate, cout, "output")
                return rate
            except devices.DeviceError:
                pass
        return int(dev_in.default_rate)

    def close(self) -> None:
        """Stop the engine, the streams and the virtual microphone; safe to call again."""
        engine, started = self.engine, self._started
        self._started = False
        try:
            if engine is not None and started:
                engine.stop(drain_seconds=engine.stats().latency_ms / 1000 + 0.1)
        finally:
            streams, self.stream, self.noise_stream = (self.stream, self.noise_stream), None, None
            try:
                self._close_streams([s for s in streams if s is not None])
                if engine is not None and started:
                    log.info("%s", engine.stats().summary())
            finally:
                self._stack.close()
                self.source_name = self._mic = self.speaker = None

    def _close_streams(self, streams: list[Any]) -> None:
        """Stop and close the PortAudio streams. A stalled stream, or one that ended by itself (its
        server went away), is aborted (its buffers are dead anyway) from a helper thread, and left
        behind after CLOSE_TIMEOUT_S: a server that stopped answering must not keep the command from
        exiting with its message. (Stopping a stream whose server was gone could wait for good, and
        so could PortAudio's own clean-up at exit, which is then skipped.)"""
        dead = self.stalled or not all(st.active for st in streams)

        def shut() -> None:
            for st in streams:
                if dead:
                    st.abort()
                else:
                    st.stop()
                st.close()
        if not dead:
            shut()
            return
        closer = threading.Thread(target=shut, name="rtdenoise-close", daemon=True)
        closer.start()
        closer.join(CLOSE_TIMEOUT_S)
        if closer.is_alive():
            log.warning("the audio streams did not close within %.0f s; leaving them", CLOSE_TIMEOUT_S)
            devices.abandon_portaudio()          # its exit handler would wait on them for good
            self.abandoned = True
            if self._stderr is not None:
                self._stderr.keep = True         # PortAudio's thread may print until the process ends
