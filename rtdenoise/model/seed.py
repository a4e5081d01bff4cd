"""The seed design's networks: generator G ("NoiseCanceler") and the discriminator used as CD and ND.

G is SEGAN's fully convolutional encoder-decoder on raw (pre-emphasised) waveform. The
discriminator sees a pair stacked on channels: (clean or enhanced, noisy) when used as the clean
discriminator CD, (true or estimated noise, noisy) when used as the noise discriminator ND.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .config import SEED_CHANNELS, DiscriminatorConfig, ModelConfig


def _pad(kernel: int) -> int:
    # kernel 32, stride 2, padding 15 halves the length exactly (the seed's choice).
    return kernel // 2 - 1


def level_gain(x: Tensor, level_db: float) -> Tensor:
    """[B, 1, 1] gains that bring each window of ``x`` ([B, 1, n]) to an RMS of ``level_db`` dBFS.
    Near-silent windows (below -70 dBFS) are not lifted further, so hiss is not blown up."""
    rms = x.pow(2).mean(dim=-1, keepdim=True).sqrt().clamp_min(10 ** (-70 / 20))
    return 10 ** (level_db / 20) / rms


class NoiseCanceler(nn.Module):
    """SEGAN generator: [B, 1, window] noisy (pre-emphasised) -> [B, 1, window] clean estimate.

    With ``config.residual`` the tanh output is the noise estimate and G returns input minus it.

    Decoder layers get PReLU like the encoder (SEGAN's original): without it each decoder stage
    is linear in its skip input, and the upsampling path can only mix, not shape, what the skips
    carry. The last layer ends in tanh, since the target waveform lies in [-1, 1].
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        k, p = config.kernel, _pad(config.kernel)
        chans = (1, *config.channels)
        self.encoder = nn.ModuleList(
            nn.Conv1d(chans[i], chans[i + 1], k, stride=2, padding=p) for i in range(len(config.channels))
        )
        self.enc_act = nn.ModuleList(nn.PReLU(c) for c in config.channels)
        # Decoder layer j maps to the channels of encoder layer (n-2-j); its input is the previous
        # decoder output concatenated with the matching encoder output (the skip connection).
        n = len(config.channels)
        outs = [*reversed(chans[:-1])]                     # n-1 ... 0 -> e.g. 512, 256, ..., 16, 1
        ins = [config.channels[-1] * (2 if config.latent else 1)] + [2 * c for c in outs[:-1]]
        self.decoder = nn.ModuleList(
            nn.ConvTranspose1d(ins[j], outs[j], k, stride=2, padding=p) for j in range(n)
        )
        self.dec_act = nn.ModuleList(nn.PReLU(c) for c in outs[:-1])
        if config.residual:                       # start as the identity: no noise estimated yet
            nn.init.zeros_(self.decoder[-1].weight)
            nn.init.zeros_(self.decoder[-1].bias)

    def forward(self, x: Tensor, z: Tensor | None = None) -> Tensor:
        """Enhance ``x`` ([B, 1, window]). With ``config.latent``, ``z`` ([B, C, L] at the
        bottleneck) is drawn from N(0, 1) when not given."""
        if self.config.level_db is None:
            return self._generate(x, z)
        gain = level_gain(x, self.config.level_db)
        return self._generate(x * gain, z) / gain

    def _generate(self, x: Tensor, z: Tensor | None) -> Tensor:
        skips = []
        h = x
        for conv, act in zip(self.encoder, self.enc_act):
            h = act(conv(h))
            skips.append(h)
        if self.config.latent:
            if z is None:
                z = torch.randn_like(h)
            h = torch.cat([h, z], dim=1)
        elif z is not None:
            raise ValueError("this generator was built without a latent z")
        skips = skips[:-1][::-1]
        for j, deconv in enumerate(self.decoder):
            h = deconv(h)
            if j < len(skips):
                h = torch.cat([self.dec_act[j](h), skips[j]], dim=1)
        return x - torch.tanh(h) if self.config.residual else torch.tanh(h)


class Discriminator(nn.Module):
    """SEGAN discriminator with virtual batch norm against a fixed reference batch.

    torchgan's ``VirtualBatchNorm`` stores statistics from the first call and uses (then clears)
    them on the second. So each forward first runs the stored reference batch through every
    layer, which leaves each VBN holding the reference statistics of its own input, and then runs
    the real batch, which is normalised with them. Every sample's score is therefore independent
    of the rest of its batch, as VBN intends.
    """

    def __init__(self, config: DiscriminatorConfig, reference: Tensor | None = None) -> None:
        super().__init__()
        from torchgan.layers import VirtualBatchNorm      # training only: inference needs no torchgan
        k, p = config.kernel, _pad(config.kernel)
        doubled = [max(2, int(round(2 * c * config.width))) for c in SEED_CHANNELS[:10]]
        chans = (2, *doubled[: config.layers])
        self.convs = nn.ModuleList(
            nn.Conv1d(chans[i], chans[i + 1], k, stride=2, padding=p) for i in range(len(chans) - 1)
        )
        self.norms = nn.ModuleList(VirtualBatchNorm(c) for c in chans[1:])
        self.act = nn.LeakyReLU(0.3)
        self.project = nn.Conv1d(chans[-1], 1, 1)
        final = config.window // 2 ** config.layers
        self.linear = nn.Linear(final, 1)
        self.register_buffer("reference", torch.zeros(0, 2, config.window))
        if reference is not None:
            self.set_reference(reference)

    def set_reference(self, reference: Tensor) -> None:
        """Fix the reference batch ([R, 2, window], R >= 2: variance of one sample is undefined)."""
        if reference.dim() != 3 or reference.shape[1] != 2 or reference.shape[0] < 2:
            raise ValueError(f"reference batch must be [R>=2, 2, window], got {list(reference.shape)}")
        self.reference = reference.detach().to(self.reference.device, self.reference.dtype).clone()

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:  # type: ignore[override]
        # The reference batch's size is data, not architecture: take the saved one's shape.
        saved = state_dict.get(prefix + "reference")
        if saved is not None:
            self.reference = torch.empty_like(saved, device=self.reference.device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _layers(self, h: Tensor) -> Tensor:
        for conv, norm in zip(self.convs, self.norms):
            h = self.act(norm(conv(h)))
        return self.linear(self.project(h).squeeze(1))

    def forward(self, pair: Tensor) -> Tensor:
        """Score pairs [B, 2, window] -> [B, 1] (LSGAN: real near 1, fake near 0)."""
        if self.reference.shape[0] == 0:
            raise RuntimeError("Discriminator has no reference batch: call set_reference first")
        with torch.no_grad():                 # reference pass: only its statistics are kept
            self._layers(self.reference)
        return self._layers(pair)

    def pending_statistics(self) -> int:
        """How many VBN layers hold reference statistics not yet consumed (0 between calls)."""
        return sum(n.ref_mu is not None for n in self.norms)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
