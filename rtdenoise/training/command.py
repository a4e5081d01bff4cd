"""``rtdenoise train``: one flag per :class:`~rtdenoise.training.config.TrainConfig` field, so the
config and the command cannot drift apart."""
from __future__ import annotations

import argparse
from dataclasses import fields

import torch

from ..errors import RtDenoiseError
from ..model.config import ALL_PRESETS
from .config import TrainConfig
from .trainer import Trainer


_HELP = {
    "preset": "architecture preset (default: the family's: small, or spectral)",
    "family": "generator family: seed (waveform windows) or spectral (causal, frame by frame); default: the preset's",
    "lr_schedule": "constant, or cosine (every rate decays to a twentieth by --steps)",
    "spectral_weight": "spectral family: weight of the compressed magnitude and complex spectrum loss",
    "sisdr_weight": "spectral family: weight of the SI-SDR loss (in dB)", "adv_weight": "weight of G's adversarial terms",
    "crop": "spectral family: samples per training example, also the discriminators' window",
    "disc_width": "discriminator channels relative to the seed's (default: the preset's; spectral 0.25)",
    "augment": "rooms, EQ, telephone band, levels, clipping and speed (default: on for the spectral family)",
    "rooms": "simulated rooms in the augmentation's bank", "snr_max": "with --augment: highest SNR drawn (dB)",
    "clean_fraction": "with --augment: fraction of examples with no noise at all", "disc_window": "spectral family: samples the discriminators judge",
    "out": "run folder: checkpoint, log.csv, model-best/-last", "data":
    "recordings folder (default: $RTDENOISE_DATA or ../shared/data)", "steps": "total training steps",
    "max_minutes": "stop with a checkpoint after this many minutes", "batch": "batch per process",
    "ref_batch": "VBN reference batch size", "optimizer": "adam or rmsprop", "l1_weight": "weight of the waveform L1 loss (default 100; spectral 0)",
    "stft_weight": "weight of the multi-resolution STFT loss (0: L1 only, as SEGAN; default 1, spectral 0)",
    "l1_warmup": "steps of regression alone (no discriminators) before the GAN phase",
    "lr_warmup": "G's rate in the warm-up (default 3e-4; spectral 1e-3)",
    "noise_disc": "use the noise discriminator ND", "validate_every": "steps between validations",
    "validate_count": "validation mixtures scored", "checkpoint_every": "steps between checkpoints",
    "stream_weight": "extra L1 weight where live streaming takes its output (0: off)",
    "envelope_weight": "weight of the band-envelope correlation loss, STOI's core (0: off)",
    "stream_hop": "hop (samples) of that streaming region", "stream_lookahead": "look-ahead (samples) of that region",
    "amp": "bf16 autocast on CUDA", "grad_clip": "clip G's gradient to this global norm (0: off)",
    "real_world": "also the data's later real noise recordings, extra speakers and full-band actors (at 16 kHz)",
    "noise_only": "fraction of examples of noise alone, with a silent target",
    "pauses": "fraction of examples whose speech is gated into 1 to 3 pauses of 0.15 to 0.8 s",
    "init": "start G from this model (name or path), e.g. to fine-tune", "latent": "latent z at the bottleneck", "device": "auto, cpu, cuda, cuda:1 ...",
}


_TYPES = {"int": int, "float": float, "str": str, "float | None": float, "str | None": str}


def add_arguments(p: argparse.ArgumentParser) -> None:
    """One flag per TrainConfig field, so the config and the command cannot drift apart."""
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("bool", "bool | None"):
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default, help=_HELP.get(f.name))
        else:
            p.add_argument(flag, type=_TYPES[str(f.type)], default=f.default, help=_HELP.get(f.name),
                           choices=(list(ALL_PRESETS) if f.name == "preset" else
                                    ["seed", "spectral"] if f.name == "family" else None))
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: all cores)")


def main(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
    try:
        trainer = Trainer(cfg, resume=args.resume)
    except (FileNotFoundError, ValueError) as e:
        raise RtDenoiseError(str(e)) from None
    trainer.run()
    return 0

