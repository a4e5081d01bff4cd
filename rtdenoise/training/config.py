"""What a training run is: one dataclass, saved beside the checkpoints, one flag per field."""
from __future__ import annotations

from dataclasses import dataclass, replace

from ..families import FAMILIES, of
from ..families.base import TrainingRecipe
from ..model.config import ALL_PRESETS, DiscriminatorConfig, preset


@dataclass
class TrainConfig:
    """Everything a run needs; saved beside its checkpoints so ``--resume`` can check it."""

    preset: str | None = None            # default: the family's (small, or spectral)
    family: str | None = None            # seed or spectral; default: the preset's
    out: str = "runs/small"
    data: str | None = None
    steps: int = 20000
    max_minutes: float | None = None      # stop (with a checkpoint) after this much wall time
    batch: int = 16
    ref_batch: int = 16                   # VBN reference batch, drawn once and fixed
    # Adam with beta1 = 0.5 is the usual stable choice for GANs (DCGAN); SEGAN used RMSprop at the
    # same rate, available as optimizer="rmsprop".
    optimizer: str = "adam"
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    l1_warmup: int = 0                    # steps of regression alone (no discriminators) before the GAN phase
    lr_warmup: float | None = None        # G's rate then (default 3e-4; spectral 1e-3)
    lr_schedule: str = "constant"         # or "cosine": every rate decays to a twentieth by ``steps``
    l1_weight: float | None = None        # waveform L1 (default 100, SEGAN's; spectral 0)
    # Multi-resolution STFT loss (spectral convergence + log magnitude) beside L1. SEGAN had none;
    # with L1 alone our small CPU runs lowered the L1 loss while STOI fell below the noisy input's.
    stft_weight: float | None = None      # default 1 (seed), 0 (spectral)
    # The spectral family's regression losses (losses.compressed_spectral_loss, losses.si_sdr_loss),
    # weighted as GTCRN's training does: 70 x magnitude + 30 x complex MSE, and SI-SDR in bels.
    spectral_weight: float = 100.0
    sisdr_weight: float = 0.1
    adv_weight: float = 1.0               # G's adversarial terms
    crop: int = 32768                     # spectral: samples per example
    # Spectral: the discriminators judge a random stretch of this many samples of each example (the
    # same stretch for every pair of a step), at this width. Why so small: at the seed family's
    # width a discriminator over the whole crop made a step 27 times slower than G's own.
    disc_window: int = 8192
    disc_width: float | None = None       # discriminator width (default: the preset's; spectral 1/16)
    augment: bool | None = None           # rooms, EQ, telephone band, levels, clipping, speed (default: spectral)
    rooms: int = 400                      # simulated rooms in the augmentation's bank
    snr_max: float = 30.0                 # with augment: SNRs drawn from -5 dB to this
    clean_fraction: float = 0.05          # with augment: examples with no noise at all
    # What a call's microphone hears (rtdenoise.data.real_world, rtdenoise.data.pauses): the later
    # index files' real noise and speakers, examples of noise alone with a silent target, and
    # examples whose speech has pauses. Off: the first data and crops, as every earlier model.
    real_world: bool = False
    noise_only: float = 0.0
    pauses: float = 0.0
    # Global norm G's gradient is clipped to. A healthy step here has a norm near 15 (L1 x 100).
    # Twice in our CPU runs a spike threw the small preset into a saturated tanh that it never left
    # (L1 stuck at 1.0): Adam with beta1 = 0.5 turns one outlier gradient into a step many times
    # the usual size. Clipping near the healthy norm, and beta1 = 0.9 in the warm-up, guard that.
    grad_clip: float | None = 20.0
    # Streaming-aware loss: live, the output of each hop comes from near the window's end, where G
    # sees only ``stream_lookahead`` samples of future. This adds an L1 term weighted by where the
    # stream takes its output (StreamConfig.weight for hop ``stream_hop``), so that region counts
    # ``1 + stream_weight`` times as much. 0 trains on the whole window alike, as SEGAN.
    stream_weight: float = 0.0
    # Weight of envelope_loss (band-envelope correlation, what STOI measures). 0: off.
    envelope_weight: float = 0.0
    stream_hop: int = 512
    stream_lookahead: int = 512
    init: str | None = None               # start G from these weights (a model name or path)
    noise_disc: bool = True               # False trains with CD alone (the ablation of ND)
    checkpoint_every: int = 200
    validate_every: int = 1000
    validate_count: int = 30              # validation mixtures scored during training
    seed: int = 0
    device: str = "auto"
    amp: bool = True                      # bf16 autocast, on CUDA only
    latent: bool = False

    def resolved(self) -> "TrainConfig":
        """This config with the family's defaults filled in (what a run saves and resumes by)."""
        if self.preset is not None and self.preset not in ALL_PRESETS:
            raise ValueError(f"unknown preset {self.preset!r}; choose one of {', '.join(ALL_PRESETS)}")
        family = self.family or (type(preset(self.preset)).family if self.preset else "seed")
        if family not in FAMILIES:
            raise ValueError(f"unknown family {family!r}: {' or '.join(FAMILIES)}")
        recipe = FAMILIES[family].training
        name = self.preset or recipe.default_preset
        if type(preset(name)).family != family:
            raise ValueError(f"preset {name!r} is of the {type(preset(name)).family} family, not {family}")
        if not recipe.windows and (self.stream_weight or self.latent):
            raise ValueError("--stream-weight and --latent are for the seed family's windows")
        pick = lambda v, default: v if v is not None else default
        return replace(self, preset=name, family=family, lr_warmup=pick(self.lr_warmup, recipe.lr_warmup),
                       l1_weight=pick(self.l1_weight, recipe.l1_weight), stft_weight=pick(self.stft_weight, recipe.stft_weight),
                       disc_width=pick(self.disc_width, pick(recipe.disc_width, getattr(preset(name), "disc_width", None))),
                       augment=pick(self.augment, recipe.augment))

    def recipe(self) -> TrainingRecipe:
        """How the model's family trains (:class:`rtdenoise.families.base.TrainingRecipe`)."""
        return of(self.model_config()).training

    def model_config(self):
        cfg = preset(self.preset or "small")
        if not hasattr(cfg, "latent"):
            return cfg
        return type(cfg).from_dict({**cfg.to_dict(), "latent": self.latent})

    def discriminator(self) -> DiscriminatorConfig:
        cfg = self.model_config()
        if not self.recipe().windows:
            return DiscriminatorConfig(min(self.disc_window, self.crop), 32, float(self.disc_width or 0.0625))
        return DiscriminatorConfig(cfg.window, cfg.kernel, float(self.disc_width or cfg.disc_width))

    def example_length(self) -> int:
        """Samples per training example: the model's window, or a crop for a family that trains on crops."""
        return self.model_config().window if self.recipe().windows else self.crop
