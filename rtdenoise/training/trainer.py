"""Training G (either family) against the clean discriminator CD and the noise discriminator ND.

The spectral family (``--family spectral`` or a preset of it) trains on ``crop``-sample examples
through what real microphones do (:mod:`rtdenoise.augment`), with spectral regression losses
(compressed magnitude and complex spectra, SI-SDR; :mod:`rtdenoise.losses`) and the same two
discriminators over the waveforms, each pair scaled to one level first (the waveforms span -45 to
-10 dBFS, and a virtual batch norm's reference statistics would otherwise be the loud ones').

Two phases. For the first ``l1_warmup`` steps G learns from the L1 loss alone, at ``lr_warmup``:
no discriminator runs, so a step costs about a quarter as much, and G starts the adversarial phase
already near a denoiser instead of from noise (in our CPU runs, a GAN from scratch was still worse
than passing the input through after 550 steps, L1 alone was close to it after 300). Then the GAN.

Losses (LSGAN, Mao et al.): each discriminator minimises 1/2 (D(real) - 1)^2 + 1/2 D(fake)^2; the
generator minimises 1/2 (CD(G(x), x) - 1)^2 + 1/2 (ND(x - G(x), x) - 1)^2 + l1_weight * |G(x) - y|,
all on pre-emphasised waveforms (SEGAN: L1 weight 100).

Every batch is drawn from a generator seeded by (seed, step, rank), so a run that is killed and
resumed from its last checkpoint sees exactly the batches it would have seen. Checkpoints are plain
tensors and numbers loaded with ``torch.load(weights_only=True)``: nothing is unpickled.
Several GPUs (or CPU processes, with gloo) work through ``torchrun``: each rank draws its own batches
and DistributedDataParallel averages the gradients.
"""
from __future__ import annotations

import csv
import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

from ..data.augment import AugmentConfig
from ..data.mixing import Mixer
from ..data.recordings import Corpus, default_data_dir
from ..data.validation import validation_set
from ..errors import RtDenoiseError
from ..evaluation.metrics import score
from ..model.emphasis import emphasise_torch
from ..model.pretrained import load_model
from ..model.weights import build_generator, save_model
from ..model.seed import Discriminator, count_parameters, level_gain
from ..signal.offline import enhance_rows
from .config import TrainConfig
from .losses import compressed_spectral_loss, envelope_loss, lsgan_d, lsgan_g, si_sdr_loss, stft_loss

log = logging.getLogger(__name__)


@dataclass
class Nets:
    g: nn.Module
    cd: nn.Module
    nd: nn.Module | None
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer


def _optimizer(name: str, params: Any, lr: float) -> torch.optim.Optimizer:
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999))
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    raise ValueError(f"unknown optimizer {name!r} (adam or rmsprop)")


