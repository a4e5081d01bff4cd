"""Model architectures as dataclasses, with named presets, for both generator families.

``seed``: the seed design's waveform encoder-decoder over fixed windows (:class:`ModelConfig`,
presets ``seed``, ``half``, ``small``, ``tiny``). ``spectral``: a causal generator that works frame
by frame on a short-time spectrum and carries its state from hop to hop (:class:`SpectralConfig`,
presets ``spectral`` and ``spectral-tiny``). One config describes a generator (and, for ``seed``,
its discriminators), so a model's JSON is enough to rebuild it; the JSON names the family.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar, Union

SAMPLE_RATE = 16000

#: The seed design's encoder channels (11 strided layers, 1 -> 1024).
SEED_CHANNELS: tuple[int, ...] = (16, 32, 32, 64, 64, 128, 128, 256, 256, 512, 1024)


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of G ("NoiseCanceler") and the two discriminators.

    ``channels`` are the encoder's output channels, one per strided layer; the decoder mirrors them.
    ``window`` must be divisible by ``2 ** len(channels)`` so the bottleneck has a whole length.
    """

    family: ClassVar[str] = "seed"

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
        if not self.channels or min(self.channels) < 1:
            raise ValueError("channels must be one or more positive numbers")
        if self.window < 1 or self.kernel < 2 or self.sample_rate < 1000 or self.disc_width <= 0:
            raise ValueError("window, kernel, disc_width must be positive and sample_rate at least 1000 Hz")
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

    def discriminator(self) -> "DiscriminatorConfig":
        """The discriminators that train this G: over its window, its kernel, ``disc_width`` wide."""
        return DiscriminatorConfig(self.window, self.kernel, self.disc_width)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelConfig":
        return cls(**_known(cls, d))


@dataclass(frozen=True)
class DiscriminatorConfig:
    """The seed's discriminator (used as CD and as ND) over pairs of ``window`` samples, with
    channels ``width`` times the seed's. Either generator family trains against it."""

    window: int = 16384
    kernel: int = 32
    width: float = 1.0

    def __post_init__(self) -> None:
        if self.window < 32 or self.kernel % 2 or self.width <= 0:
            raise ValueError("discriminator window must be at least 32, kernel even, width positive")

    @property
    def layers(self) -> int:
        """Depth: the seed's 10 for 16384 samples, so its final length stays 16."""
        return max(1, min(10, (self.window // 16).bit_length() - 1))


def _known(cls: type, d: dict[str, Any]) -> dict[str, Any]:
    known = {f.name for f in fields(cls)}
    unknown = set(d) - known
    if unknown:
        raise ValueError(f"unknown model config keys: {sorted(unknown)}")
    return dict(d)


@dataclass(frozen=True)
class SpectralConfig:
    """Architecture of the spectral generator (:class:`rtdenoise.spectral.SpectralCanceler`).

    It analyses the input with an ``n_fft``-point STFT every ``hop`` samples (square-root Hann
    windows at 50% overlap, which reconstruct exactly), and per frame: ``bands`` ERB-spaced band
    levels and the compressed complex spectrum of the lowest ``df_bins`` bins feed ``layers`` GRUs
    of width ``hidden`` (recurrence over time only: the state is carried from hop to hop). Their
    output gives a gain per band, spread over the bins above ``df_bins``, and a deep filter of
    ``df_order`` complex taps (this frame and the ones before it) per bin below, where speech
    harmonics are resolved. No future frame is used: the algorithmic latency is one window.
    """

    family: ClassVar[str] = "spectral"

    n_fft: int = 512
    hop: int = 256
    bands: int = 32
    df_bins: int = 64
    df_order: int = 3
    hidden: int = 256
    layers: int = 2
    compress: float = 0.3            # features are |X| ** compress (a loudness-like scale)
    sample_rate: int = SAMPLE_RATE
    # The band gains also over the deep filter's bins (on its output), as in DeepFilterNet. Why: the
    # taps come from a linear layer that starts at the identity, and trained on noise alone with a
    # silent target they still left the noise 25 dB down where the sigmoid gains above reached 75 dB;
    # a saturating gain gives those bins the same way to silence.
    df_gain: bool = False

    def __post_init__(self) -> None:
        if self.n_fft < 16 or self.n_fft % 2 or self.hop * 2 != self.n_fft:
            raise ValueError("hop must be half of n_fft (square-root Hann windows overlap-add to one only at 50%)")
        if not 2 <= self.bands <= self.bins // 2:
            raise ValueError(f"bands must be in 2..{self.bins // 2}")
        if not 0 <= self.df_bins <= self.bins or self.df_order < 1:
            raise ValueError(f"df_bins must be in 0..{self.bins} and df_order at least 1")
        if self.hidden < 1 or self.layers < 1 or not 0 < self.compress <= 1 or self.sample_rate < 1000:
            raise ValueError("hidden and layers must be positive, compress in (0, 1], sample_rate at least 1000 Hz")

    @property
    def bins(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def window(self) -> int:
        """Samples per analysis frame (what a stream must hold)."""
        return self.n_fft

    @property
    def latency(self) -> int:
        """Algorithmic latency in samples: one window (a frame is complete only when its last
        sample has arrived, and the model looks at no later frame)."""
        return self.n_fft

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SpectralConfig":
        return cls(**_known(cls, d))


AnyConfig = Union[ModelConfig, SpectralConfig]


#: Each family's config class, by the name a model's JSON gives (what a family does with its
#: config: :mod:`rtdenoise.families`).
FAMILIES: dict[str, type] = {"seed": ModelConfig, "spectral": SpectralConfig}


def config_from_dict(d: dict[str, Any], family: str = "seed") -> AnyConfig:
    """A model config of ``family`` from its JSON form; bad values are a ValueError."""
    if family not in FAMILIES:
        raise ValueError(f"unknown model family {family!r} (known: {', '.join(FAMILIES)})")
    if not isinstance(d, dict):
        raise ValueError("the model config must be a JSON object")
    try:
        return FAMILIES[family].from_dict(d)
    except TypeError as e:
        raise ValueError(str(e)) from None


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

SPECTRAL_PRESETS: dict[str, SpectralConfig] = {
    # The live default: 32 ms algorithmic latency (512-point frames at 16 kHz, no look-ahead).
    "spectral": SpectralConfig(),
    # The same at the same cost, with the band gains over the deep filter too (``df_gain``): the
    # model trained on real noise and pauses.
    "spectral-real": SpectralConfig(df_gain=True),
    # The framing trial: 20 ms frames every 10 ms (320/160 at 16 kHz, 960/480 at 48 kHz, RNNoise's
    # and DeepFilterNet's), so 20 ms of algorithmic latency. The deep filter keeps its 64 bins (now
    # 0 to 3.2 kHz), so every layer has spectral-real's shape and can start from its weights.
    "spectral-real-20ms": SpectralConfig(n_fft=320, hop=160, df_gain=True),
    # For tests and smoke runs only.
    "spectral-tiny": SpectralConfig(bands=8, df_bins=16, df_order=2, hidden=16, layers=1),
}

#: Every preset of both families, by name (names are unique across families).
ALL_PRESETS: dict[str, AnyConfig] = {**PRESETS, **SPECTRAL_PRESETS}


def preset(name: str) -> AnyConfig:
    """Look up a preset by name, with an error that lists the valid ones."""
    try:
        return ALL_PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(ALL_PRESETS)}") from None


def family_presets(family: str) -> list[str]:
    """Preset names of one family, in order."""
    return [n for n, c in ALL_PRESETS.items() if c.family == family]
