"""Bad input and bad options, as a user meets them: the real command line, one row each.

Every row runs `python -m rtdenoise ...` in a subprocess and must end with a non-zero exit, exactly
one `rtdenoise: error:` line that says what is wrong, no traceback, and every input file as it was.
Rows with several input files also check that each good file was still processed. A place that
cannot be written is made with a regular file in the way (which stops root too) and, where the
file system allows it, an immutable folder (`chattr +i`).
"""
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import voiced

SR = 16000


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def place(tmp_path):
    """A folder of inputs: good speech at 16 and 48 kHz, a 24-bit file, and the kinds of bad file."""
    d = tmp_path / "in"
    d.mkdir()
    rng = np.random.default_rng(21)
    sf.write(d / "good.wav", voiced(rng, 0.6, 150), SR)
    sf.write(d / "good48.flac", voiced(rng, 0.6, 200), 48000)
    sf.write(d / "empty.wav", np.zeros(0, np.float32), SR)
    nan = voiced(rng, 0.3, 150)
    nan[100] = np.nan
    sf.write(d / "nan.wav", nan, SR, subtype="FLOAT")
    (d / "text.wav").write_text("not audio at all\n")
    (tmp_path / "blocker").write_text("a file where a folder would have to be\n")
    return d


def _bad_model(tmp_path: Path, tiny_model_dir: Path, **change) -> Path:
    """A copy of the tiny model whose JSON was edited by hand."""
    dst = tmp_path / "models"
    dst.mkdir(exist_ok=True)
    saved = json.loads((tiny_model_dir / "tiny.json").read_text())
    shutil.copyfile(tiny_model_dir / saved["weights"], dst / saved["weights"])
    saved["model"].update(change)
    (dst / "edited.json").write_text(json.dumps(saved))
    return dst / "edited.json"


def _immutable(folder: Path) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
    return r.returncode == 0


ROWS = {
    # enhance
    "missing input": (["enhance", "{in}/nope.wav", "-o", "{tmp}/o.wav"], "{in}/nope.wav: no such file or folder"),
    "empty file": (["enhance", "{in}/empty.wav", "-o", "{tmp}/o.wav"], "empty.wav: no samples"),
    "NaN samples": (["enhance", "{in}/nan.wav", "-o", "{tmp}/o.wav"], "nan.wav: contains NaN or Inf samples"),
    "not audio": (["enhance", "{in}/text.wav", "-o", "{tmp}/o.wav"], "text.wav: cannot read audio"),
    "output is the input": (["enhance", "{in}/good.wav", "-o", "{in}/good.wav"], "would overwrite an input"),
    "output exists": (["enhance", "{in}/good.wav", "-o", "{in}/good48.flac"], "already exists (use --force"),
    "noise output is the output": (["enhance", "{in}/good.wav", "-o", "{tmp}/o.wav", "--noise-out", "{tmp}/o.wav"],
                                   "the output and the noise output would both be written here"),
    "output folder blocked by a file": (["enhance", "{in}/good.wav", "{in}/good48.flac", "-o", "{tmp}/blocker/out"],
                                        "2 of 2 files failed"),
    "hop 0": (["enhance", "{in}/good.wav", "-o", "{tmp}/o.wav", "--overlap-hop", "0"], "--overlap-hop must be between 1 and"),
    "hop beyond the window": (["enhance", "{in}/good.wav", "-o", "{tmp}/o.wav", "--overlap-hop", "99999"],
                              "--overlap-hop must be between 1 and the model's window (512), got 99999"),
    "unknown subtype": (["enhance", "{in}/good.wav", "-o", "{tmp}/o.wav", "--subtype", "BOGUS"],
                        "--subtype BOGUS: WAV files cannot hold it"),
    "unknown model": (["enhance", "{in}/good.wav", "-o", "{tmp}/o.wav", "-m", "no-such-model"],
                      "model 'no-such-model' not found"),
    "model with sample rate 0": (["enhance", "{in}/good.wav", "-o", "{tmp}/o.wav", "-m", "{model:sample_rate=0}"],
                                 "not a valid model config"),
    "model with no channels": (["enhance", "{in}/good.wav", "-o", "{tmp}/o.wav", "-m", "{model:channels=[]}"],
                               "not a valid model config (channels must be one or more positive numbers)"),
    # live, from files
    "live: missing input": (["live", "--in-file", "{in}/nope.wav", "--out-file", "{tmp}/o.wav"],
                            "{in}/nope.wav: no such file"),
    "live: output exists": (["live", "--in-file", "{in}/good.wav", "--out-file", "{in}/good48.flac"],
                            "already exists (use --force"),
    "live: output blocked by a file": (["live", "--in-file", "{in}/good.wav", "--out-file", "{tmp}/blocker/o.wav"],
                                       "cannot write there"),
    "live: record folder blocked": (["live", "--in-file", "{in}/good.wav", "--record", "{tmp}/blocker/rec"],
                                    "cannot write there"),
    "live: negative safety": (["live", "--in-file", "{in}/good.wav", "--out-file", "{tmp}/o.wav", "--safety-ms", "-100"],
                              "--safety-ms must be between 0 and 2000, got -100"),
    "live: no threads": (["live", "--in-file", "{in}/good.wav", "--out-file", "{tmp}/o.wav", "--threads", "0"],
                         "--threads must be at least 1, got 0"),
    "live: zero block": (["live", "--in-file", "{in}/good.wav", "--out-file", "{tmp}/o.wav", "--block-ms", "0"],
                         "--block-ms must be between 1 and 100, got 0"),
    "live: negative attenuation limit": (["live", "--in-file", "{in}/good.wav", "--out-file", "{tmp}/o.wav",
                                          "--atten-limit", "-5"], "--atten-limit must be at least 0, got -5"),
    "live: hop 0": (["live", "--in-file", "{in}/good.wav", "--out-file", "{tmp}/o.wav", "--hop", "0"],
                    "--hop must be between 1 and 512, got 0"),
    "live: hop beyond the window": (["live", "--in-file", "{in}/good.wav", "--out-file", "{tmp}/o.wav", "--hop", "4096"],
                                    "--hop must be between 1 and 512, got 4096"),
    "live: strength 2": (["live", "--in-file", "{in}/good.wav", "--out-file", "{tmp}/o.wav", "--strength", "2"],
                         "--strength must be between 0 and 1"),
}


