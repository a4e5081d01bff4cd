"""Model architecture as a dataclass, with named presets.

One config describes the generator and the discriminators, so a checkpoint's JSON is enough to
rebuild either; the presets trade quality for speed from the seed design down to a CPU real-time size.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

SAMPLE_RATE = 16000

#: The seed design's encoder channels (11 strided layers, 1 -> 1024).
SEED_CHANNELS: tuple[int, ...] = (16, 32, 32, 64, 64, 128, 128, 256, 256, 512, 1024)


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of G ("NoiseCanceler") and the two discriminators.

    ``channels`` are the encoder's output channels, one per strided layer; the decoder mirrors them.
    ``window`` must be divisible by ``2 ** len(channels)`` so the bottleneck has a whole length.
    """

    channels: tuple[int, ...] = SEED_CHANNELS
    window: int = 16384
    kernel: int = 32
    latent: bool = False          # Gaussian z at the bottleneck (the seed recommends it off)
    disc_width: float = 1.0       # discriminator channels relative to the seed (16, 32, ... doubled)
    sample_rate: int = SAMPLE_RATE
    preemphasis: float = 0.95
    # Level normalisation: each (pre-emphasised) window is scaled to this RMS in dBFS before G and
    # back after. None is the seed's raw scale, where a quiet microphone's -40 dBFS and a loud
    # one's -12 dBFS are different problems and the L1 loss hears mostly the loud ones.
    level_db: float | None = None
    # Residual output: G estimates the noise and returns input minus that estimate, starting from
    # the identity (its last layer starts at zero). The seed's G must first learn to reproduce
    # speech through eleven strided layers before it can remove anything: on a CPU budget, our
    # small runs were still worse than their input after 4000 steps that way.
    residual: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        if self.kernel % 2:
            raise ValueError("kernel must be even (stride 2 with padding kernel/2 - 1 halves the length)")
        if self.window % (2 ** len(self.channels)):
            raise ValueError(f"window {self.window} is not divisible by 2**{len(self.channels)}")
        if not 0.0 <= self.preemphasis < 1.0:
            raise ValueError("preemphasis must be in [0, 1)")

    @property
    def bottleneck(self) -> tuple[int, int]:
        """(channels, length) at the bottleneck, where z is concatenated."""
        return self.channels[-1], self.window // 2 ** len(self.channels)

    @property
    def disc_layers(self) -> int:
        """Discriminator depth: the seed's 10 for 16384 samples, so its final length stays 16."""
        return max(1, min(10, (self.window // 16).bit_length() - 1))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        return cls(**d)


def _scaled(width: float, depth: int) -> tuple[int, ...]:
    """The seed's first ``depth`` layers with channels scaled by ``width``."""
    return tuple(max(4, int(round(c * width))) for c in SEED_CHANNELS[:depth])


PRESETS: dict[str, ModelConfig] = {
    # Exactly the seed design: about 58.7 M generator parameters, a 1.024 s window.
    "seed": ModelConfig(),
    # Half width, same window: a quarter of the parameters and compute.
    "half": ModelConfig(channels=_scaled(0.5, 11), window=16384, disc_width=0.5),
    # CPU real time: 256 ms window, first 9 layers at half width (2.6 M). Its discriminators are a
    # quarter width because they, not G, dominate a CPU training step.
    "small": ModelConfig(channels=_scaled(0.5, 9), window=4096, disc_width=0.25, level_db=-30.0, residual=True),
    # For tests and smoke runs only.
    "tiny": ModelConfig(channels=(4, 8, 8, 16, 16), window=512, kernel=8, disc_width=0.125),
}


def preset(name: str) -> ModelConfig:
    """Look up a preset by name, with an error that lists the valid ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None
