"""Virtual audio devices for ``rtdenoise live``: a microphone other programs pick (``--virtual-mic``) and
a speaker they play into (``--virtual-speaker``), each made by the audio server while rtdenoise runs.

On Linux with PipeWire (through pipewire-pulse) or PulseAudio, :class:`VirtualMic` asks the server via
``pactl`` for two modules:

* a null sink (default ``rtdenoise_out``, "rtdenoise output") that the live engine plays the clean
  audio into, and
* a ``module-remap-source`` on that sink's monitor (default ``rtdenoise_mic``, "rtdenoise clean
  microphone"): many programs (browsers, call apps) hide monitor sources, but list a remapped source
  as an ordinary microphone.

:class:`VirtualSpeaker` asks for one: a null sink (default ``rtdenoise_speaker``, "rtdenoise speaker
(denoised)") that a call app plays into; the live engine captures what it plays (the sink's monitor)
and plays it, denoised, on the real output. What the two share (owner marks, cleanup, the ALSA names)
is :class:`VirtualDevice`'s.

Both are removed when the context ends, however it ends: normally, by an exception, by Ctrl-C
(KeyboardInterrupt), by SIGTERM or SIGHUP (turned into ``SystemExit`` so the caller's ``finally``
blocks still close their streams), or at interpreter exit. Only SIGKILL leaves them behind; the next
start then says which ``pactl unload-module`` removes them.

How the engine reaches the sink: PortAudio (sounddevice) lists ALSA PCMs, not PipeWire/PulseAudio
nodes. ``VirtualMic`` writes a small ALSA config naming two PCMs through the server's ALSA plugin
(``pipewire`` from pipewire-alsa, or ``pulse`` from libasound2-plugins), one per direction:
``rtdenoise_out`` (playback only, into the sink: :attr:`VirtualMic.output_device`) and
``rtdenoise_mic`` (capture only, from the virtual microphone: :attr:`VirtualMic.mic_device`, for
monitoring and tests). The config is added to ``ALSA_CONFIG_PATH``, which ALSA reads when PortAudio
initialises, and sounddevice initialises PortAudio when it is imported. So, with
``configure_sounddevice=True`` (the default), entering the context sets the variable in this process
and re-initialises sounddevice (:func:`rescan_devices`) if it was already imported; do that before
opening any stream, since re-initialising PortAudio invalidates open streams. A separate process
needs :attr:`VirtualMic.env_vars` in its environment before it imports sounddevice. A dedicated PCM is
used rather than the ``pipewire``/``pulse`` device with ``PIPEWIRE_NODE``/``PULSE_SINK`` because
those variables would also redirect the engine's capture stream when it uses the same device.

Other systems (no PipeWire/PulseAudio there): see :data:`RECIPES` or :func:`platform_recipe`.

macOS (BlackHole)
    Install BlackHole, a free virtual audio driver: ``brew install blackhole-2ch`` (or the installer
    from https://existential.audio/blackhole/), then run ``rtdenoise live -o "BlackHole 2ch"`` and pick
    "BlackHole 2ch" as the microphone in the call or recording app. To hear yourself as well, make a
    Multi-Output Device in Audio MIDI Setup with your speakers and BlackHole.

Windows (VB-CABLE)
    Install VB-CABLE (https://vb-audio.com/Cable/, run the setup as administrator, reboot), then run
    ``rtdenoise live -o "CABLE Input"`` and pick "CABLE Output (VB-Audio Virtual Cable)" as the
    microphone in the call or recording app. Use the same sample rate on both ends (Sound settings,
    CABLE Input/Output, Advanced) to avoid resampling.
"""
from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import logging
import os
import re
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Callable, TypeVar

from ..errors import RtDenoiseError
from . import pactl
from .devices import sounddevice
from .pactl import PactlFailed

log = logging.getLogger(__name__)