@pytest.mark.parametrize("row", list(ROWS))
def test_bad_input_is_one_clear_line_and_changes_no_input(row, cli, place, tmp_path, tiny_model_dir):
    args, expected = ROWS[row]
    fill = lambda a: a.replace("{in}", str(place)).replace("{tmp}", str(tmp_path))
    argv = []
    for a in args:
        if a.startswith("{model:"):
            key, value = a[len("{model:"):-1].split("=")
            a = str(_bad_model(tmp_path, tiny_model_dir, **{key: json.loads(value)}))
        argv.append(fill(a))
    if "-m" not in argv:
        argv += ["-m", "tiny"]
    before = _digest(place)
    r = cli(*argv)
    assert r.returncode != 0, r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("rtdenoise: error:")]
    assert len(errors) == 1, r.stderr
    assert fill(expected) in errors[0], errors[0]
    assert _digest(place) == before, "an input was changed"


def test_an_immutable_output_folder_is_reported_per_file_and_the_rest_still_run(cli, place, tmp_path):
    locked = tmp_path / "locked"
    if not _immutable(locked):
        pytest.skip("this file system has no immutable flag (chattr +i)")
    try:
        r = cli("enhance", str(place / "good.wav"), str(place / "good48.flac"), "-o", str(locked), "-m", "tiny")
    finally:
        subprocess.run(["chattr", "-i", str(locked)])
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.count("cannot write there") == 2 and "2 of 2 files failed" in r.stderr


def test_a_folder_with_bad_files_still_processes_every_good_one(cli, place, tmp_path):
    before = _digest(place)
    r = cli("enhance", str(place), "-o", str(tmp_path / "out"), "-m", "tiny")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("rtdenoise: error:")]
    assert errors == ["rtdenoise: error: 3 of 5 files failed (see above)"], r.stderr
    assert (tmp_path / "out/good.wav").is_file() and (tmp_path / "out/good48.flac").is_file()
    assert sf.info(tmp_path / "out/good48.flac").samplerate == 48000
    assert _digest(place) == before


def test_a_truncated_wav_is_enhanced_with_a_warning(cli, place, tmp_path):
    full = tmp_path / "full.wav"
    sf.write(full, voiced(np.random.default_rng(5), 1.0, 150), SR, subtype="PCM_24")
    data = full.read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[:len(data) // 2])
    r = cli("enhance", str(cut), "-o", str(tmp_path / "o.wav"), "-m", "tiny")
    assert r.returncode == 0, r.stderr
    assert "cut.wav: truncated: its header promises 1.00 s, the file holds 0.50 s" in r.stderr
    assert sf.info(tmp_path / "o.wav").frames == sf.info(cut).frames
    assert sf.info(tmp_path / "o.wav").subtype == "PCM_24"          # and it keeps its sample format


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
def test_outputs_keep_the_inputs_sample_format_unless_asked(cli, tmp_path, subtype):
    src = tmp_path / f"in-{subtype}.wav"
    sf.write(src, voiced(np.random.default_rng(6), 0.5, 150), SR, subtype=subtype)
    r = cli("enhance", str(src), "-o", str(tmp_path / "o.wav"), "--noise-out", str(tmp_path / "n.wav"), "-m", "tiny")
    assert r.returncode == 0, r.stderr
    assert sf.info(tmp_path / "o.wav").subtype == sf.info(tmp_path / "n.wav").subtype == subtype
    r = cli("enhance", str(src), "-o", str(tmp_path / "p.wav"), "--subtype", "PCM_16", "-m", "tiny")
    assert r.returncode == 0 and sf.info(tmp_path / "p.wav").subtype == "PCM_16"
    r = cli("live", "--in-file", str(src), "--out-file", str(tmp_path / "l.wav"), "-m", "tiny", "--hop", "128",
            "--lookahead", "128")
    assert r.returncode == 0 and sf.info(tmp_path / "l.wav").subtype == subtype


def test_live_replaces_an_existing_output_only_when_forced(cli, place, tmp_path):
    out = tmp_path / "o.wav"
    out.write_bytes(b"precious")
    args = ["live", "--in-file", str(place / "good.wav"), "--out-file", str(out), "-m", "tiny", "--hop", "128",
            "--lookahead", "128"]
    assert cli(*args).returncode == 1 and out.read_bytes() == b"precious"
    assert cli(*args, "--force").returncode == 0 and sf.info(out).frames == sf.info(place / "good.wav").frames


def test_an_export_cache_that_cannot_be_written_falls_back_to_a_temporary_one(cli, place, tmp_path):
    r = cli("enhance", str(place / "good.wav"), "-o", str(tmp_path / "o.wav"), "-m", "tiny",
            env={"RTDENOISE_CACHE": str(tmp_path / "blocker" / "cache")})
    assert r.returncode == 0, r.stderr
    assert "cannot be written" in r.stderr and "exporting into" in r.stderr
    assert sf.info(tmp_path / "o.wav").frames == sf.info(place / "good.wav").frames
