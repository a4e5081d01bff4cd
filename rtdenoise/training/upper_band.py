"""``rtdenoise train-upper``: learn a spectral model's band above its Nyquist
(:mod:`rtdenoise.model.upper_band`) beside the model, frozen, on full-band speech in real noise.

The model runs once over every example at 48 kHz (ONNX, as a stream runs it), and what the head sees
of each frame is computed once from that; the head is then fitted frame by frame, which takes a
minute or two on a CPU. The examples are drawn from ``train`` rows only, as the spectral family's
real-world training draws them: the full-band actors, the real noise recordings at every bandwidth
they have, white or pink hiss and noise that lives above 8 kHz only (a band or a whine with nothing
below it, which no recording has enough of), at -5 to 35 dB SNR and -40 to -15 dBFS; noise alone
with a silent target in a share of them, speech gated into pauses in another, some with no noise.
The loss is the model's own compressed magnitude (|.|^0.3) over the bins above 8 kHz, left out above
the speech recordings' bandwidth (``bandwidth_hz`` in their index, the actors' narrowest), where its
target holds nothing because the recording stops, not because speech does.
"""
from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..data.fullband import RATE, Recording, fullband_speech, real_noise, utterance
from ..data.mixing import colored_noise, rms
from ..data.pauses import training_gate
from ..errors import RtDenoiseError
from ..families import stft
from ..families.runtime import open_model
from ..model.format import sha256
from ..model.upper_band import TENSORS, UpperBand, UpperBandConfig, save_upper_band

log = logging.getLogger(__name__)

@dataclass
class UpperBandTraining:
    """What a head is trained on and how long."""

    examples: int = 1500
    seconds: float = 3.0
    steps: int = 8000
    batch: int = 1024
    lr: float = 3e-3
    seed: int = 1
    noise_only: float = 0.15        # noise alone, silent target
    pauses: float = 0.4             # of the rest: speech gated into 1 to 3 pauses
    no_noise: float = 0.1           # of the rest: clean speech in
    hiss: float = 0.2               # of the noises: white or pink, where a recording would be
    high_only: float = 0.1          # of the noises: a band or a tone above 8 kHz, nothing below


def _example(rng: np.random.Generator, speech: list[Recording], noise: list[Recording], n: int,
             t: UpperBandTraining) -> tuple[np.ndarray, np.ndarray, float]:
    """(clean, noisy, the clean recording's bandwidth in Hz) of one drawn example."""
    kind = rng.uniform()
    if kind < t.hiss:
        nz = colored_noise(rng, n, 0.0 if rng.uniform() < 0.5 else 1.0)
    elif kind < t.hiss + t.high_only:
        nz = _above_8k(rng, n)
    else:
        rec = noise[int(rng.integers(len(noise)))]
        start = int(rng.integers(0, max(1, len(rec.audio) - n)))
        nz = np.resize(rec.audio[start:start + n], n)
    nz = nz / max(rms(nz), 1e-9)
    if rng.uniform() < t.noise_only:
        return np.zeros(n, np.float32), (nz * 10 ** (rng.uniform(-60.0, -10.0) / 20)).astype(np.float32), RATE / 2
    speaker = utterance(rng, speech, n)
    bandwidth = min(r.bandwidth_hz for r in speech)    # an utterance joins clips: the actors' narrowest
    if rng.uniform() < t.pauses:
        speaker = speaker * training_gate(rng, n, RATE)
    noisy = speaker + (0.0 if rng.uniform() < t.no_noise else nz * 10 ** (-rng.uniform(-5.0, 35.0) / 20))
    scale = 10 ** (rng.uniform(-40.0, -15.0) / 20) / max(rms(noisy), 1e-9)
    return (speaker * scale).astype(np.float32), (noisy * scale).astype(np.float32), bandwidth


def _above_8k(rng: np.random.Generator, n: int) -> np.ndarray:
    """A noise above 8 kHz only: a band 0.1 to 4 kHz wide, or a steady tone, somewhere in 8.5 to 22 kHz."""
    centre, width = rng.uniform(8500.0, 22000.0), rng.uniform(100.0, 4000.0)
    if rng.uniform() < 0.3:
        return np.sin(2 * np.pi * centre * np.arange(n) / RATE + rng.uniform(0, 2 * np.pi)).astype(np.float32)
    spec = np.fft.rfft(rng.standard_normal(n))
    spec[np.abs(np.fft.rfftfreq(n, 1 / RATE) - centre) > width / 2] = 0
    return np.fft.irfft(spec, n).astype(np.float32)


def frames(model: str, config: UpperBandConfig, t: UpperBandTraining, data_dir: Path | None = None
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, UpperBand]:
    """Per frame of the drawn examples: the head's features, the noisy and clean magnitudes above
    the model's Nyquist (at its scale) and the loss's weight per bin; and the head's layout."""
    om = open_model(model, backend="onnx", threads=1)
    cfg, backend = om.model.config, om.backend
    factor = RATE // cfg.sample_rate
    band, layout = stft.Band(cfg, factor), UpperBand(config, weights_of(head_network(config)), cfg, factor)
    m, f = cfg.bins, np.float32(factor)
    hz = np.arange(band.bins)[m:] * RATE / band.n_fft
    speech, noise = fullband_speech(data_dir, "train"), real_noise(data_dir, "train", min_bandwidth=0.0)
    rng, n = np.random.default_rng(t.seed), int(t.seconds * RATE)
    out: list[list[np.ndarray]] = [[], [], [], []]
    for _ in range(t.examples):
        clean, noisy, bandwidth = _example(rng, speech, noise, n, t)
        X, C = stft.analyse(noisy[None], cfg, factor), stft.analyse(clean[None], cfg, factor)
        low = np.ascontiguousarray(X[:, :, :m] / f)
        y, _ = backend.fn(low, backend.initial_state(1))
        feats, _ = layout.features(low, y, X[:, :, m:], layout.initial_state(1))
        magnitude = lambda S: np.hypot(S[0, :, m:, 0], S[0, :, m:, 1]) / f
        out[0].append(feats[0])
        out[1].append(magnitude(X))
        out[2].append(magnitude(C))
        out[3].append(np.broadcast_to((hz <= bandwidth).astype(np.float32), out[1][-1].shape))
    return (*(np.concatenate(o) for o in out), layout)


