"""``rtdenoise live``: a microphone denoised as you speak, to speakers, a virtual microphone or files."""
from __future__ import annotations

import argparse
import contextlib
import logging
import time
from pathlib import Path

import numpy as np

from ..errors import RtDenoiseError
from ..options import add_control_flags, add_model_flags
from ..signal.audio import open_input, output_subtype, read_blocks, writable, writing
from ..signal.streaming import effective_strength
from . import pactl
from .builder import build_engine
from .device_session import DeviceSession
from .devices import STREAM_STOPPED, DeviceError
from .engine import LiveConfig, LiveEngine
from .file_clock import play_file
from .virtual_devices import VirtualMic, VirtualSpeaker

log = logging.getLogger(__name__)

#: Seconds between tries to reopen the devices with --reconnect.
RECONNECT_EVERY_S = 1.0


def add_arguments(p: argparse.ArgumentParser) -> None:
    io = p.add_argument_group("audio")
    io.add_argument("-i", "--input", metavar="DEVICE", help="input device: index or part of its name (default: the system's)")
    io.add_argument("-o", "--output", metavar="DEVICE", help="output device: index or part of its name (default: the system's)")
    io.add_argument("--noise-device", metavar="DEVICE", help="also play the removed noise on this device")
    io.add_argument("--rate", type=int, help="device sample rate (default: the input device's own)")
    io.add_argument("--in-channels", type=int, help="input channels to open, mixed down to mono (default: up to 2)")
    io.add_argument("--out-channels", type=int, help="output channels, each a copy (default: up to 2)")
    io.add_argument("--virtual-mic", action="store_true",
                    help="send the clean audio to a new virtual microphone (PipeWire/PulseAudio), removed on exit")
    io.add_argument("--virtual-mic-name", metavar="NAME",
                    help="with --virtual-mic: the microphone's node name (default rtdenoise_mic; its sink is NAME_out)")
    io.add_argument("--virtual-speaker", action="store_true",
                    help="make a virtual speaker (PipeWire/PulseAudio) that programs play into; what they play comes "
                         "out denoised on --output (the other side of a call). With --virtual-mic, both at once")
    io.add_argument("--virtual-speaker-name", metavar="NAME",
                    help="with --virtual-speaker: the speaker's node name (default rtdenoise_speaker)")
    io.add_argument("--reconnect", action="store_true",
                    help="when a device goes away (or the audio server restarts), wait for it and go on "
                         "(default: stop with a message)")
    io.add_argument("--in-file", metavar="FILE", help="read this file instead of a device (as if it were a microphone)")
    io.add_argument("--out-file", metavar="FILE", help="with --in-file: write the output here, aligned to the input")
    io.add_argument("--force", action="store_true", help="with --out-file: replace an existing file")
    io.add_argument("--realtime", action="store_true", help="with --in-file: run at real-time pace, not as fast as possible")
    io.add_argument("--record", metavar="DIR", help="write input.wav, output.wav and noise.wav (sample-aligned) here")
    t = p.add_argument_group("latency")
    t.add_argument("--lookahead", type=int, help="samples of future G sees, at the model's rate (seed family: "
                   "default 512, 32 ms at 16 kHz; spectral models see none)")
    t.add_argument("--safety-ms", type=float, default=None,
                   help="output margin against compute jitter (default: 20 ms, more for a slow model)")
    t.add_argument("--block-ms", type=float, default=LiveConfig.block_ms, help="audio callback block")
    t.add_argument("--realtime-priority", type=int, metavar="N",
                   help="run the audio callback at SCHED_FIFO N and inference at N-1 (2..98; below the audio "
                        "server's own, 20 is what rtkit grants desktop clients); default: normal priority")
    t.add_argument("--no-latency-hold", dest="latency_hold", action="store_false",
                   help="let the latency move with the devices' own delay (by default the engine adds or sheds "
                        "delay of its own, crossfaded, to keep it where it settled at start)")
    # 0.02 s, not PortAudio's 'high': on ALSA/PipeWire 'high' delivered blocks in pairs, 16 ms apart.
    t.add_argument("--device-latency", default="0.02", help="PortAudio latency: low, high or seconds (default 0.02)")
    c = p.add_argument_group("controls")
    c.add_argument("--bypass", action="store_true", help="start bypassed (dry input, same latency)")
    add_control_flags(c)
    c.add_argument("--stats-every", type=float, default=10.0, help="seconds between statistics lines (0: only at exit)")
    add_model_flags(p, hops=("stream",), threads=True)


def _engine(args: argparse.Namespace, rate: int, cin: int, cout: int, noise: bool = False,
            record: bool = True) -> LiveEngine:
    engine = build_engine(rate, cin, cout, model=args.model, backend=args.backend, device=args.device,
                          precision=args.precision, threads=args.threads, hop=args.hop, lookahead=args.lookahead,
                          safety_ms=args.safety_ms, block_ms=args.block_ms, realtime_priority=args.realtime_priority,
                          hold_latency=args.latency_hold, record=Path(args.record) if args.record and record else None, noise_output=noise)
    engine.set_bypass(args.bypass)
    engine.set_strength(effective_strength(args.strength, args.atten_limit))
    return engine


