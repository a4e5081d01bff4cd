"""``pactl``, the PulseAudio client (PipeWire answers it through pipewire-pulse), run so its output can be parsed.

pactl translates its labels: on a German desktop ``pactl info`` says ``Standard-Abtastrate: float32le 2ch
48000Hz``, not ``Default Sample Specification: ...``. Every call here runs it with ``LC_ALL=C``, so the
labels are English whatever the user's locale. That alone is enough: GNU gettext ignores ``LANGUAGE``
when the locale is ``C`` (but not ``C.UTF-8``, under which ``LANGUAGE=de`` still translates).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping

from ..errors import RtDenoiseError

NO_PACTL = ("pactl not found: install it (Debian/Ubuntu: apt install pulseaudio-utils; Fedora: "
            "dnf install pulseaudio-utils) and run PipeWire (pipewire-pulse) or PulseAudio")


class PactlError(RtDenoiseError):
    """pactl is missing, could not be started, or did not answer in time (one line)."""


class PactlFailed(PactlError):
    """pactl ran and exited non-zero: no server answers, or the server refused; its last message line is the text."""


def run(*args: str, env: Mapping[str, str] | None = None, timeout: float = 2.0) -> str:
    """``pactl ARGS`` in the C locale, with ``env`` (default: this process's) otherwise as given; its stdout."""
    env = {**(os.environ if env is None else env), "LC_ALL": "C"}
    exe = shutil.which("pactl", path=env.get("PATH", os.defpath))
    if exe is None:
        raise PactlError(NO_PACTL)
    try:
        r = subprocess.run([exe, *args], capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise PactlError(f"the audio server did not answer `pactl {args[0]}` within {timeout:g} s: "
                         "restart pipewire-pulse (or pulseaudio)") from None
    except OSError as e:
        raise PactlError(f"cannot run {exe}: {e}") from None
    if r.returncode != 0:
        lines = (r.stderr or r.stdout).strip().splitlines()
        raise PactlFailed(lines[-1] if lines else f"exit status {r.returncode}")
    return r.stdout


def info(env: Mapping[str, str] | None = None, timeout: float = 2.0) -> dict[str, str]:
    """``pactl info`` as a dict: ``Server Name``, ``Default Sample Specification``, ... (English labels)."""
    lines = run("info", env=env, timeout=timeout).splitlines()
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in lines) if v}


def spec_rate(spec: str) -> int | None:
    """The rate of a pactl sample specification such as ``float32le 2ch 16000Hz``."""
    m = re.search(r"(\d+)\s*Hz", spec)
    return int(m.group(1)) if m else None


def server_rate(env: Mapping[str, str] | None = None, timeout: float = 2.0) -> int | None:
    """The rate the PipeWire or PulseAudio server runs at, or None when no server (or no pactl) answers.

    Why: opening its devices at that rate adds no resampling stage (PortAudio's ALSA view often says
    44.1 kHz on a 48 kHz graph)."""
    try:
        return spec_rate(info(env, timeout).get("Default Sample Specification", ""))
    except PactlError:
        return None


def node_names(env: Mapping[str, str] | None = None, timeout: float = 2.0) -> set[str]:
    """Names of the server's sources and sinks now (empty where no server answers)."""
    try:
        rows = [line.split("\t") for kind in ("sources", "sinks")
                for line in run("list", "short", kind, env=env, timeout=timeout).splitlines()]
    except PactlError:
        return set()
    return {row[1] for row in rows if len(row) > 1}
