"""Training: the loss goes down, a killed run resumes at the same step, and DDP runs."""
import csv
import os
import subprocess
import sys

import numpy as np
import torch

from conftest import ROOT
from rtdenoise.training.trainer import Trainer
from rtdenoise.training.config import TrainConfig


def _cfg(tiny_data, out, **kw):
    base = dict(preset="tiny", out=str(out), data=str(tiny_data), batch=8, ref_batch=4, validate_every=0,
                validate_count=0, checkpoint_every=5, lr_g=1e-3, lr_d=1e-3)
    return TrainConfig(**{**base, **kw})


def _l1(out):
    with open(out / "log.csv") as f:
        return [float(r["g_l1"]) for r in csv.DictReader(f)]


def test_a_few_steps_lower_the_loss_in_warm_up_and_in_the_gan_phase(tiny_data, tmp_path):
    torch.set_num_threads(1)
    Trainer(_cfg(tiny_data, tmp_path, steps=100, l1_warmup=50, lr_warmup=5e-3)).run()
    with open(tmp_path / "log.csv") as f:
        rows = list(csv.DictReader(f))
    l1 = [float(r["g_l1"]) for r in rows]
    assert len(l1) == 100
    assert np.mean(l1[40:50]) < 0.6 * np.mean(l1[:10]), "L1 warm-up"
    assert all(float(r["d_cd"]) == 0 for r in rows[:50]) and all(float(r["d_cd"]) > 0 for r in rows[50:])
    assert np.mean(l1[-10:]) < 0.6 * np.mean(l1[:10]), "the GAN phase keeps what the warm-up learned"
    assert (tmp_path / "model-last.json").is_file() and (tmp_path / "checkpoint.pt").is_file()


def test_resume_continues_at_the_same_step_with_the_same_result(tiny_data, tmp_path):
    torch.set_num_threads(1)
    Trainer(_cfg(tiny_data, tmp_path / "straight", steps=10, l1_warmup=3)).run()
    Trainer(_cfg(tiny_data, tmp_path / "killed", steps=5, l1_warmup=3)).run()   # as if killed after step 5
    resumed = Trainer(_cfg(tiny_data, tmp_path / "killed", steps=10, l1_warmup=3), resume=True)
    assert resumed.step == 5
    resumed.run()
    a = torch.load(tmp_path / "straight/checkpoint.pt", weights_only=True)
    b = torch.load(tmp_path / "killed/checkpoint.pt", weights_only=True)
    assert a["step"] == b["step"] == 10
    for k in a["g"]:
        torch.testing.assert_close(a["g"][k], b["g"][k], rtol=0, atol=1e-6)
    assert _l1(tmp_path / "killed") == _l1(tmp_path / "straight")[:5] + _l1(tmp_path / "killed")[5:]