NO_SERVER = "no PulseAudio/PipeWire server answers: start pipewire-pulse (or pulseaudio --start)"

RECIPES: dict[str, str] = {
    "Linux": ("rtdenoise live --virtual-mic creates a virtual microphone 'rtdenoise clean microphone' "
              "(PipeWire with pipewire-pulse and pipewire-alsa, or PulseAudio with libasound2-plugins; "
              "pactl from pulseaudio-utils); pick it as the microphone in the call or recording app. "
              "It is removed when rtdenoise stops."),
    "Darwin": ("macOS: install BlackHole (brew install blackhole-2ch, or https://existential.audio/blackhole/), "
               "run `rtdenoise live -o \"BlackHole 2ch\"` and pick \"BlackHole 2ch\" as the microphone in the "
               "call or recording app; to hear yourself too, make a Multi-Output Device in Audio MIDI Setup."),
    "Windows": ("Windows: install VB-CABLE (https://vb-audio.com/Cable/, setup as administrator, then reboot), "
                "run `rtdenoise live -o \"CABLE Input\"` and pick \"CABLE Output (VB-Audio Virtual Cable)\" as "
                "the microphone in the call or recording app; set both ends to the same sample rate."),
}

#: The node property that names the process owning a virtual microphone: a later start recognises
#: nodes left by an rtdenoise that was killed (SIGKILL runs no cleanup) and replaces them.
OWNER_PROPERTY = "rtdenoise.owner"

_HANDLED_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
_SignalHandler = Callable[[int, FrameType | None], Any] | int | None
_Device = TypeVar("_Device", bound="VirtualDevice")


def platform_recipe(system: str | None = None) -> str:
    """How to get a virtual microphone on ``system`` (``platform.system()`` spelling; default: this one)."""
    import platform
    system = system or platform.system()
    return RECIPES.get(system, RECIPES["Linux"])


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the process's name (which may hold spaces), from its
    state (field 3) on; empty where that cannot be read."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    except OSError:
        return []


def _process_start(pid: int) -> str:
    """When process ``pid`` started (clock ticks since boot, from /proc), or "" where that cannot be read."""
    fields = _stat(pid)
    return fields[19] if len(fields) > 19 else ""      # field 22


def owner_mark(pid: int | None = None) -> str:
    """This process's mark (see :data:`OWNER_PROPERTY`): its PID and start time, so a PID the
    system has since given to another program does not pass for the owner."""
    pid = os.getpid() if pid is None else pid
    return f"{pid}-{_process_start(pid)}"


def _owner(module_args: str) -> str | None:
    """The owner mark in a module's arguments, if any."""
    m = re.search(re.escape(OWNER_PROPERTY) + r"=(\d+-\d*)", module_args)
    return m.group(1) if m else None


