"""The spectral generator family: a causal, stateful denoiser that works frame by frame.

Why a second family: the seed's waveform encoder-decoder spends about 100 M multiply-adds per
32 ms hop and levelled off on a CPU training budget well short of the peers. The small causal
time-frequency models of recent years (RNNoise, DeepFilterNet, GTCRN) spend one to two hundred
times less per second of audio and reach far higher quality, because they put the expensive part
(the recurrence) on a compressed description of the spectrum and keep the fine structure cheap.
:class:`SpectralCanceler` follows that recipe:

* **Framing.** A ``n_fft``-point STFT every ``hop = n_fft / 2`` samples with square-root Hann
  analysis and synthesis windows, which overlap-add back to the input exactly. A frame can be
  processed once its last sample has arrived and no later frame is used, so the algorithmic latency
  is one window (512 samples: 32 ms at 16 kHz).
* **Features.** ``bands`` ERB-spaced band levels (triangular bands at least two bins wide, their
  powers compressed to ``|X| ** compress``), and the compressed complex spectrum (magnitude
  ``|X| ** compress``, phase kept) of the lowest ``df_bins`` bins.
* **Recurrence over time.** A linear embedding, then ``layers`` GRUs of width ``hidden``; their
  hidden state is the stream's state, carried from hop to hop.
* **Output.** A gain per band (sigmoid), spread over the bins by the same triangles, for the bins
  above ``df_bins``; below, a deep filter: each bin's output is a sum of ``df_order`` complex taps
  over this frame and the ones before it (Schröter et al., DeepFilterNet), which can follow
  harmonics closer than a band gain can; with ``df_gain`` the band gains then apply there too, so
  those bins can reach silence as easily as the rest. The last ``df_order - 1`` input frames of those bins are
  the second part of the state.

The same :meth:`SpectralCanceler.step` runs a whole sequence of frames (training, offline files) or
one frame (a live hop), with the state passed in and returned, so the two give the same numbers.
Spectra travel as real tensors ``[batch, frames, bins, 2]`` (real, imaginary), which every backend
(ONNX Runtime included) handles.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .config import SpectralConfig
from .spectral_numpy import erb_triangles, frame_count, initial_state, sqrt_hann, state_names

class SpectralCanceler(nn.Module):
    """The spectral generator (see the module docstring): [B, 1, n] noisy waveform -> [B, 1, n]
    clean estimate, causal, aligned with its input."""

    def __init__(self, config: SpectralConfig) -> None:
        super().__init__()
        self.config = cfg = config
        tri = torch.from_numpy(erb_triangles(cfg.n_fft, cfg.sample_rate, cfg.bands))
        # Not saved with the weights: they follow from the config.
        self.register_buffer("spread", tri, persistent=False)                        # [bands, bins]
        self.register_buffer("pool", (tri / tri.sum(dim=1, keepdim=True)).T.contiguous(), persistent=False)
        self.register_buffer("window", torch.from_numpy(sqrt_hann(cfg.n_fft)), persistent=False)
        self.embed = nn.Linear(cfg.bands + 2 * cfg.df_bins, cfg.hidden)
        self.norm = nn.LayerNorm(cfg.hidden)
        self.gru = nn.GRU(cfg.hidden, cfg.hidden, cfg.layers, batch_first=True)
        self.gains = nn.Linear(cfg.hidden, cfg.bands)
        self.taps = nn.Linear(cfg.hidden, 2 * cfg.df_bins * cfg.df_order) if cfg.df_bins else None
        # Start near the identity, as the seed family's residual G does: gains near one, and a deep
        # filter that passes this frame through; training then learns what to remove.
        nn.init.constant_(self.gains.bias, 3.0)
        if self.taps is not None:
            nn.init.zeros_(self.taps.weight)
            bias = torch.zeros(cfg.df_bins, cfg.df_order, 2)
            bias[:, 0, 0] = 1.0
            self.taps.bias.data = bias.flatten()

    # -- state ---------------------------------------------------------------------------------------
    @property
    def state_names(self) -> list[str]:
        return state_names(self.config)

    def initial_state(self, batch: int = 1, device: torch.device | str | None = None) -> list[Tensor]:
        """The state at the start of a stream (:func:`rtdenoise.model.spectral_numpy.initial_state`), as tensors."""
        device = device or self.embed.weight.device
        return [torch.from_numpy(s).to(device) for s in initial_state(self.config, batch)]

    # -- frames --------------------------------------------------------------------------------------
    def step(self, spec: Tensor, *state: Tensor) -> tuple[Tensor, ...]:
        """Enhance ``spec`` ([B, T, bins, 2], T >= 1 frames in order) from ``state``; returns the
        enhanced spectrum and the state after the last frame (as :attr:`state_names` orders it)."""
        cfg = self.config
        power = spec.pow(2).sum(-1)                                               # [B, T, bins]
        bands = (power @ self.pool).clamp_min(1e-12).pow(cfg.compress / 2)        # [B, T, bands]
        feats = [bands]
        if cfg.df_bins:
            low = spec[:, :, :cfg.df_bins]
            shrink = power[:, :, :cfg.df_bins].clamp_min(1e-12).pow((cfg.compress - 1) / 2)
            feats.append((low * shrink.unsqueeze(-1)).flatten(2))
        h = self.norm(self.embed(torch.cat(feats, dim=-1)))
        h, gru_state = self.gru(h, state[0])
        gain = torch.sigmoid(self.gains(h)) @ self.spread                          # [B, T, bins]
        out = spec * gain.unsqueeze(-1)
        new_state = [gru_state]
        if self.taps is not None:
            B, T = spec.shape[:2]
            D, K = cfg.df_bins, cfg.df_order
            taps = self.taps(h).view(B, T, D, K, 2)
            low = spec[:, :, :D]
            past = torch.cat([state[1], low], dim=1) if K > 1 else low           # [B, K-1+T, D, 2]
            re = im = None
            for k in range(K):
                x = past[:, K - 1 - k:K - 1 - k + T]                               # frame t - k
                c = taps[:, :, :, k]
                r = c[..., 0] * x[..., 0] - c[..., 1] * x[..., 1]
                i = c[..., 0] * x[..., 1] + c[..., 1] * x[..., 0]
                re, im = (r, i) if re is None else (re + r, im + i)
            filtered = torch.stack([re, im], dim=-1)
            if cfg.df_gain:
                filtered = filtered * gain[:, :, :D, None]
            out = torch.cat([filtered, out[:, :, D:]], dim=2)
            if K > 1:
                new_state.append(past[:, -(K - 1):])
        return (out, *new_state)

    # -- waveforms -----------------------------------------------------------------------------------
    def stft(self, x: Tensor) -> Tensor:
        """[B, n] -> [B, T, bins, 2]: the frames a stream would see, the first one ending at sample
        ``hop - 1`` after a window of silence, the last one reaching past the end so every sample
        is covered by two frames."""
        cfg = self.config
        N, H = cfg.n_fft, cfg.hop
        n = x.shape[-1]
        frames = frame_count(n, N, H)
        xp = nn.functional.pad(x, (N - H, (frames - 1) * H + N - (N - H) - n))
        spec = torch.fft.rfft(xp.unfold(-1, N, H) * self.window, dim=-1)
        return torch.view_as_real(spec)

    def istft(self, spec: Tensor, n: int) -> Tensor:
        """Inverse of :meth:`stft`: overlap-add of the windowed frames, cut to the ``n`` samples
        aligned with the input."""
        cfg = self.config
        N, H = cfg.n_fft, cfg.hop
        y = torch.fft.irfft(torch.view_as_complex(spec.contiguous()), n=N, dim=-1) * self.window  # [B, T, N]
        first, second = y[..., :H], y[..., H:]
        B, T = y.shape[:2]
        zero = y.new_zeros(B, 1, H)
        out = torch.cat([first, zero], dim=1) + torch.cat([zero, second], dim=1)                # [B, T+1, H]
        return out.reshape(B, -1)[:, N - H:N - H + n]

    def forward(self, x: Tensor) -> Tensor:
        """[B, 1, n] (or [B, n]) noisy -> the same shape, enhanced from a silent start."""
        flat = x.reshape(-1, x.shape[-1])
        spec = self.stft(flat)
        out = self.step(spec, *self.initial_state(flat.shape[0], flat.device))[0]
        return self.istft(out, flat.shape[-1]).reshape(x.shape)

    def macs_per_frame(self) -> int:
        """Multiply-adds per frame in the network (the FFTs and the band pooling excluded)."""
        cfg = self.config
        H, L = cfg.hidden, cfg.layers
        n = (cfg.bands + 2 * cfg.df_bins) * H + L * 3 * 2 * H * H + H * cfg.bands
        n += H * 2 * cfg.df_bins * cfg.df_order + 4 * cfg.df_bins * cfg.df_order + cfg.bands * cfg.bins
        n += 2 * cfg.df_bins if cfg.df_gain else 0
        return int(n)