def test_validation_scores_and_exports_the_best_model(tiny_data, tmp_path):
    Trainer(_cfg(tiny_data, tmp_path, steps=4, validate_every=2, validate_count=2)).run()
    with open(tmp_path / "log.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["val_pesq"]]
    assert [r["step"] for r in rows] == ["2", "4"]
    assert all(np.isfinite(float(r["val_si_sdr"])) and 1.0 <= float(r["val_pesq"]) <= 4.65 for r in rows)
    assert (tmp_path / "model-best.json").is_file()


def test_training_without_the_noise_discriminator(tiny_data, tmp_path):
    t = Trainer(_cfg(tiny_data, tmp_path, steps=2, noise_disc=False))
    assert t.nets.nd is None
    assert t.run()["d_nd"] == 0.0


def test_the_streaming_loss_counts_the_region_live_output_comes_from_more(tiny_data, tmp_path):
    from rtdenoise.signal.streaming import StreamConfig
    t = Trainer(_cfg(tiny_data, tmp_path, steps=1, stream_weight=3.0, stream_hop=128, stream_lookahead=64))
    clean = torch.zeros(2, 1, 512)
    w = StreamConfig(512, 128, 64).weight()
    inside, outside = int(np.argmax(w)), 10                # full weight there; none at the start
    for pos, expected in ((inside, 1 + 3.0 * w[inside] / w.mean()), (outside, 1.0)):
        err = clean.clone()
        err[:, :, pos] = 1.0
        torch.testing.assert_close(t._l1(err, clean) * 512, torch.tensor(float(expected)), rtol=1e-5, atol=1e-5)
    assert t.run()["g_l1"] > 0


def test_the_command_trains_and_resumes(tiny_data, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-m", "rtdenoise", "train", "--preset", "tiny", "--data", str(tiny_data), "--out",
            str(tmp_path), "--batch", "4", "--ref-batch", "2", "--validate-every", "0", "--threads", "1"]
    r = subprocess.run(args + ["--steps", "3"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(args + ["--steps", "5", "--resume"], capture_output=True, text=True, env=env)
    assert r.returncode == 0 and "resumed" in r.stderr and "at step 3" in r.stderr, r.stderr
    assert len(_l1(tmp_path)) == 5
    r = subprocess.run(args + ["--steps", "5", "--resume", "--batch", "8"], capture_output=True, text=True, env=env)
    assert r.returncode == 1 and "batch was 4" in r.stderr and "Traceback" not in r.stderr


def test_two_processes_train_with_ddp_through_torchrun(tiny_data, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                        "-m", "rtdenoise", "train", "--preset", "tiny", "--data", str(tiny_data), "--out",
                        str(tmp_path), "--batch", "4", "--ref-batch", "2", "--steps", "3", "--validate-every", "0"],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "world 2" in r.stderr
    meta = (tmp_path / "model-last.json").read_text()
    assert '"batch": 8' in meta


def test_the_envelope_loss_rewards_matching_band_envelopes_and_ignores_band_gains():
    from rtdenoise.training.losses import envelope_loss
    g = torch.Generator().manual_seed(0)
    t = torch.arange(8192) / 16000
    # Speech-like: a 1 kHz tone whose loudness comes and goes four times a second.
    clean = (torch.sin(2 * torch.pi * 1000 * t) * (1.2 + torch.sin(2 * torch.pi * 4 * t)))[None, None]
    noise = 0.8 * torch.randn(1, 1, 8192, generator=g)
    assert float(envelope_loss(clean, clean)) < 1e-5
    assert float(envelope_loss(3.0 * clean, clean)) < 1e-5          # a gain is not an intelligibility loss
    noisy = envelope_loss(clean + noise, clean)
    assert 0.05 < float(noisy) <= 2.0
    assert float(envelope_loss(clean + 0.1 * noise, clean)) < float(noisy)
    est = (clean + noise).requires_grad_()
    envelope_loss(est, clean).backward()
    assert est.grad is not None and torch.isfinite(est.grad).all() and est.grad.abs().sum() > 0


def test_training_with_the_envelope_loss_runs(tiny_data, tmp_path):
    # The tiny preset's 512-sample window is too short for the envelope (it counts zero there);
    # a 2048-sample window is the shortest it scores.
    from rtdenoise.training.losses import envelope_loss
    assert float(envelope_loss(torch.randn(1, 1, 512), torch.randn(1, 1, 512))) == 0.0
    assert Trainer(_cfg(tiny_data, tmp_path, steps=2, envelope_weight=5.0)).run()["g_l1"] > 0


def test_the_spectral_family_trains_in_the_seed_gan_and_its_regression_loss_falls(tiny_data, tmp_path):
    from rtdenoise import load_model
    torch.set_num_threads(1)
    cfg = _cfg(tiny_data, tmp_path, preset="spectral-tiny", steps=70, l1_warmup=50, lr_warmup=1e-2, crop=8192,
               disc_window=4096, rooms=4, augment=True)
    Trainer(cfg).run()
    with open(tmp_path / "log.csv") as f:
        rows = list(csv.DictReader(f))
    reg = [float(r["g_reg"]) for r in rows]
    assert np.mean(reg[40:50]) < np.mean(reg[:10]) - 0.1 * abs(np.mean(reg[:10])), "regression phase"
    assert all(float(r["d_cd"]) == 0 for r in rows[:50]) and all(float(r["d_cd"]) > 0 for r in rows[50:])
    assert all(float(r["d_nd"]) > 0 for r in rows[50:]), "the noise discriminator judges what G removes"
    model = load_model(tmp_path / "model-last.json", "cpu")
    assert model.config.family == "spectral" and model.metadata["family"] == "spectral"


def test_a_spectral_run_resumes_where_it_stopped(tiny_data, tmp_path):
    torch.set_num_threads(1)
    kw = dict(preset="spectral-tiny", l1_warmup=3, crop=8192, disc_window=4096, rooms=4)
    Trainer(_cfg(tiny_data, tmp_path / "straight", steps=8, **kw)).run()
    Trainer(_cfg(tiny_data, tmp_path / "killed", steps=4, **kw)).run()
    Trainer(_cfg(tiny_data, tmp_path / "killed", steps=8, **kw), resume=True).run()
    a = torch.load(tmp_path / "straight/checkpoint.pt", weights_only=True)
    b = torch.load(tmp_path / "killed/checkpoint.pt", weights_only=True)
    for k in a["g"]:
        torch.testing.assert_close(a["g"][k], b["g"][k], rtol=0, atol=1e-6)


def test_family_and_preset_must_agree(tiny_data, tmp_path):
    from rtdenoise.errors import RtDenoiseError
    import pytest
    with pytest.raises(RtDenoiseError, match="preset 'tiny' is of the seed family, not spectral"):
        Trainer(_cfg(tiny_data, tmp_path, preset="tiny", family="spectral"))
    assert TrainConfig(family="spectral").resolved().preset == "spectral"
    assert TrainConfig().resolved().preset == "small"


def test_the_real_world_preset_starts_from_the_shipped_spectral_weights_and_nothing_else(tiny_data, tmp_path, tiny_model_dir):
    """Its band gains also reach the deep filter's bins, with the same layers, so a run can start
    from the shipped model's weights; a model whose layers differ is refused in one line."""
    import pytest
    from safetensors.torch import load_file
    from rtdenoise.errors import RtDenoiseError
    kw = dict(preset="spectral-real", crop=8192, disc_window=4096, rooms=4, steps=0, l1_warmup=10)
    trainer = Trainer(_cfg(tiny_data, tmp_path / "a", init="rtdenoise-spectral", **kw))
    shipped = load_file(ROOT / "models" / "rtdenoise-spectral.safetensors")
    for k, v in trainer.nets.g.state_dict().items():
        assert torch.equal(v.cpu(), shipped[k]), k
    with pytest.raises(RtDenoiseError, match="weights do not fit the 'spectral-real' preset"):
        Trainer(_cfg(tiny_data, tmp_path / "b", init=str(tiny_model_dir / "spectral-tiny.json"), **kw))


def test_the_waveform_losses_have_finite_gradients_on_exact_silence():
    """Speech gated into pauses with no noise added has stretches of exact zeros, in the target and
    in a model's output; a gradient through |STFT| there is 0/0."""
    from rtdenoise.training.losses import envelope_loss, si_sdr_loss, stft_loss
    torch.manual_seed(0)
    target = torch.randn(2, 1, 8192) * 0.1
    target[..., 2048:6144] = 0
    for loss in (envelope_loss, stft_loss, si_sdr_loss):
        estimate = (target * 0.9).requires_grad_()
        loss(estimate, target).backward()
        assert torch.isfinite(estimate.grad).all(), loss.__name__
    silent = torch.zeros(2, 1, 8192)
    for loss in (envelope_loss, si_sdr_loss):           # nothing to follow: zero, and no gradient to give
        assert loss(torch.randn(2, 1, 8192), silent).item() == 0.0
