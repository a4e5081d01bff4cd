"""rtdenoise.live.pactl against a real PipeWire server (the audio_server fixture), on a German desktop.

pactl translates its labels, and rtdenoise parses them, so every call runs pactl in the C locale. The
German locale and pactl's German messages come from scripts/setup.sh (as root); without them these
tests fail rather than skip, since they would no longer show anything.
"""
from __future__ import annotations

import re
import subprocess

import pytest

from rtdenoise.errors import RtDenoiseError
from rtdenoise.live import pactl

#: A desktop session in German, as its environment says it.
GERMAN = {"LC_ALL": "de_DE.UTF-8", "LANG": "de_DE.UTF-8", "LANGUAGE": "de"}


@pytest.fixture
def german(audio_server) -> dict[str, str]:
    """The test server's environment in German, once a plain ``pactl info`` there is seen to speak German."""
    env = {**audio_server.env, **GERMAN}
    plain = subprocess.run(["pactl", "info"], env=env, capture_output=True, text=True, timeout=30)
    assert plain.returncode == 0, plain.stderr
    if "Default Sample Specification" in plain.stdout:
        pytest.fail("a plain `pactl info` with LC_ALL=de_DE.UTF-8 still prints English labels, so this test "
                    "shows nothing: it needs the de_DE.UTF-8 locale (`locale -a`) and "
                    "/usr/share/locale/de/LC_MESSAGES/pulseaudio.mo; run scripts/setup.sh as root")
    return env


def test_a_plain_pactl_info_on_a_german_desktop_prints_german_labels(german, audio_server):
    """Why the C locale is needed: the label the rate was looked up by is gone, the rate is still there."""
    out = subprocess.run(["pactl", "info"], env=german, capture_output=True, text=True, timeout=30).stdout
    assert "Standard-Abtastwert-Angabe" in out and f"{audio_server.rate}Hz" in out
    assert re.search(r"Default Sample Specification:.*?(\d+)\s*Hz", out) is None


def test_server_rate_is_read_on_a_german_desktop(german, audio_server, monkeypatch):
    """The process's own environment is German (as the live command's is on such a desktop)."""
    for key, value in german.items():
        monkeypatch.setenv(key, value)
    assert pactl.server_rate() == audio_server.rate == 16000


def test_info_has_english_labels_whatever_the_locale(german, audio_server):
    info = pactl.info(env=german)
    assert pactl.spec_rate(info["Default Sample Specification"]) == audio_server.rate
    assert "PipeWire" in info["Server Name"]


def test_a_command_pactl_refuses_is_a_one_line_english_error(german):
    with pytest.raises(pactl.PactlFailed) as e:
        pactl.run("unload-module", "4000000000", env=german)
    assert "\n" not in str(e.value) and re.search(r"[Ff]ailure|[Nn]o such entity", str(e.value))


def test_no_pactl_is_a_one_line_error_saying_what_to_install_and_no_rate(audio_server, tmp_path):
    env = {**audio_server.env, "PATH": str(tmp_path)}
    with pytest.raises(pactl.PactlError, match="pactl not found: install it .*pulseaudio-utils") as e:
        pactl.run("info", env=env)
    assert isinstance(e.value, RtDenoiseError) and not isinstance(e.value, pactl.PactlFailed)
    assert pactl.server_rate(env=env) is None


def test_no_server_gives_no_rate(audio_server, tmp_path):
    (tmp_path / "run").mkdir(mode=0o700)
    (tmp_path / "client.conf").write_text("autospawn = no\n")   # never start a PulseAudio for this test
    env = {k: v for k, v in audio_server.env.items() if k not in ("PULSE_SERVER", "PIPEWIRE_RUNTIME_DIR")}
    env.update(XDG_RUNTIME_DIR=str(tmp_path / "run"), PULSE_CLIENTCONFIG=str(tmp_path / "client.conf"))
    with pytest.raises(pactl.PactlFailed):
        pactl.info(env=env)
    assert pactl.server_rate(env=env) is None
