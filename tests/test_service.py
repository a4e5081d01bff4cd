"""`rtdenoise service`: the clean microphone as a systemd user service, written and checked without
needing a running systemd (this machine and CI have the tools but no user manager)."""
import shutil
import subprocess
import sys

import pytest


def service(tmp_path, *args, path=None, **env):
    """`rtdenoise service ARGS` with its unit folder under tmp_path and no user manager reachable
    (so nothing is ever enabled on the machine that runs the tests)."""
    import os
    full = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_RUNTIME_DIR": str(tmp_path),
            "DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path}/no-bus", **env}
    if path is not None:
        full["PATH"] = path
    return subprocess.run([sys.executable, "-m", "rtdenoise", "service", *args], env=full,
                          capture_output=True, text=True, timeout=120)


def unit(tmp_path):
    return tmp_path / "config" / "systemd" / "user" / "rtdenoise.service"


def test_install_writes_a_unit_that_runs_live_with_the_options_and_restarts_it(tmp_path):
    r = service(tmp_path, "install", "--", "--strength", "0.8", "-i", "USB mic")
    text = unit(tmp_path).read_text()
    exec_line = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    assert exec_line == f'ExecStart={sys.executable} -m rtdenoise live --virtual-mic --stats-every 60 --strength 0.8 -i "USB mic"'
    for line in ("Restart=on-failure", "RestartSec=2", "StartLimitIntervalSec=0", "PartOf=pipewire.service",
                 "After=pipewire.service pipewire-pulse.service", "WantedBy=default.target"):
        assert line in text.splitlines(), text
    if shutil.which("systemd-analyze"):
        v = subprocess.run(["systemd-analyze", "verify", str(unit(tmp_path))], capture_output=True, text=True)
        assert v.returncode == 0 and not v.stderr.strip(), v.stderr
    # No user manager here: one line that says what failed and what to run instead.
    assert r.returncode == 1 and "Traceback" not in r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith(f"rtdenoise: error: the unit is written ({unit(tmp_path)}) but `systemctl --user "), last
    assert "Start it with `" in last and "--strength 0.8 -i 'USB mic'`" in last, last


def test_options_are_checked_before_anything_is_written(tmp_path):
    for args, message in ((["--strength", "2"], "--strength must be between 0 and 1"),
                          (["-m", "no-such-model"], "model 'no-such-model' not found"),
                          (["--in-file", "x.wav"], "--in-file: a service runs on devices, not files")):
        r = service(tmp_path, "install", "--", *args)
        assert r.returncode == 1 and message in r.stderr.strip().splitlines()[-1], r.stderr
        assert not unit(tmp_path).exists()


def test_without_systemd_install_says_so_and_prints_the_command_to_run(tmp_path):
    (tmp_path / "bin").mkdir()
    r = service(tmp_path, "install", "--", "--strength", "0.5", path=str(tmp_path / "bin"))
    assert r.returncode == 1, r.stderr
    assert r.stderr.strip().splitlines() == [
        f"rtdenoise: error: systemd is not available here: start the clean microphone at login with "
        f"`{sys.executable} -m rtdenoise live --virtual-mic --stats-every 60 --strength 0.5` (from your desktop's autostart)"]
    assert not unit(tmp_path).exists()


def test_uninstall_removes_the_unit_and_status_then_says_not_installed(tmp_path):
    service(tmp_path, "install")
    assert unit(tmp_path).exists()
    assert service(tmp_path, "status").returncode == 3      # installed, not running (no user manager)
    r = service(tmp_path, "uninstall")
    assert r.returncode == 0 and not unit(tmp_path).exists(), r.stderr
    s = service(tmp_path, "status")
    assert s.returncode == 3 and s.stdout.startswith("not installed"), s.stdout
    again = service(tmp_path, "uninstall")
    assert again.returncode == 1 and "no rtdenoise service is installed" in again.stderr


@pytest.mark.parametrize("arg, word", [("50%", "50%%"), ("$HOME", "$$HOME"), ('say "hi"', '"say \\"hi\\""')])
def test_unit_command_words_survive_systemd_quoting(arg, word):
    from rtdenoise.live.service import unit_text
    line = next(x for x in unit_text(["/bin/echo", arg]).splitlines() if x.startswith("ExecStart="))
    assert line == f"ExecStart=/bin/echo {word}"
