"""Training losses: adversarial (LSGAN), waveform and spectral regression terms.

Every loss takes ``(estimate, target)`` and returns a scalar to minimise. The waveform terms
(:func:`stft_loss`, :func:`envelope_loss`, :func:`si_sdr_loss`) work on [B, 1, n] or [B, n]
signals of either family; :func:`compressed_spectral_loss` works on the spectral family's frames.
"""
from __future__ import annotations

import torch

from ..model.config import SAMPLE_RATE


def lsgan_d(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake ** 2).mean()


def lsgan_g(fake: torch.Tensor) -> torch.Tensor:
    return 0.5 * ((fake - 1) ** 2).mean()


STFT_RESOLUTIONS = ((512, 128), (1024, 256), (256, 64))


def stft_loss(estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Spectral convergence plus log-magnitude L1, averaged over three STFT resolutions."""
    est, tgt = estimate.float().flatten(0, 1), target.float().flatten(0, 1)
    total = est.new_zeros(())
    used = [(n, h) for n, h in STFT_RESOLUTIONS if n <= est.shape[-1]]      # short windows: fewer
    for n_fft, hop in used:
        win = torch.hann_window(n_fft, device=est.device)
        e, t = (_power(x, n_fft, hop, win).clamp_min(1e-14).sqrt() for x in (est, tgt))
        total = total + torch.linalg.norm(t - e) / torch.linalg.norm(t) + (t.log() - e.log()).abs().mean()
    return total / max(1, len(used))


def _power(x: torch.Tensor, n_fft: int, hop: int, window: torch.Tensor) -> torch.Tensor:
    """|STFT|^2 as re^2 + im^2. Why not ``.abs()``: its gradient at an exact zero is NaN (0/0), and
    speech with digital silence in it (pauses, with no noise added) has frames of exact zeros; one
    such example made every weight of a run NaN."""
    return torch.view_as_real(torch.stft(x, n_fft, hop, window=window, return_complex=True)).pow(2).sum(-1)


def third_octave_bands(n_fft: int, rate: int, count: int = 15, low: float = 150.0) -> torch.Tensor:
    """[count, n_fft//2 + 1] 0/1 matrix summing STFT bins into STOI's one-third octave bands
    (``count`` bands from ``low`` Hz)."""
    freqs = torch.linspace(0, rate / 2, n_fft // 2 + 1)
    centres = low * 2 ** (torch.arange(count) / 3)
    lo, hi = centres * 2 ** (-1 / 6), centres * 2 ** (1 / 6)
    return ((freqs[None] >= lo[:, None]) & (freqs[None] < hi[:, None])).float()


def envelope_loss(estimate: torch.Tensor, target: torch.Tensor, rate: int = SAMPLE_RATE) -> torch.Tensor:
    """1 - mean correlation of one-third-octave band envelopes over the window: STOI's core.

    Why: STOI scores the correlation of short-time band envelopes, which neither L1 nor STFT
    magnitude errors reward directly; our models lowered both losses while STOI stayed below the
    noisy input's. A 4096-sample window at a hop of 128 gives 33 frames, about STOI's 30 per
    segment. Correlation ignores each band's gain, so the pre-emphasised domain G works in serves."""
    n_fft, hop = 512, 128
    est, tgt = estimate.float().flatten(0, 1), target.float().flatten(0, 1)
    if est.shape[-1] < 4 * n_fft:
        return est.new_zeros(())
    win = torch.hann_window(n_fft, device=est.device)
    bands = third_octave_bands(n_fft, rate).to(est.device)

    def envelopes(x: torch.Tensor) -> torch.Tensor:
        power = _power(x, n_fft, hop, win)                                                  # [B, F, T]
        env = (bands @ power).clamp_min(1e-10).sqrt()                                      # [B, 15, T]
        return env - env.mean(dim=-1, keepdim=True)

    spoken = tgt.pow(2).sum(-1) > 0                 # a silent target has no envelope to follow
    if not spoken.any():
        return est.new_zeros(())
    e, t = envelopes(est[spoken]), envelopes(tgt[spoken])
    corr = (e * t).sum(-1) / (e.norm(dim=-1) * t.norm(dim=-1) + 1e-8)
    return 1.0 - corr.mean()


def si_sdr_loss(estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Minus the mean scale-invariant SDR in dB (Le Roux et al. 2019), both made zero-mean.

    Why: magnitude losses are blind to phase, and SI-SDR is one of the three figures the project
    reports; it rewards a waveform that lines up with the speech, not just a spectrum that looks like it.
    A silent target (noise alone) has no SDR: those rows are left out (the spectral term asks them
    for silence), and a batch of them only is zero."""
    est = estimate.float().flatten(1)
    ref = target.float().flatten(1)
    spoken = ref.pow(2).sum(-1) > 0
    if not spoken.all():
        if not spoken.any():
            return est.new_zeros(())
        est, ref = est[spoken], ref[spoken]
    est = est - est.mean(-1, keepdim=True)
    ref = ref - ref.mean(-1, keepdim=True)
    proj = ref * ((est * ref).sum(-1, keepdim=True) / (ref.pow(2).sum(-1, keepdim=True) + 1e-8))
    ratio = proj.pow(2).sum(-1) / ((est - proj).pow(2).sum(-1) + 1e-8)
    return -10 * torch.log10(ratio + 1e-8).mean()


def compressed_spectral_loss(estimate: torch.Tensor, target: torch.Tensor, compress: float = 0.3,
                             magnitude_weight: float = 0.7) -> torch.Tensor:
    """MSE of power-law compressed magnitudes plus MSE of compressed complex spectra, on
    [B, T, bins, 2] frames.

    Why: compressing ``|X|`` to ``|X| ** 0.3`` (a loudness-like scale, as in GTCRN and
    DeepFilterNet's training) makes quiet speech components and high bands count instead of being
    drowned by the loudest bins; the complex term keeps the phase honest, which magnitude alone
    does not."""
    def compressed(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mag = x.float().pow(2).sum(-1).clamp_min(1e-12).sqrt()
        c = mag.pow(compress)
        return c, x.float() * (c / mag).unsqueeze(-1)

    em, ec = compressed(estimate)
    tm, tc = compressed(target)
    return magnitude_weight * (em - tm).pow(2).mean() + (1 - magnitude_weight) * (ec - tc).pow(2).sum(-1).mean()
