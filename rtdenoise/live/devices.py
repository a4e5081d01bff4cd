"""Audio devices through sounddevice (PortAudio): listing, choosing, and errors a user can act on.

sounddevice is imported here and only here, lazily, because importing it fails outright on a
machine without the PortAudio library, and the offline tools must keep working there.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import ModuleType

from ..errors import RtDenoiseError

log = logging.getLogger(__name__)

NO_SERVER_HINT = ("no audio devices found: connect a sound card or start an audio server "
                  "(PipeWire: `pipewire & wireplumber & pipewire-pulse &`, or PulseAudio: `pulseaudio --start`)")


class DeviceError(RtDenoiseError):
    """A device that does not exist, refuses a setting, or went away."""


#: What the live command and the window say when audio stops flowing under them.
STREAM_STOPPED = ("the audio stream stopped: a device went away, or the audio server stopped "
                  "or stopped responding")


def sounddevice() -> ModuleType:
    """The sounddevice module, or a one-line error saying what to install."""
    try:
        import sounddevice as sd
    except OSError as e:
        raise DeviceError(f"{e}: install PortAudio (Debian/Ubuntu: apt install libportaudio2; "
                          "macOS: brew install portaudio)") from None
    return sd


@dataclass
class Device:
    index: int
    name: str
    hostapi: str
    max_input: int
    max_output: int
    default_rate: float

    def line(self) -> str:
        io = "/".join(x for x, n in (("in", self.max_input), ("out", self.max_output)) if n)
        return (f"{self.index:3d}  {self.name}  [{self.hostapi}; {io}; in {self.max_input} ch, "
                f"out {self.max_output} ch; {self.default_rate:g} Hz]")


def list_devices() -> list[Device]:
    sd = sounddevice()
    apis = sd.query_hostapis()
    return [Device(i, d["name"], apis[d["hostapi"]]["name"], d["max_input_channels"], d["max_output_channels"],
                   d["default_samplerate"]) for i, d in enumerate(sd.query_devices())]


def device_table() -> str:
    devices = list_devices()
    if not devices:
        raise DeviceError(NO_SERVER_HINT)
    return "\n".join(d.line() for d in devices)


def find(spec: str | int | None, kind: str) -> Device:
    """A device by index, or by a case-insensitive substring of its name (as sounddevice matches),
    or the default ``kind`` ('input' or 'output') device when ``spec`` is None."""
    devices = list_devices()
    if not devices:
        raise DeviceError(NO_SERVER_HINT)
    want = "max_input" if kind == "input" else "max_output"
    usable = [d for d in devices if getattr(d, want) > 0]
    if spec is None:
        sd = sounddevice()
        default = sd.default.device[0 if kind == "input" else 1]
        match = [d for d in usable if d.index == default] or usable[:1]
    elif str(spec).lstrip("-").isdigit():
        match = [d for d in usable if d.index == int(spec)]
    else:
        exact = [d for d in usable if d.name.lower() == str(spec).lower()]
        match = exact or [d for d in usable if str(spec).lower() in d.name.lower()]
    if len(match) != 1:
        what = "no" if not match else "more than one"
        names = "; ".join(f"{d.index}: {d.name}" for d in usable) or "none"
        raise DeviceError(f"{what} {kind} device matches {spec!r} (devices with {kind}s: {names})")
    return match[0]


def check_rate(device: Device, rate: int, channels: int, kind: str) -> None:
    """Refuse a rate or channel count the device will not open with, before opening anything."""
    sd = sounddevice()
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    try:
        check(device=device.index, samplerate=rate, channels=channels, dtype="float32")
    except Exception as e:          # sounddevice raises PortAudioError or ValueError
        raise DeviceError(f"{kind} device {device.index} ({device.name}) refuses {rate} Hz with {channels} "
                          f"channel(s): {str(e).splitlines()[0]}; its default rate is {device.default_rate:g} Hz") from None


# --- the command ------------------------------------------------------------------------------

def add_arguments(p: argparse.ArgumentParser) -> None:
    del p   # no options: it lists every device with its rates and channels


def main(args: argparse.Namespace) -> int:
    print(device_table())
    return 0


def abandon_portaudio() -> None:
    """PortAudio holds a stream it could not stop (its server went away mid-call): from here this
    process must exit without calling into PortAudio again. sounddevice's exit handler would
    terminate PortAudio, which closes that stream and waits on it for good; the system reclaims
    everything when the process ends anyway."""
    import atexit
    sd = sys.modules.get("sounddevice")
    handler = getattr(sd, "_exit_handler", None)
    if handler is not None:
        atexit.unregister(handler)


@contextlib.contextmanager
def stream_properties(props: Mapping[str, str]) -> Iterator[None]:
    """Open PipeWire streams inside this to give them ``props``: PipeWire's ALSA plugin, through
    which PortAudio reaches PipeWire, takes stream properties only from the ``PIPEWIRE_PROPS``
    variable, read as a stream opens. Set here for that moment only (merged into any the user set),
    so no other stream of the process gets them. Other servers and sound cards ignore it."""
    saved = os.environ.get("PIPEWIRE_PROPS")
    inner = (saved or "").strip()
    if inner.startswith("{") and inner.endswith("}"):
        inner = inner[1:-1]
    os.environ["PIPEWIRE_PROPS"] = "{ " + " ".join([inner.strip(), *(f"{k}={v}" for k, v in props.items())]).strip() + " }"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("PIPEWIRE_PROPS", None)
        else:
            os.environ["PIPEWIRE_PROPS"] = saved


class filtered_stderr:
    """While audio streams are open, the lines PortAudio's and ALSA's C code print on the process's
    stderr (``Expression '...' failed in 'src/hostapi/alsa/pa_linux_alsa.c'``, ``ALSA lib ...``,
    typically when the audio server goes away) are dropped; everything else, the engine's own
    log and its one-line errors included, passes through unchanged. A no-op where the process's
    stderr cannot be redirected.

    With :attr:`keep` set before it is left (a stream was abandoned, and PortAudio's thread may go
    on printing until the process ends), the filter stays on the process's stderr, and Python's
    own output (``sys.stderr`` and the log) goes straight to the real one from then on."""

    NOISE = (b"Expression '", b"ALSA lib ")

    def __init__(self) -> None:
        self.keep = False

    def __enter__(self) -> "filtered_stderr":
        self._saved = None
        try:
            sys.stderr.flush()
            self._saved = os.dup(2)
            read, write = os.pipe()
            os.dup2(write, 2)
            os.close(write)
        except (OSError, AttributeError, ValueError):
            self._saved = None
            return self
        self._thread = threading.Thread(target=self._pass, args=(read,), name="rtdenoise-stderr", daemon=True)
        self._thread.start()
        return self

    def _pass(self, read: int) -> None:
        rest = b""
        while True:
            chunk = os.read(read, 4096)
            if not chunk:
                break
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            for line in lines:
                if not line.startswith(self.NOISE):
                    os.write(self._saved, line + b"\n")
        if rest and not rest.startswith(self.NOISE):
            os.write(self._saved, rest)
        os.close(read)

    def __exit__(self, *exc: object) -> None:
        if self._saved is None:
            return
        sys.stderr.flush()
        if self.keep:
            real = os.fdopen(os.dup(self._saved), "w", buffering=1, errors="backslashreplace")
            for handler in logging.getLogger().handlers:
                if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stderr:
                    handler.setStream(real)
            sys.stderr = real
            return
        os.dup2(self._saved, 2)          # closes the pipe's last writer: the thread drains it and ends
        self._thread.join(timeout=5)
        os.close(self._saved)