def fit(features: np.ndarray, noisy: np.ndarray, clean: np.ndarray, weight: np.ndarray, layout: UpperBand,
        t: UpperBandTraining, compress: float) -> dict[str, np.ndarray]:
    """The head's weights: Adam on the compressed-magnitude loss (``|X| ** compress``, the model's
    own) over the bins above its Nyquist, in torch, for a head that then runs in numpy
    (:meth:`UpperBand.band_gains`)."""
    torch.manual_seed(t.seed)
    c = layout.config
    net = head_network(c)
    spread = torch.from_numpy(layout._spread)
    F, X, C, W = (torch.from_numpy(np.ascontiguousarray(a, np.float32)) for a in (features, noisy, clean, weight))
    opt = torch.optim.Adam(net.parameters(), t.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, t.steps, eta_min=t.lr / 20)
    gen = torch.Generator().manual_seed(t.seed)
    for step in range(t.steps):
        i = torch.randint(0, len(F), (t.batch,), generator=gen)
        g = band_gains(net, F[i], c) @ spread
        err = ((g * X[i] + 1e-12) ** compress - (C[i] + 1e-12) ** compress) ** 2
        loss = torch.sum(err * W[i]) / torch.sum(W[i])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 1000 == 0 or step == t.steps - 1:
            log.info("step %d: loss %.5f", step, float(loss.detach()))
    return weights_of(net)


def head_network(config: UpperBandConfig) -> torch.nn.Sequential:
    """The head in torch, layer for layer what :meth:`UpperBand.band_gains` computes in numpy."""
    return torch.nn.Sequential(torch.nn.Linear(config.features, config.hidden), torch.nn.Tanh(),
                               torch.nn.Linear(config.hidden, config.hidden), torch.nn.Tanh(),
                               torch.nn.Linear(config.hidden, config.upper))


def band_gains(net: torch.nn.Sequential, features: torch.Tensor, config: UpperBandConfig) -> torch.Tensor:
    return 10 ** (config.min_gain_db / 20 * (1 - torch.sigmoid(net(features))))


def weights_of(net: torch.nn.Sequential) -> dict[str, np.ndarray]:
    """The head's tensors by :data:`TENSORS` name, as numpy arrays."""
    layers = [net[0], net[2], net[4]]
    return {name: getattr(layers[i // 2], "weight" if i % 2 == 0 else "bias").detach().numpy().copy()
            for i, name in enumerate(TENSORS)}


def attach(model_json: Path, head: Path, metadata: dict) -> None:
    """Name ``head`` in the model's JSON (file and checksum), with how it was trained."""
    saved = json.loads(model_json.read_text())
    saved["upper_band"] = {"file": head.name, "sha256": sha256(head), "metadata": metadata}
    model_json.write_text(json.dumps(saved, indent=2) + "\n")


def add_arguments(p: argparse.ArgumentParser) -> None:
    t = UpperBandTraining()
    p.add_argument("-m", "--model", default=None, help="the spectral model (name or path; default: the default model)")
    p.add_argument("--examples", type=int, default=t.examples, help="training examples drawn (train rows only)")
    p.add_argument("--steps", type=int, default=t.steps, help="Adam steps of the head")
    p.add_argument("--seed", type=int, default=t.seed, help="seeds the examples and the head")
    p.add_argument("--data", type=Path, default=None, help="recordings folder (default: $RTDENOISE_DATA or ../shared/data)")
    p.add_argument("--replace", action="store_true", help="replace a head the model already names")


def main(args: argparse.Namespace) -> int:
    from ..model.pretrained import find_model, parse_config, read_config
    model_json = find_model(args.model)
    saved = read_config(model_json)
    if saved.get("family") != "spectral":
        raise RtDenoiseError(f"{model_json}: only a spectral model has a band above its Nyquist to learn")
    head = model_json.with_name(model_json.stem + ".upper.safetensors")
    if (saved.get("upper_band") or head.exists()) and not args.replace:
        raise RtDenoiseError(f"{model_json.stem} already has an upper-band head ({head.name}): --replace to train a new one")
    t = UpperBandTraining(examples=args.examples, steps=args.steps, seed=args.seed)
    config = UpperBandConfig()
    start = time.time()
    features, noisy, clean, weight, layout = frames(str(model_json), config, t, args.data)
    log.info("%d frames from %d examples in %.0f s", len(features), t.examples, time.time() - start)
    weights = fit(features, noisy, clean, weight, layout, t, parse_config(model_json, saved).compress)
    minutes = (time.time() - start) / 60
    save_upper_band(head, config, weights)
    meta = {"examples": t.examples, "seconds": t.seconds, "steps": t.steps, "seed": t.seed, "minutes": round(minutes, 1),
            "device": f"cpu ({torch.get_num_threads()} torch threads; the model on onnx, 1 thread)",
            "data": "train rows: the full-band actors, the real noise recordings (every bandwidth), white or pink hiss, "
                    "noise above 8 kHz only"}
    attach(model_json, head, meta)
    log.info("wrote %s (%.1f min) and named it in %s", head, minutes, model_json)
    return 0