def _owner_runs(mark: str) -> bool:
    """Whether the process a mark names still runs (the same process: same PID, same start time)."""
    pid = int(mark.split("-")[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True                      # alive, someone else's: not ours to remove
    if _stat(pid)[:1] == ["Z"]:          # killed, not yet reaped by its parent: it runs no more
        return False
    return owner_mark(pid) == mark or not _process_start(pid)


def _owned(arg: str, env: Mapping[str, str] | None) -> set[str]:
    """The values of module argument ``arg`` (``sink_name``, ``source_name``) in the modules that
    carry rtdenoise's mark (of any run)."""
    try:
        rows = [line.split("\t") for line in pactl.run("list", "short", "modules", env=env).splitlines()]
    except pactl.PactlError:
        return set()
    return {a.split("=", 1)[1] for row in rows if len(row) > 2 and _owner(row[2])
            for a in row[2].split() if a.startswith(arg + "=")}


def owned_sources(env: Mapping[str, str] | None = None) -> set[str]:
    """Names of the sources rtdenoise's virtual microphones (of any run) make, by their mark."""
    return _owned("source_name", env)


def owned_sinks(env: Mapping[str, str] | None = None) -> set[str]:
    """Names of the sinks rtdenoise's virtual devices (of any run) make, by their mark: a virtual
    speaker, and the sink a virtual microphone is fed through."""
    return _owned("sink_name", env)


def default_source(env: Mapping[str, str] | None = None) -> str | None:
    """The server's default source (microphone), or None where no server answers."""
    return _default("Source", env)


def default_sink(env: Mapping[str, str] | None = None) -> str | None:
    """The server's default sink (speakers), or None where no server answers."""
    return _default("Sink", env)


def _default(kind: str, env: Mapping[str, str] | None) -> str | None:
    try:
        return pactl.info(env=env).get(f"Default {kind}") or None
    except pactl.PactlError:
        return None


def rescan_devices() -> None:
    """Re-initialise PortAudio in sounddevice so it lists devices (and ALSA config) that appeared since import.

    Why: sounddevice initialises PortAudio once, at import, and PortAudio reads the ALSA configuration
    and the device list only then. This invalidates open streams: call it before opening any.
    """
    sd = sounddevice()
    sd._terminate()
    sd._initialize()


def _alsa_top_config() -> str:
    """The ALSA top-level config file that ALSA_CONFIG_PATH replaces when set (alsa.conf in ALSA's data dir).

    Why: setting ALSA_CONFIG_PATH to our file alone would drop the system's PCMs (``default``,
    ``pipewire``, the sound cards' aliases); the variable must list the top file first.
    """
    topdir = os.environ.get("ALSA_CONFIG_DIR")
    if not topdir:
        try:
            lib = ctypes.CDLL(ctypes.util.find_library("asound") or "libasound.so.2")
            lib.snd_config_topdir.restype = ctypes.c_char_p
            topdir = lib.snd_config_topdir().decode()
        except (OSError, AttributeError):
            topdir = "/usr/share/alsa"
    return str(Path(topdir) / "alsa.conf")


def _alsa_plugin_exists(kind: str) -> bool:
    """Whether the ALSA PCM plugin ``kind`` (``pipewire`` or ``pulse``) is installed, as far as the usual
    library folders tell (a guess used only to choose; the device list is checked afterwards)."""
    name = f"libasound_module_pcm_{kind}.so"
    folders = [*Path("/usr/lib").glob("*/alsa-lib"), Path("/usr/lib64/alsa-lib"), Path("/usr/lib/alsa-lib"),
               Path("/usr/local/lib/alsa-lib")]
    return any((f / name).exists() for f in folders)


class VirtualDevice:
    """What a virtual device of either kind does while its context is open: the server's modules
    made and marked with this process (:data:`OWNER_PROPERTY`), names left by a killed rtdenoise
    reclaimed, ALSA names for PortAudio written, and everything removed however the process stops
    (see the module docstring). :class:`VirtualMic` and :class:`VirtualSpeaker` say which nodes and
    which ALSA names; the rest is decided here once.

    Raises:
        RtDenoiseError: no pactl, no server, a name already taken, a module refused, or sounddevice
            not seeing the new device; the message says what to do.
    """

    what = "virtual device"                  # for messages
    name_flag = "--virtual-mic-name"         # the option that chooses another name

    def __init__(self, sink_name: str, sink_description: str, *, rate: int | None = None, channels: int = 1,
                 env: Mapping[str, str] | None = None, configure_sounddevice: bool = True,
                 timeout: float = 5.0) -> None:
        self._check_name(sink_name)
        self._check_description(sink_description)
        self.sink_name = sink_name
        self.sink_description = sink_description
        self.rate = rate
        self.channels = int(channels)
        self.timeout = timeout
        self.configure_sounddevice = configure_sounddevice
        self.server = ""                       # e.g. "PulseAudio (on PipeWire 0.3.65)", once open
        self.alsa_config: Path | None = None   # the ALSA config file naming the PCMs, while open
        self.env_vars: dict[str, str] = {}     # what a sounddevice process needs, while open
        self._env = None if env is None else {**env}
        self._module_ids: list[int] = []
        self._saved_env: dict[str, str | None] = {}   # this process's variables before env_vars were set
        self._previous_handlers: dict[int, _SignalHandler] = {}
        self._lock = threading.RLock()
        self._open = False

    @staticmethod
    def _check_name(name: str) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.\-]+", name):
            raise ValueError(f"{name!r}: node names may hold letters, digits, '_', '.', '-' only")

    @staticmethod
    def _check_description(text: str) -> None:
        if '"' in text or "'" in text:
            raise ValueError(f"{text!r}: descriptions may not hold quotes")

    # --- what a kind of device decides ---------------------------------------------------------------

    def _names(self) -> list[tuple[str, str]]:
        """The (``pactl list short`` kind, node name) pairs this device makes."""
        return [("sinks", self.sink_name)]

    def _load_nodes(self, fmt: list[str], mark: str) -> None:
        """Load this device's modules (the sink first)."""
        self._load("module-null-sink", f"sink_name={self.sink_name}", *fmt,
                   f"sink_properties='device.description=\"{self.sink_description}\" {mark}'")
        self._wait_listed("sinks", self.sink_name)

    def _pcms(self, plugin: str) -> list[tuple[str, str, str, str]]:
        """The ALSA PCMs to name: (name, ``playback`` or ``capture``, the plugin's PCM, description)."""
        raise NotImplementedError

    @property
    def _listed_device(self) -> tuple[str, str]:
        """(sounddevice kind, name) of the device this process must see once configured."""
        raise NotImplementedError

    def _pcm(self, plugin: str, direction: str, node: str, pulse_device: str | None = None) -> str:
        """The plugin's PCM that reaches server node ``node`` in ``direction`` (``playback`` or
        ``capture``); PulseAudio's plugin names a sink's monitor as a device of its own."""
        if plugin == "pipewire":
            return f'type pipewire; {direction}_node "{node}"; channels {self.channels}'
        return f'type pulse; device "{pulse_device or node}"'

    # --- public API -------------------------------------------------------------------------------

    @property
    def module_ids(self) -> tuple[int, ...]:
        """Server module indices loaded and not yet unloaded, in load order."""
        return tuple(self._module_ids)

    def open(self: _Device) -> _Device:
        """Create the nodes; on any failure (Ctrl-C included) remove what was made and re-raise."""
        with self._lock:
            if self._open:
                return self
            self._open = True
            try:
                self._open_unlocked()
            except BaseException:
                self.close()
                raise
        return self

    def close(self) -> None:
        """Unload the modules (last loaded first), restore the environment and the signal handlers.

        Safe to call again, from a signal handler, or at exit: it never raises, it logs what it could not undo.
        """
        with self._lock:
            while self._module_ids:
                # Forget a module only once unloaded: a signal arriving mid-unload runs close() again
                # (same thread, re-entrant lock) and must still see it.
                module = self._module_ids[-1]
                try:
                    self._pactl("unload-module", str(module))
                except (RtDenoiseError, OSError) as e:
                    log.warning("could not remove %s module %d (%s): remove it with "
                                "`pactl unload-module %d`", self.what, module, e, module)
                else:
                    log.debug("unloaded module %d", module)
                if module in self._module_ids:
                    self._module_ids.remove(module)
            for key, value in self._saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            self._saved_env = {}
            if self.alsa_config is not None:
                self.alsa_config.unlink(missing_ok=True)
                self.alsa_config = None
            self.env_vars = {}
            self._restore_signals()
            if self._open:
                atexit.unregister(self.close)
                self._open = False

    def __enter__(self: _Device) -> _Device:
        return self.open()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        names = ", ".join(f"{what[:-1]}={name!r}" for what, name in self._names())
        return f"{type(self).__name__}({names}, modules={self.module_ids}, open={self._open})"

    # --- steps ------------------------------------------------------------------------------------

    def _open_unlocked(self) -> None:
        if sys.platform in ("darwin", "win32"):
            raise RtDenoiseError(f"a {self.what} needs PipeWire or PulseAudio (Linux). " + platform_recipe())
        info = self._server_info()
        self.server = info.get("Server Name", "")
        rate = self.rate or pactl.spec_rate(info.get("Default Sample Specification", "")) or 48000
        plugin = self._choose_alsa_plugin()
        self._claim_names()
        # Registered before loading anything, so an exit between two loads still unloads the first.
        atexit.register(self.close)
        self._install_signal_handlers()
        fmt = f"rate={rate} channels={self.channels}" + (" channel_map=mono" if self.channels == 1 else "")
        self._load_nodes(fmt.split(), f"{OWNER_PROPERTY}={owner_mark()}")
        self._write_alsa_config(plugin)
        if self.configure_sounddevice:
            self._configure_sounddevice(plugin)

    def _pactl(self, *args: str) -> str:
        """pactl's stdout (C locale, see :mod:`.pactl`), or a one-line error: :class:`PactlFailed` when it
        exits non-zero, another :class:`~.pactl.PactlError` when it is missing or does not answer in time."""
        return pactl.run(*args, env=self._env, timeout=self.timeout)

    def _server_info(self) -> dict[str, str]:
        try:
            return pactl.info(env=self._env, timeout=self.timeout)
        except PactlFailed as e:
            raise RtDenoiseError(f"{NO_SERVER} ({e})") from None

    def _choose_alsa_plugin(self) -> str:
        """The ALSA plugin that reaches this server: ``pipewire`` for PipeWire (pipewire-alsa), else ``pulse``."""
        on_pipewire = "pipewire" in self.server.lower()
        if on_pipewire and _alsa_plugin_exists("pipewire"):
            return "pipewire"
        if _alsa_plugin_exists("pulse"):
            return "pulse"
        return "pipewire" if on_pipewire else "pulse"   # may still be found; the device list is checked later

    def _list_short(self, what: str) -> list[list[str]]:
        try:
            return [line.split("\t") for line in self._pactl("list", "short", what).splitlines() if line]
        except PactlFailed as e:
            raise RtDenoiseError(f"{NO_SERVER} ({e})") from None

    def _claim_names(self) -> None:
        """Make sure our names are free before loading anything: the server would otherwise make a
        second node (or rename ours), and audio would go somewhere other than where the user looks.

        Nodes that carry our names and the mark of an rtdenoise that no longer runs (killed, so its
        cleanup never ran) are removed, and the start goes on; a running owner, or nodes without our
        mark, are refused in one line that says what to do."""
        taken = self._taken()
        if not taken:
            return
        ours = {f"{what[:-1]}_name={name}" for what, name in self._names()} | {f"master={self.sink_name}.monitor"}
        owners = [(row[0], _owner(row[2])) for row in self._list_short("modules")
                  if len(row) > 2 and ours & set(row[2].split())]
        pid = lambda mark: mark.split("-")[0]
        alive = sorted({pid(mark) for _, mark in owners if mark is not None and _owner_runs(mark)})
        if owners and not alive and all(mark is not None for _, mark in owners):
            for module, _ in owners:
                self._pactl("unload-module", module)
            log.info("removed the %s %r left behind by rtdenoise (pid %s), which no longer runs", self.what,
                     self._names()[-1][1], ", ".join(sorted({pid(mark) for _, mark in owners if mark})))
            taken = self._taken()
            if not taken:
                return
        if alive:
            raise RtDenoiseError(f"an audio device named {taken[0]!r} already exists: rtdenoise (pid "
                                 f"{', '.join(alive)}) is running with it; stop that one, or choose "
                                 f"another name with {self.name_flag}")
        fix = ("remove it with `" + "; ".join(f"pactl unload-module {m}" for m, _ in owners) + "`") if owners else "remove it"
        raise RtDenoiseError(f"an audio device named {taken[0]!r} already exists and is not rtdenoise's: {fix}, "
                             f"or choose another name with {self.name_flag}")

    def _taken(self) -> list[str]:
        return [name for what, name in self._names()
                if any(len(row) > 1 and row[1] == name for row in self._list_short(what))]

    def _load(self, module: str, *args: str) -> None:
        try:
            out = self._pactl("load-module", module, *args)
        except PactlFailed as e:
            self._unload_strays(args[0])
            raise RtDenoiseError(f"the audio server refused {module} ({e}): check `pactl info`, or restart "
                                 "pipewire-pulse (or pulseaudio)") from None
        self._module_ids.append(int(out.split()[0]))
        log.debug("loaded %s as module %s", module, self._module_ids[-1])

    def _unload_strays(self, name_arg: str) -> None:
        """PipeWire can keep a module whose load failed in its list: unload any that carries our name."""
        try:
            for row in self._list_short("modules"):
                if len(row) > 2 and name_arg in row[2].split():
                    self._pactl("unload-module", row[0])
        except RtDenoiseError:
            pass

    def _wait_listed(self, what: str, name: str) -> None:
        """Wait until the server lists the new node: PipeWire creates nodes asynchronously, and a stream
        aimed at a node the session manager has not seen yet lands on the default device instead."""
        deadline = time.monotonic() + self.timeout
        while not any(len(row) > 1 and row[1] == name for row in self._list_short(what)):
            if time.monotonic() > deadline:
                raise RtDenoiseError(f"the audio server loaded the module but {name!r} did not appear in "
                                     f"`pactl list short {what}` within {self.timeout:g} s")
            time.sleep(0.05)

    def _write_alsa_config(self, plugin: str) -> None:
        """Name each PCM one-way (``asym``), so PortAudio lists a playback PCM as an output only and a
        capture PCM as an input only, and never picks them as a default."""
        text = f"# written by rtdenoise.live.virtual_devices for process {os.getpid()}; removed when it stops\n"
        for name, direction, pcm, description in self._pcms(plugin):
            text += (f'pcm.{name} {{ type asym; {direction}.pcm {{ {pcm} }}\n'
                     f'  hint {{ show on; description "{description}" }} }}\n')
        fd, path = tempfile.mkstemp(prefix="rtdenoise-virtual-device-", suffix=".conf")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        self.alsa_config = Path(path)
        base = (self._env or os.environ).get("ALSA_CONFIG_PATH") or _alsa_top_config()
        self.env_vars = {"ALSA_CONFIG_PATH": f"{base}:{path}"}

    def _configure_sounddevice(self, plugin: str) -> None:
        self._saved_env = {key: os.environ.get(key) for key in self.env_vars}
        os.environ.update(self.env_vars)
        if "sounddevice" in sys.modules:
            rescan_devices()   # initialised at import, before our PCMs existed
        sd = sounddevice()     # a first import reads the new ALSA_CONFIG_PATH itself
        kind, device = self._listed_device
        channels = "max_output_channels" if kind == "output" else "max_input_channels"
        if device not in [d["name"] for d in sd.query_devices() if d[channels] > 0]:
            package = "pipewire-alsa" if plugin == "pipewire" else "libasound2-plugins"
            raise RtDenoiseError(f"the {self.what} exists but sounddevice cannot see {device!r}: "
                                 f"install the ALSA {plugin} plugin ({package} on Debian/Ubuntu)")

    # --- signals ----------------------------------------------------------------------------------

    def _install_signal_handlers(self) -> None:
        """Turn SIGTERM/SIGHUP into cleanup + SystemExit, like Ctrl-C's KeyboardInterrupt.

        Why: by default they kill the process at once and the modules stay loaded. Python runs signal
        handlers in the main thread between bytecodes, so calling pactl from here is safe. Handlers a
        program installed itself are chained; ignored signals stay ignored.
        """
        if threading.current_thread() is not threading.main_thread():
            return   # signal.signal works only there; atexit and the context manager still clean up
        for sig in _HANDLED_SIGNALS:
            previous = signal.getsignal(sig)
            if previous is signal.SIG_IGN:
                continue
            self._previous_handlers[sig] = previous
            signal.signal(sig, self._on_signal)

    def _restore_signals(self) -> None:
        for sig, previous in self._previous_handlers.items():
            try:
                if signal.getsignal(sig) == self._on_signal:
                    signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
            except ValueError:   # not the main thread (close from atexit in a thread): leave it
                pass
        self._previous_handlers = {}

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: removing the %s", signum, self.what)
        previous = self._previous_handlers.get(signum)
        self.close()
        if callable(previous):
            previous(signum, frame)
        else:
            raise SystemExit(128 + signum)


class VirtualMic(VirtualDevice):
    """A null sink plus a remapped source on its monitor, present while the context is open.

    ``with VirtualMic() as vm:`` then play into ``vm.output_device`` (a sounddevice device name); other
    programs record what was played from the microphone ``vm.source_name`` ("rtdenoise clean
    microphone"). See the module docstring for why it is built this way.

    Args:
        sink_name, source_name: PulseAudio/PipeWire node names (also the ALSA PCM names).
        sink_description, source_description: what desktop and call apps show.
        rate: the sink's and source's sample rate; None takes the server's default, so the graph does
            not resample (a null sink left without a rate runs at 48 kHz even on a 16 kHz graph).
        channels: 1 (voice) or 2; the server refuses other values it cannot do.
        env: environment for ``pactl`` (default: this process's); for talking to another server.
        configure_sounddevice: put the ALSA config into this process's ``ALSA_CONFIG_PATH``, re-initialise
            sounddevice and check it lists :attr:`output_device`. Without it, nothing in this process
            changes: hand :attr:`env_vars` to a subprocess that imports sounddevice.
        timeout: seconds to wait for the server (each ``pactl`` call, and the new nodes to appear).
        deferred: open only the sink; the microphone appears at :meth:`publish`, once audio flows
            into the sink. A program that picks the microphone the moment it appears then never
            records the silence of a sink nobody plays into yet (a model still loading).
    """

    what = "virtual microphone"

    def __init__(self, sink_name: str = "rtdenoise_out", source_name: str = "rtdenoise_mic", *,
                 sink_description: str = "rtdenoise output",
                 source_description: str = "rtdenoise clean microphone", deferred: bool = False,
                 **kwargs: Any) -> None:
        self._check_name(source_name)
        self._check_description(source_description)
        super().__init__(sink_name, sink_description, **kwargs)
        self.source_name = source_name
        self.source_description = source_description
        self.deferred = deferred
        self._source_args: tuple[str, ...] = ()    # the microphone's module arguments, until it is loaded

    @classmethod
    def named(cls, name: str | None, deferred: bool = False) -> VirtualMic:
        """The microphone ``--virtual-mic-name NAME`` asks for (fed through the sink NAME_out); None: the default."""
        if not name:
            return cls(deferred=deferred)
        return cls(f"{name}_out", name, source_description=f"rtdenoise clean microphone ({name})", deferred=deferred)

    @property
    def output_device(self) -> str:
        """sounddevice output device (an ALSA PCM name) that plays into the virtual microphone."""
        return self.sink_name

    @property
    def mic_device(self) -> str:
        """sounddevice input device (an ALSA PCM name) that records the virtual microphone, as other programs hear it."""
        return self.source_name

    def publish(self) -> None:
        """Create the microphone of a ``deferred`` VirtualMic (nothing if it exists already)."""
        with self._lock:
            if self._open and self._source_args:
                self._load_source()

    def _names(self) -> list[tuple[str, str]]:
        return [("sinks", self.sink_name), ("sources", self.source_name)]

    def _load_nodes(self, fmt: list[str], mark: str) -> None:
        super()._load_nodes(fmt, mark)
        self._source_args = (f"source_name={self.source_name}", f"master={self.sink_name}.monitor", *fmt,
                             f"source_properties='device.description=\"{self.source_description}\" "
                             f"device.icon_name=audio-input-microphone {mark}'")
        if not self.deferred:
            self._load_source()

    def _load_source(self) -> None:
        args, self._source_args = self._source_args, ()
        self._load("module-remap-source", *args)
        self._wait_listed("sources", self.source_name)
        log.info("virtual microphone %r (%s) on %s; play into %r", self.source_name, self.source_description,
                 self.server or "the audio server", self.output_device)

    def _pcms(self, plugin: str) -> list[tuple[str, str, str, str]]:
        return [(self.sink_name, "playback", self._pcm(plugin, "playback", self.sink_name), self.sink_description),
                (self.source_name, "capture", self._pcm(plugin, "capture", self.source_name), self.source_description)]

    @property
    def _listed_device(self) -> tuple[str, str]:
        return "output", self.output_device


class VirtualSpeaker(VirtualDevice):
    """A null sink that programs play into, whose sound the live engine captures, denoises and plays on
    the real output: what ``rtdenoise live --virtual-speaker`` cleans (the other side of a call).

    ``with VirtualSpeaker() as vs:`` then capture ``vs.capture_device`` (a sounddevice input); a call
    app picks "rtdenoise speaker (denoised)" as its speaker. :attr:`play_device` plays into it from
    PortAudio, as such an app would. Args as :class:`VirtualMic`'s.

    Capturing a sink's monitor through PipeWire's ALSA plugin needs the stream property
    ``stream.capture.sink`` (otherwise the session manager links the capture to the default
    microphone and it records silence); the plugin takes stream properties only from the
    ``PIPEWIRE_PROPS`` variable, which would also turn a default capture in the same process into a
    capture of the default speakers. So it is given only to the stream that captures the speaker:
    :attr:`capture_properties`, for :func:`~.devices.stream_properties`.
    """

    what = "virtual speaker"
    name_flag = "--virtual-speaker-name"

    def __init__(self, sink_name: str = "rtdenoise_speaker", *,
                 sink_description: str = "rtdenoise speaker (denoised)", **kwargs: Any) -> None:
        super().__init__(sink_name, sink_description, **kwargs)
        self._plugin = ""

    @classmethod
    def named(cls, name: str | None) -> VirtualSpeaker:
        """The speaker ``--virtual-speaker-name NAME`` asks for; None: the default."""
        return cls(name, sink_description=f"rtdenoise speaker ({name})") if name else cls()

    @property
    def play_device(self) -> str:
        """sounddevice output device (an ALSA PCM name) that plays into the virtual speaker."""
        return self.sink_name

    @property
    def capture_device(self) -> str:
        """sounddevice input device (an ALSA PCM name) that records what is played into the speaker."""
        return f"{self.sink_name}_monitor"

    @property
    def capture_properties(self) -> dict[str, str]:
        """Stream properties the stream capturing :attr:`capture_device` needs (see the class docstring)."""
        return {"stream.capture.sink": "true"} if self._plugin == "pipewire" else {}

    def _pcms(self, plugin: str) -> list[tuple[str, str, str, str]]:
        self._plugin = plugin
        monitor = self._pcm(plugin, "capture", self.sink_name, pulse_device=f"{self.sink_name}.monitor")
        return [(self.play_device, "playback", self._pcm(plugin, "playback", self.sink_name), self.sink_description),
                (self.capture_device, "capture", monitor, f"what is played into {self.sink_description}")]

    @property
    def _listed_device(self) -> tuple[str, str]:
        return "input", self.capture_device