def _run_files(args: argparse.Namespace) -> int:
    """A file through the engine as if it were a microphone, streamed: read in blocks and written
    as the output comes, aligned to the input (the engine's latency cut off)."""
    if not args.out_file and not args.record:
        raise RtDenoiseError("--in-file needs --out-file or --record")
    if args.out_file and Path(args.out_file).resolve() == Path(args.in_file).resolve():
        raise RtDenoiseError(f"{args.out_file}: output would overwrite the input")
    if args.out_file and Path(args.out_file).exists() and not args.force:
        raise RtDenoiseError(f"{args.out_file}: already exists (use --force to replace it)")
    with contextlib.ExitStack() as stack:
        f = stack.enter_context(open_input(args.in_file))
        rate, channels, frames = f.samplerate, f.channels, f.frames
        kind = output_subtype(args.out_file, f.subtype) if args.out_file else None
        if args.out_file:
            writable(Path(args.out_file))                  # before the model loads, not after the run
        engine = _engine(args, rate, channels, channels)
        write = stack.enter_context(writing(args.out_file, rate, channels, kind)) if args.out_file else None
        skip, left = engine.latency_samples, frames        # output sample t + latency is input sample t

        def emit(y: np.ndarray) -> None:
            nonlocal skip, left
            cut = min(skip, len(y))
            skip -= cut
            y = y[cut:cut + left]
            left -= len(y)
            if write is not None and len(y):
                write(y)

        play_file(engine, read_blocks(f, rate), emit, realtime=args.realtime)
    log.info("%s", engine.stats().summary())
    return 0


def _check_directions(args: argparse.Namespace) -> None:
    """Refuse, before any model loads, options that contradict each other."""
    if args.reconnect and args.record:
        raise RtDenoiseError("--reconnect and --record: a reopened session would have to write the same files; "
                             "choose one")
    if not args.virtual_speaker:
        return
    if args.in_file:
        raise RtDenoiseError("--virtual-speaker and --in-file: choose one input")
    if args.input is not None and not args.virtual_mic:
        raise RtDenoiseError("with --virtual-speaker the input is the virtual speaker: drop --input, or add "
                             "--virtual-mic to clean that microphone as well")


def _sessions(args: argparse.Namespace, stack: contextlib.ExitStack) -> list[DeviceSession]:
    """The device sessions the options ask for: the microphone's, the virtual speaker's, or both, each
    an engine of its own. Both at once: the two virtual devices are made first, since making one
    re-initialises PortAudio, which would break a stream the other session had opened."""
    mic: bool | VirtualMic = args.virtual_mic
    speaker: bool | VirtualSpeaker = args.virtual_speaker
    if args.virtual_mic and args.virtual_speaker:
        mic = stack.enter_context(VirtualMic.named(args.virtual_mic_name, deferred=True))
        speaker = stack.enter_context(VirtualSpeaker.named(args.virtual_speaker_name))
    common = dict(rate=args.rate, in_channels=args.in_channels, out_channels=args.out_channels,
                  device_latency=args.device_latency)
    sessions = []
    if not args.virtual_speaker or args.virtual_mic:
        sessions.append(DeviceSession(lambda rate, cin, cout, noise: _engine(args, rate, cin, cout, noise=noise),
                                      args.input, None if args.virtual_speaker else args.output,
                                      noise_device=args.noise_device, virtual_mic=mic,
                                      virtual_mic_name=args.virtual_mic_name, **common))
    if args.virtual_speaker:                 # --record and --noise-device are the microphone's, where there is one
        sessions.append(DeviceSession(lambda rate, cin, cout, noise: _engine(args, rate, cin, cout, noise=noise,
                                                                             record=not mic),
                                      None, args.output, noise_device=None if mic else args.noise_device,
                                      virtual_speaker=speaker, virtual_speaker_name=args.virtual_speaker_name, **common))
    return [stack.enter_context(session) for session in sessions]


def _run(args: argparse.Namespace) -> list[DeviceSession]:
    """Open the sessions and run them until Ctrl-C (returns no session) or until audio stops
    flowing through one (returns those that stopped: their devices went away)."""
    with contextlib.ExitStack() as stack:
        sessions = _sessions(args, stack)
        last = time.monotonic()
        try:
            while all(session.active for session in sessions):
                time.sleep(0.1)
                if args.stats_every and time.monotonic() - last >= args.stats_every:
                    last = time.monotonic()
                    for session in sessions:
                        assert session.engine is not None
                        log.info("%s", session.engine.stats().summary())
            return [session for session in sessions if not session.active
                    and session.engine is not None and session.engine.error is None]
        except KeyboardInterrupt:
            log.info("stopping")
            return []


def _reopen(args: argparse.Namespace, nodes: set[str]) -> list[DeviceSession]:
    """With --reconnect: wait for the devices to come back, then run as before; Ctrl-C ends the
    wait. ``nodes``: the named devices that are audio-server nodes, which must be listed again
    first (PortAudio opens a PCM aimed at a node that is gone, and it then records silence)."""
    from .virtual_devices import rescan_devices
    log.warning("%s: waiting for the devices to come back (Ctrl-C to stop)", STREAM_STOPPED)
    while True:
        time.sleep(RECONNECT_EVERY_S)
        if not nodes <= pactl.node_names():
            continue
        try:
            rescan_devices()
            return _run(args)
        except RtDenoiseError as e:            # devices, or the audio server, not back yet
            log.debug("not back yet: %s", e)


def main(args: argparse.Namespace) -> int:
    effective_strength(args.strength, args.atten_limit)    # checked before any model loads
    _check_directions(args)
    if args.in_file:
        return _run_files(args)
    named = {str(d) for d in (args.input, args.output) if d is not None} & (pactl.node_names() if args.reconnect else set())
    lost = _run(args)
    try:
        while lost and args.reconnect and not any(session.abandoned for session in lost):
            lost = _reopen(args, named)
    except KeyboardInterrupt:
        log.info("stopping")
        return 0
    if lost:
        error = DeviceError(STREAM_STOPPED)
        error.exit_at_once = any(session.abandoned for session in lost)   # PortAudio's own exit would wait on them for good
        raise error
    return 0
