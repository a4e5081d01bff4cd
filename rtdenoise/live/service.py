"""``rtdenoise service``: the clean virtual microphone at every login, as a systemd user service.

NoiseTorch, EasyEffects and the PipeWire filter-chain recipes are set up once and are there at
every login; ``rtdenoise live --virtual-mic`` lives only as long as its terminal. ``service
install [LIVE OPTIONS]`` writes a user unit that runs ``rtdenoise live --virtual-mic`` with the
user's options (given after ``--``, checked now, not at the next login), enables and starts it.
The unit:

* starts with the user's session (``default.target``), after the audio server;
* restarts on failure, for good (no start limit): when the audio server stops or restarts, live
  ends with its one-line error and comes back two seconds later; ``PartOf`` the server's unit, so
  a restart of PipeWire restarts it at once;
* logs to the journal (its stderr): ``service logs``; ``service status`` says whether it runs and
  its last counters (live's statistics line, every minute).

Where there is no systemd, or no user manager to talk to, the command says so in one line and
prints the command to start instead (from the desktop's autostart, for example).
"""
from __future__ import annotations

import argparse
import logging
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from ..errors import RtDenoiseError

log = logging.getLogger(__name__)

UNIT = "rtdenoise.service"
#: Seconds between statistics lines in the journal: what ``service status`` shows.
STATS_EVERY = 60


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    i = sub.add_parser("install", help="write, enable and start the unit; `-- OPTIONS` go to `rtdenoise live`",
                       description="Options after `--` are `rtdenoise live` options (see `rtdenoise live --help`), "
                                   "for example `rtdenoise service install -- --strength 0.8 -i USB`; "
                                   "--virtual-mic is always on.")
    i.add_argument("live_args", nargs=argparse.REMAINDER, help="-- then rtdenoise live options")
    sub.add_parser("uninstall", help="stop, disable and remove the unit")
    sub.add_parser("status", help="whether it runs, and its last counters")
    lg = sub.add_parser("logs", help="its journal")
    lg.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    lg.add_argument("-n", "--lines", type=int, default=50)


def unit_path() -> Path:
    """Where systemd looks for the user's own units."""
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "systemd" / "user" / UNIT


def live_command(live_args: list[str]) -> list[str]:
    """The command the unit runs: this Python and this rtdenoise, so the service runs what the user
    tried (a virtual environment included)."""
    args = [a for a in live_args if a != "--"]
    extra = [] if "--virtual-mic" in args else ["--virtual-mic"]
    stats = [] if "--stats-every" in args else ["--stats-every", str(STATS_EVERY)]
    return [sys.executable, "-m", "rtdenoise", "live", *extra, *stats, *args]


def check_live_args(live_args: list[str]) -> None:
    """Parse the options as ``rtdenoise live`` will, and check what can be checked without devices
    (controls, the model), so a mistake shows now, not at the next login."""
    from ..cli import parser_for
    from ..model.pretrained import find_model
    from ..signal.streaming import effective_strength
    args = parser_for("live").parse_args(live_command(live_args)[4:])
    if args.in_file:
        raise RtDenoiseError("--in-file: a service runs on devices, not files")
    effective_strength(args.strength, args.atten_limit)
    find_model(args.model)


def unit_text(command: list[str]) -> str:
    """The unit file for ``command`` (see the module docstring for why each line)."""
    env = {k: os.environ[k] for k in ("RTDENOISE_MODELS", "RTDENOISE_CACHE") if k in os.environ}
    return "\n".join([
        "[Unit]",
        "Description=rtdenoise clean microphone (a denoised virtual microphone)",
        "Documentation=https://pypi.org/project/rtdenoise/",
        "After=pipewire.service pipewire-pulse.service",
        "PartOf=pipewire.service",
        "StartLimitIntervalSec=0",
        "",
        "[Service]",
        "Type=simple",
        "ExecStart=" + " ".join(_quote(a) for a in command),
        *(f"Environment={_quote(f'{k}={v}')}" for k, v in env.items()),
        "Environment=PYTHONUNBUFFERED=1",
        "Restart=on-failure",
        "RestartSec=2",
        "",
        "[Install]",
        "WantedBy=default.target",
        "",
    ])


def _quote(arg: str) -> str:
    """One word of a unit's command line: systemd splits on spaces and honours double quotes, and
    expands ``%`` and ``$``, so those are escaped."""
    arg = arg.replace("%", "%%").replace("$", "$$")
    if arg and not any(c in arg for c in " \t\"'\\;"):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _systemctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["systemctl", "--user", *args], capture_output=True, text=True, timeout=30)


def _no_systemd(command: list[str]) -> RtDenoiseError:
    return RtDenoiseError("systemd is not available here: start the clean microphone at login with "
                          f"`{shlex.join(command)}` (from your desktop's autostart)")


def install(live_args: list[str]) -> int:
    check_live_args(live_args)
    command = live_command(live_args)
    if shutil.which("systemctl") is None:
        raise _no_systemd(command)
    path = unit_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(unit_text(command))
    log.info("wrote %s", path)
    for step in (("daemon-reload",), ("enable", "--now", UNIT)):
        r = _systemctl(*step)
        if r.returncode != 0:
            why = (r.stderr.strip().splitlines() or ["no reason given"])[-1]
            raise RtDenoiseError(f"the unit is written ({path}) but `systemctl --user {' '.join(step)}` failed "
                                 f"({why}): no user manager here? Start it with `{shlex.join(command)}`")
    log.info("enabled and started: the virtual microphone comes with every login (`rtdenoise service status`)")
    return 0


def uninstall() -> int:
    path = unit_path()
    if shutil.which("systemctl") is not None:
        _systemctl("disable", "--now", UNIT)          # nothing to stop is fine
    if not path.exists():
        raise RtDenoiseError(f"no rtdenoise service is installed ({path} does not exist)")
    path.unlink()
    if shutil.which("systemctl") is not None:
        _systemctl("daemon-reload")
    log.info("removed %s", path)
    return 0


def _journal(*args: str) -> list[str]:
    return ["journalctl", "--user", "-u", UNIT, "-o", "cat", *args]


def status() -> int:
    path = unit_path()
    if not path.exists():
        print(f"not installed ({path}): `rtdenoise service install [live options]`")
        return 3
    if shutil.which("systemctl") is None:
        raise _no_systemd(live_command([]))
    state = _systemctl("is-active", UNIT).stdout.strip() or "unknown"
    print(f"{UNIT}: {state} ({path})")
    if shutil.which("journalctl") is not None:
        lines = subprocess.run(_journal("-n", "200"), capture_output=True, text=True, timeout=30).stdout.splitlines()
        counters = [line for line in lines if line.startswith("hops ")]
        if counters:
            print("last counters:", counters[-1])
    return 0 if state == "active" else 3


def logs(follow: bool, lines: int) -> int:
    if shutil.which("journalctl") is None:
        raise RtDenoiseError("journalctl is not available here: the service logs to the systemd journal")
    return subprocess.call(_journal("-n", str(lines), *(["-f"] if follow else [])))


def main(args: argparse.Namespace) -> int:
    if args.action == "install":
        return install(args.live_args)
    if args.action == "uninstall":
        return uninstall()
    if args.action == "status":
        return status()
    return logs(args.follow, args.lines)
