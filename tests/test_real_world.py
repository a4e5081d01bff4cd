"""What a call's microphone hears: validation groups of real noise, new speakers, pauses and noise
alone (valid rows only), the noise left in pauses, DNSMOS, and a user's own recordings."""
import math
import shutil

import numpy as np
import pytest
import soundfile as sf

from conftest import SR, longest_zero_run, voiced, write_index
from rtdenoise.data.mixing import Mixer, rms
from rtdenoise.data.pauses import conversation_gate, training_gate
from rtdenoise.data.real_world import NOISE_ALONE_DBFS, REAL_GROUPS, real_world_examples, with_real_world
from rtdenoise.data.recordings import Corpus
from rtdenoise.evaluation.evaluate import evaluate, summarise, table
from rtdenoise.evaluation.metrics import dnsmos, noise_in_pauses, score

FS = 48000


@pytest.fixture(scope="module")
def real_data(tiny_data, tmp_path_factory):
    """The tiny recordings folder plus the later index files: real noise at 48 kHz (valid: a steady
    hiss and a train of clicks; train: a hum that validation must never use), 16 kHz extra speakers
    (valid one at 400 Hz, train one at 90 Hz) and a full-band train actor."""
    root = tmp_path_factory.mktemp("realdata") / "data"
    shutil.copytree(tiny_data, root)
    rng = np.random.default_rng(3)
    t = np.arange(3 * FS) / FS
    clicks = np.zeros(3 * FS)
    clicks[::FS // 7] = 0.8
    noises = {"hiss": ("valid", 0.05 * rng.standard_normal(3 * FS)), "clicks": ("valid", clicks),
              "hum": ("train", 0.1 * np.sin(2 * np.pi * 60 * t))}
    noise_rows, speech_rows = [], []
    for name, (split, x) in noises.items():
        rel = f"noise/real/{name}.flac"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        sf.write(root / rel, x.astype(np.float32), FS)
        noise_rows.append({"path": rel, "source": "t", "category": name, "split": split, "seconds": "3", "rate": str(FS),
                           "bandwidth_hz": "20000", "license": "CC0"})
    for split, f0, rate, folder in (("valid", 400, SR, "extra"), ("train", 90, SR, "extra"), ("train", 250, FS, "fullband")):
        rel = f"speech/{folder}/{split}{f0}/a.flac"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        x = voiced(rng, 2.0, f0)
        if rate == FS:
            x = np.interp(np.arange(3 * len(x)) / 3, np.arange(len(x)), x).astype(np.float32)
        sf.write(root / rel, x, rate)
        speech_rows.append({"path": rel, "split": split, "speaker": f"{split}{f0}", "gender": "F", "seconds": "2",
                            "rate": str(rate), "bandwidth_hz": "8000", "license": "x", "transcript": "x"})
    for index, rows in (("noise/index-real.csv", noise_rows), ("speech/index-extra.csv", speech_rows)):
        write_index(root / index, rows)
    return root


def dominant_hz(x: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(x))
    spectrum[: int(50 * len(x) / SR)] = 0
    return float(np.argmax(spectrum) * SR / len(x))


def test_the_real_world_groups_come_from_valid_rows_only_and_are_the_same_every_time(real_data):
    corpus = Corpus.load(real_data, "valid")
    examples = real_world_examples(corpus, REAL_GROUPS, count=6, seconds=1.0, data_dir=real_data)
    again = real_world_examples(corpus, REAL_GROUPS, count=6, seconds=1.0, data_dir=real_data)
    assert all(np.array_equal(a.noisy, b.noisy) for a, b in zip(examples, again))
    by_group = {g: [e for e in examples if e.group == g] for g in REAL_GROUPS}
    assert [len(by_group[g]) for g in REAL_GROUPS] == [6, 6, 6, 2 * len(NOISE_ALONE_DBFS)]
    assert {e.kind for e in examples} <= {"hiss", "clicks"}             # never the train hum
    for e in by_group["real-noise"]:
        assert dominant_hz(e.clean) > 250                               # valid speakers (train ones are below 200 Hz)
    for e in by_group["new-speakers"]:
        assert abs(dominant_hz(e.clean) - 400) < 50                     # the valid extra speaker (pitch within 10%), not the train one
    assert all(e.rate == SR for e in examples)


def test_noise_alone_is_each_valid_recording_at_three_levels_against_silence(real_data):
    examples = real_world_examples(Corpus.load(real_data, "valid"), ("noise-alone",), count=6, seconds=1.0,
                                   data_dir=real_data)
    assert sorted({e.kind for e in examples}) == ["clicks", "hiss"]
    for e in examples:
        assert not np.any(e.clean) and e.snr == -math.inf
    levels = sorted(round(20 * math.log10(rms(e.noisy)), 3) for e in examples)
    assert levels == sorted(2 * list(NOISE_ALONE_DBFS))


def test_a_conversation_speaks_40_to_70_percent_of_the_time_in_turns_with_soft_edges():
    for seed in range(20):
        gate = conversation_gate(np.random.default_rng(seed), 8 * SR, SR)
        assert 0.38 <= np.mean(gate) <= 0.70                            # the ramps take a little off the share
        assert gate[0] == 0 and gate[-1] == 0                           # a pause before the first turn and after the last
        assert np.max(np.abs(np.diff(gate))) < 0.01                     # onsets and offsets of 10 ms or more
        assert longest_zero_run(gate) > 0.2 * SR


def test_training_pauses_are_one_to_three_soft_gaps_of_0_15_to_0_8_s():
    for seed in range(20):
        gate = training_gate(np.random.default_rng(seed), 2 * SR, SR)
        gaps = np.diff(np.concatenate([[0], (gate < 1).astype(np.int8), [0]]))
        lengths = np.flatnonzero(gaps == -1) - np.flatnonzero(gaps == 1)
        assert 1 <= len(lengths) <= 3 and lengths.max() <= 3 * 0.8 * SR and lengths.min() >= 0.15 * SR
        assert np.max(np.abs(np.diff(gate))) < 0.01 and np.any(gate == 0)


def test_the_pauses_group_is_speech_with_long_silences_in_noise_that_goes_on(real_data):
    examples = real_world_examples(Corpus.load(real_data, "valid"), ("pauses",), count=5, seconds=2.0,
                                   data_dir=real_data)
    for e in examples:
        assert len(e.clean) == 4 * SR                                   # twice the groups' length
        assert longest_zero_run(e.clean) > 0.3 * SR                     # longer than the test voice's own gaps
        if e.kind == "hiss":                                            # (the clicks are silent between clicks)
            assert longest_zero_run(e.noisy) < 10


def test_the_noise_left_in_pauses_is_measured_in_db_below_the_input_where_the_reference_is_silent():
    rng = np.random.default_rng(0)
    speech = voiced(rng, 2.0, 200)
    speech[SR // 2:SR] = 0                                              # half a second of pause
    noise = 0.01 * rng.standard_normal(len(speech)).astype(np.float32)
    noisy = speech + noise
    # float32 samples (relative error about 6e-8 each) put the ratio within 1e-4 dB
    assert noise_in_pauses(speech, noisy, speech + 0.01 * noise, SR) == pytest.approx(40.0, abs=1e-4)
    assert noise_in_pauses(speech, noisy, noisy, SR) == pytest.approx(0.0, abs=1e-9)
    steady = voiced(rng, 2.0, 200) + 0.05                               # never silent: no pauses to measure
    assert math.isnan(noise_in_pauses(steady, steady + noise, steady, SR))
    assert math.isnan(noise_in_pauses(speech, speech, speech, SR))      # pauses without noise: nothing removed


def test_a_silent_reference_has_no_pesq_stoi_or_sdr_but_the_noise_removed_is_measured(real_data):
    examples = real_world_examples(Corpus.load(real_data, "valid"), ("noise-alone",), count=1, seconds=1.0,
                                   data_dir=real_data)
    assert all(math.isnan(v) for v in score(examples[0].clean, examples[0].noisy).values())
    rows = evaluate(examples, {"-30 dB": lambda x, rate: x * 10 ** (-30 / 20)}, no_reference=False)
    assert {r.system: round(r.pauses_db, 6) for r in rows} == {"noisy": 0.0, "-30 dB": 30.0}
    text = table(summarise(rows))
    assert "noise in pauses" in text and "DNSMOS" not in text


def test_dnsmos_hears_the_background_and_judges_audio_at_any_rate():
    rng = np.random.default_rng(0)
    clean = np.tile(voiced(rng, 2.0, 180), 3)
    noisy = clean + 0.05 * rng.standard_normal(len(clean)).astype(np.float32)
    a, b = dnsmos(clean, SR), dnsmos(noisy, SR)
    assert a["dnsmos_bak"] > b["dnsmos_bak"] + 0.5                     # white noise at about 0 dB SNR
    assert all(1.0 <= v <= 5.0 for v in (*a.values(), *b.values()))
    up = np.interp(np.arange(3 * len(noisy)) / 3, np.arange(len(noisy)), noisy).astype(np.float32)
    assert dnsmos(up, FS)["dnsmos_bak"] == pytest.approx(b["dnsmos_bak"], abs=0.15)   # resampled to its 16 kHz


def test_eval_on_your_own_recordings_reports_dnsmos_before_and_after(cli, tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "mine"
    folder.mkdir()
    for name, rate in (("desk", SR), ("phone", FS)):
        x = np.tile(voiced(rng, 1.0, 150), 3)
        x = np.interp(np.arange(len(x) * rate // SR) * SR / rate, np.arange(len(x)), x)
        sf.write(folder / f"{name}.wav", x + 0.02 * rng.standard_normal(len(x)), rate)
    r = cli("eval", "--recordings", str(folder), "-m", "tiny", "--json", str(tmp_path / "r.json"))
    assert r.returncode == 0, r.stderr
    assert "DNSMOS OVRL" in r.stdout and "PESQ" in r.stdout
    lines = [l for l in r.stdout.splitlines() if "| recordings | all |" in l]
    assert len(lines) == 2                                              # the input and the model
    import json
    rows = json.loads((tmp_path / "r.json").read_text())["rows"]
    assert {(x["system"], x["name"]) for x in rows} >= {("noisy", "desk"), ("noisy", "phone")}
    assert all(1 <= x["dnsmos_ovrl"] <= 5 and math.isnan(x["pesq"]) for x in rows)


def test_eval_on_an_empty_recordings_folder_says_so_in_one_line(cli, tmp_path):
    r = cli("eval", "--recordings", str(tmp_path), "-m", "tiny")
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "no audio files" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_training_adds_the_train_rows_of_the_later_index_files_only(real_data):
    corpus = with_real_world(Corpus.load(real_data, "train"), real_data, "train")
    assert {"train90", "train250"} <= set(corpus.speakers) and "valid400" not in corpus.speakers
    assert len(corpus.real_noise) == 1                                  # the hum, at 16 kHz
    assert abs(dominant_hz(corpus.real_noise[0]) - 60) < 2
    mixer = Mixer(corpus)
    assert "real" in mixer._kinds and "real" not in Mixer(Corpus.load(real_data, "train"))._kinds


def test_training_crops_of_noise_alone_have_a_silent_target(real_data):
    corpus = Corpus.load(real_data, "train")
    rng = np.random.default_rng(5)
    for clean, noisy in (Mixer(corpus, noise_only=1.0).pair(rng, SR) for _ in range(4)):
        assert not np.any(clean) and rms(noisy) > 1e-4
    for clean, noisy in (Mixer(corpus, pauses=1.0).pair(rng, 2 * SR) for _ in range(4)):
        assert np.any(clean) and longest_zero_run(noisy) < 10              # speech, and the noise never stops