class Trainer:
    """One training run: builds the networks, steps, validates, checkpoints and resumes."""

    def __init__(self, cfg: TrainConfig, resume: bool = False, corpus: Corpus | None = None,
                 valid_corpus: Corpus | None = None) -> None:
        try:
            self.cfg = cfg = cfg.resolved()
        except ValueError as e:
            raise RtDenoiseError(str(e)) from None
        self.rank, self.world = _distributed_setup()
        self.device = _device(cfg.device, self.rank)
        self.out = Path(cfg.out)
        self.model_cfg = cfg.model_config()
        self.recipe = cfg.recipe()                    # what the model's family trains like
        self.amp = cfg.amp and self.device.type == "cuda"
        data_dir = Path(cfg.data) if cfg.data else default_data_dir()
        train = corpus or Corpus.load(data_dir, "train")
        if cfg.real_world:
            from ..data.real_world import with_real_world
            train = with_real_world(train, data_dir, "train")
        if cfg.augment:
            # Mixtures as real microphones give them: up to snr_max dB SNR and some with no noise at all
            # (a denoiser must leave clean speech alone), at -45 to -10 dBFS.
            self.mixer = Mixer(train, snr_db=(-5.0, cfg.snr_max), level_db=(-45.0, -10.0),
                               augment=AugmentConfig(rooms=cfg.rooms, seed=cfg.seed), clean_fraction=cfg.clean_fraction,
                               pauses=cfg.pauses, noise_only=cfg.noise_only)
        else:
            self.mixer = Mixer(train, pauses=cfg.pauses, noise_only=cfg.noise_only)
        self.valid = (validation_set(corpus=valid_corpus or Corpus.load(data_dir, "valid"))[: cfg.validate_count]
                      if cfg.validate_count and self.rank == 0 else [])
        torch.manual_seed(cfg.seed)
        w = cfg.example_length()
        ref_rng = np.random.default_rng([cfg.seed, 7919])
        clean, noisy = self._pre(*self.mixer.batch(ref_rng, cfg.ref_batch, w))
        clean, noisy = self._seen(clean, noisy), self._seen(noisy, noisy)
        D = cfg.discriminator().window
        clean, noisy = clean[..., :D], noisy[..., :D]
        g = build_generator(self.model_cfg).to(self.device)
        if cfg.init and not resume:
            # Any model whose weights fit the preset: the same layers, though it may use them
            # differently (the spectral family's df_gain starts from a model trained without it).
            start = load_model(cfg.init, "cpu")
            theirs, ours = start.state_dict(), g.state_dict()
            if type(start.config) is not type(self.model_cfg) or {k: v.shape for k, v in theirs.items()} != {
                    k: v.shape for k, v in ours.items()}:
                raise RtDenoiseError(f"--init {cfg.init}: its weights do not fit the {cfg.preset!r} preset")
            g.load_state_dict(theirs)
        disc = cfg.discriminator()
        cd = Discriminator(disc, torch.cat([clean, noisy], 1)).to(self.device)
        nd = Discriminator(disc, torch.cat([noisy - clean, noisy], 1)).to(self.device) if cfg.noise_disc else None
        d_params = list(cd.parameters()) + (list(nd.parameters()) if nd is not None else [])
        opt_g, opt_d = _optimizer(cfg.optimizer, g.parameters(), cfg.lr_g), _optimizer(cfg.optimizer, d_params, cfg.lr_d)
        if self.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            g, cd = DDP(g, device_ids=ids), DDP(cd, device_ids=ids)
            nd = DDP(nd, device_ids=ids) if nd is not None else None
        self.nets = Nets(g, cd, nd, opt_g, opt_d)
        self.step = 0
        self.best_pesq = -math.inf
        self.elapsed = 0.0
        if resume:
            self._load()
        elif self.rank == 0:
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "train_config.json").write_text(json.dumps(asdict(cfg), indent=2) + "\n")
        if self.rank == 0:
            log.info("G %.2f M, CD %.2f M parameters; %s, world %d, amp %s", count_parameters(_bare(g)) / 1e6,
                     count_parameters(_bare(cd)) / 1e6, self.device, self.world, self.amp)

    # -- one step ----------------------------------------------------------------------------
    def _pre(self, clean: np.ndarray, noisy: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Seed family: pre-emphasis, then both scaled by the gain G itself would give the noisy
        window, so training runs at G's working level and every window counts alike in the L1
        loss. Spectral family: the waveforms as they are (its features are level-compressed)."""
        if not self.recipe.windows:
            return torch.from_numpy(clean).unsqueeze(1), torch.from_numpy(noisy).unsqueeze(1)
        to = lambda a: emphasise_torch(torch.from_numpy(a).unsqueeze(1), self.model_cfg.preemphasis)
        clean, noisy = to(clean), to(noisy)
        if self.model_cfg.level_db is not None:
            gain = level_gain(noisy, self.model_cfg.level_db)
            clean, noisy = clean * gain, noisy * gain
        return clean, noisy

    def _seen(self, x: torch.Tensor, noisy: torch.Tensor, start: int = 0) -> torch.Tensor:
        """``x`` as the discriminators see it. Spectral family: the stretch of ``disc_window``
        samples from ``start``, scaled by the gain that brings the noisy example to -25 dBFS (the
        seed family's G works on level-normalised windows already, and D sees all of them)."""
        if self.recipe.windows:
            return x
        D = self.cfg.discriminator().window
        return x[..., start:start + D] * level_gain(noisy[..., start:start + D], -25.0).detach()

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.cfg.seed, step, self.rank])
        clean, noisy = self._pre(*self.mixer.batch(rng, self.cfg.batch, self.cfg.example_length()))
        return clean.to(self.device, non_blocking=True), noisy.to(self.device, non_blocking=True)

    def warmup_step(self, clean: torch.Tensor, noisy: torch.Tensor) -> dict[str, float]:
        n = self.nets
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            enhanced = n.g(noisy).float()
        g_l1 = self._l1(enhanced, clean)
        reg = self._regression(enhanced, clean, g_l1)
        n.opt_g.zero_grad(set_to_none=True)
        reg.backward()
        self._step_g()
        return {"d_cd": 0.0, "d_nd": 0.0, "g_adv": 0.0, "g_l1": g_l1.item(), "g_reg": reg.item()}

    def train_step(self, clean: torch.Tensor, noisy: torch.Tensor) -> dict[str, float]:
        n, b = self.nets, clean.shape[0]
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            enhanced = n.g(noisy)
            fake = enhanced.detach()
            # One stretch per step for the discriminators, drawn from the step's own seed (resumable).
            span = 0 if self.recipe.windows else clean.shape[-1] - self.cfg.discriminator().window
            start = int(np.random.default_rng([self.cfg.seed, self.step, self.rank, 1]).integers(0, span + 1)) if span > 0 else 0
            seen = lambda x: self._seen(x, noisy, start)
            # Discriminators: real and fake pairs in one batch (VBN makes samples independent).
            scores = n.cd(torch.cat([torch.cat([seen(clean), seen(noisy)], 1), torch.cat([seen(fake), seen(noisy)], 1)]))
            d_cd = lsgan_d(scores[:b].float(), scores[b:].float())
            d_nd = torch.zeros((), device=self.device)
            if n.nd is not None:
                scores = n.nd(torch.cat([torch.cat([seen(noisy - clean), seen(noisy)], 1),
                                         torch.cat([seen(noisy - fake), seen(noisy)], 1)]))
                d_nd = lsgan_d(scores[:b].float(), scores[b:].float())
        n.opt_d.zero_grad(set_to_none=True)
        (d_cd + d_nd).backward()
        n.opt_d.step()
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            g_adv = lsgan_g(n.cd(torch.cat([seen(enhanced), seen(noisy)], 1)).float())
            if n.nd is not None:
                g_adv = g_adv + lsgan_g(n.nd(torch.cat([seen(noisy - enhanced), seen(noisy)], 1)).float())
            g_l1 = self._l1(enhanced.float(), clean)
        n.opt_g.zero_grad(set_to_none=True)
        reg = self._regression(enhanced.float(), clean, g_l1)
        loss = self.cfg.adv_weight * g_adv + reg
        loss.backward()
        self._step_g()
        return {"d_cd": d_cd.item(), "d_nd": d_nd.item(), "g_adv": g_adv.item(), "g_l1": g_l1.item(), "g_reg": reg.item()}

    def _regression(self, enhanced: torch.Tensor, clean: torch.Tensor, l1: torch.Tensor) -> torch.Tensor:
        """Every regression term that has a weight: L1 (given), multi-resolution STFT, band
        envelopes, and for the spectral family its compressed spectra and SI-SDR."""
        cfg = self.cfg
        loss = cfg.l1_weight * l1 if cfg.l1_weight else l1.new_zeros(())
        if cfg.stft_weight:
            loss = loss + cfg.stft_weight * stft_loss(enhanced, clean)
        if cfg.envelope_weight:
            loss = loss + cfg.envelope_weight * envelope_loss(enhanced, clean, self.model_cfg.sample_rate)
        if self.recipe.spectral_losses and cfg.spectral_weight:
            g = _bare(self.nets.g)
            spec = lambda x: g.stft(x.flatten(0, 1))
            loss = loss + cfg.spectral_weight * compressed_spectral_loss(spec(enhanced), spec(clean), self.model_cfg.compress)
        if self.recipe.spectral_losses and cfg.sisdr_weight:
            loss = loss + cfg.sisdr_weight * si_sdr_loss(enhanced, clean)
        return loss

    def _l1(self, enhanced: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
        """L1 over the window, plus the streaming-region term when ``stream_weight`` is set."""
        err = (enhanced - clean).abs()
        if not self.cfg.stream_weight:
            return err.mean()
        if getattr(self, "_stream_w", None) is None:
            from ..signal.streaming import StreamConfig
            w = StreamConfig(self.model_cfg.window, self.cfg.stream_hop, self.cfg.stream_lookahead).weight()
            self._stream_w = torch.from_numpy(w / w.mean()).to(err.device)
        return err.mean() + self.cfg.stream_weight * (err * self._stream_w).mean()

    def _step_g(self) -> None:
        """Clip and step G, unless its gradient is not finite: then the step is skipped and said.
        Why: one such step makes every weight NaN through Adam (a spectral run on real-world crops
        did, at step 7121 of 15000, with every loss of the batch finite), and a run must not lose
        its hours to one batch."""
        params = [p for p in self.nets.g.parameters() if p.grad is not None]
        norm = nn.utils.clip_grad_norm_(params, self.cfg.grad_clip or math.inf)
        if not torch.isfinite(norm):
            log.warning("step %d: G's gradient is not finite; step skipped", self.step)
            self.nets.opt_g.zero_grad(set_to_none=True)
            return
        self.nets.opt_g.step()

    # -- the loop ----------------------------------------------------------------------------
    def run(self) -> dict[str, float]:
        from tqdm import tqdm
        cfg = self.cfg
        start = time.monotonic() - self.elapsed
        bar = tqdm(total=cfg.steps, initial=self.step, disable=self.rank != 0, desc="train", unit="step",
                   dynamic_ncols=True, mininterval=2.0)
        last: dict[str, float] = {}
        while self.step < cfg.steps:
            for net in (self.nets.g, self.nets.cd, self.nets.nd):
                if net is not None:
                    net.train()
            warm = self.step < cfg.l1_warmup
            decay = self._decay()
            for group in self.nets.opt_g.param_groups:
                group["lr"] = decay * (cfg.lr_warmup if warm else cfg.lr_g)
                if "betas" in group:            # plain regression first: Adam's usual momentum
                    group["betas"] = (0.9, 0.999) if warm else (0.5, 0.999)
            for group in self.nets.opt_d.param_groups:
                group["lr"] = decay * cfg.lr_d
            last = (self.warmup_step if warm else self.train_step)(*self.batch(self.step))
            self.step += 1
            self.elapsed = time.monotonic() - start
            bar.update(1)
            bar.set_postfix(l1=f"{last['g_l1']:.4f}", cd=f"{last['d_cd']:.3f}", nd=f"{last['d_nd']:.3f}", refresh=False)
            out_of_time = cfg.max_minutes is not None and self.elapsed > 60 * cfg.max_minutes
            done = self.step >= cfg.steps or out_of_time
            val = self.validate() if cfg.validate_every and (self.step % cfg.validate_every == 0 or done) else {}
            if self.rank == 0:
                self._log(last, val)
                if self.step % cfg.checkpoint_every == 0 or done:
                    self._save()
            if out_of_time:
                log.info("time limit of %.1f min reached at step %d", cfg.max_minutes, self.step)
                break
        bar.close()
        if self.rank == 0:
            self._export("last")
        return last

    def _decay(self) -> float:
        """The learning-rate factor at this step: 1, or a cosine from 1 to 1/20 over ``steps``."""
        if self.cfg.lr_schedule == "constant":
            return 1.0
        if self.cfg.lr_schedule != "cosine":
            raise RtDenoiseError(f"unknown --lr-schedule {self.cfg.lr_schedule!r}: constant or cosine")
        t = min(1.0, self.step / max(1, self.cfg.steps))
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t))

    def validate(self) -> dict[str, float]:
        if self.rank != 0 or not self.valid:
            return {}
        g = _bare(self.nets.g).eval()
        rows = [score(ex.clean, enhance_rows(g, ex.noisy, backend="torch")[0]) for ex in self.valid]
        g.train()
        val = {f"val_{k}": float(np.nanmean([r[k] for r in rows])) for k in rows[0]}
        log.info("step %d validation: PESQ %.3f STOI %.4f SI-SDR %.2f dB", self.step, val["val_pesq"],
                 val["val_stoi"], val["val_si_sdr"])
        if val["val_pesq"] > self.best_pesq:
            self.best_pesq = val["val_pesq"]
            self._export("best", val)
        return val

    # -- files -------------------------------------------------------------------------------
    def _log(self, losses: dict[str, float], val: dict[str, float]) -> None:
        path = self.out / "log.csv"
        fields = ["step", "minutes", "d_cd", "d_nd", "g_adv", "g_l1", "g_reg", "val_pesq", "val_stoi", "val_si_sdr"]
        new = not path.exists()
        with open(path, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields)
            if new:
                w.writeheader()
            w.writerow({"step": self.step, "minutes": round(self.elapsed / 60, 3), **losses, **val})

    def _state(self) -> dict[str, Any]:
        n = self.nets
        state = {"g": _bare(n.g).state_dict(), "cd": _bare(n.cd).state_dict(), "opt_g": n.opt_g.state_dict(),
                 "opt_d": n.opt_d.state_dict(), "step": self.step, "elapsed": self.elapsed, "best_pesq": self.best_pesq,
                 "torch_rng": torch.get_rng_state()}
        if n.nd is not None:
            state["nd"] = _bare(n.nd).state_dict()
        return state

    def _save(self) -> None:
        tmp = self.out / "checkpoint.pt.tmp"
        torch.save(self._state(), tmp)
        os.replace(tmp, self.out / "checkpoint.pt")

    def _load(self) -> None:
        path = self.out / "checkpoint.pt"
        if not path.is_file():
            raise RtDenoiseError(f"{path}: no checkpoint to resume from")
        saved = json.loads((self.out / "train_config.json").read_text())
        for key in ("preset", "family", "batch", "seed", "noise_disc", "latent", "optimizer", "crop", "augment"):
            if saved.get(key) != getattr(self.cfg, key):
                raise RtDenoiseError(f"--resume: {key} was {saved.get(key)!r} in this run, now {getattr(self.cfg, key)!r}")
        state = torch.load(path, map_location=self.device, weights_only=True)
        n = self.nets
        _bare(n.g).load_state_dict(state["g"])
        _bare(n.cd).load_state_dict(state["cd"])
        if n.nd is not None:
            _bare(n.nd).load_state_dict(state["nd"])
        n.opt_g.load_state_dict(state["opt_g"])
        n.opt_d.load_state_dict(state["opt_d"])
        self.step, self.elapsed, self.best_pesq = int(state["step"]), float(state["elapsed"]), float(state["best_pesq"])
        torch.set_rng_state(state["torch_rng"])
        log.info("resumed %s at step %d (%.1f min trained)", path, self.step, self.elapsed / 60)

    def _export(self, tag: str, val: dict[str, float] | None = None) -> None:
        meta = {"preset": self.cfg.preset, "family": self.cfg.family, "steps": self.step, "l1_warmup": min(self.step, self.cfg.l1_warmup), "minutes": round(self.elapsed / 60, 1),
                "batch": self.cfg.batch * self.world, "device": _describe(self.device), "noise_disc": self.cfg.noise_disc,
                **({"validation": val} if val else {})}
        save_model(_bare(self.nets.g), self.out / f"model-{tag}", meta)


def _bare(net: nn.Module) -> nn.Module:
    return net.module if isinstance(net, DDP) else net


def _distributed_setup() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def _device(name: str, rank: int) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            local = int(os.environ.get("LOCAL_RANK", rank))
            torch.cuda.set_device(local)
            return torch.device("cuda", local)
        return torch.device("cpu")
    return torch.device(name)


def _describe(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    n = torch.get_num_threads()
    return f"cpu ({n} thread{'s' if n > 1 else ''})"
