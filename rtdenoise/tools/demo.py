"""The newcomer's first run: noisy speech made on the spot, denoised, written out and scored.

No data files and no network (:mod:`rtdenoise.data.speech`): the speech is synthetic, the noise
generated (babble, pink noise, hum) or a real recording of a crowded bar shipped with the package,
so that a newcomer hears what the model does to real noise too. Synthetic speech is robotic, so
these figures show that the pipeline works, not how good the model is on real voices:
``rtdenoise eval`` gives those.
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from ..data.speech import CLIP_NAME, at_snr, make_example, real_noise_clip
from ..evaluation.metrics import score
from ..families.runtime import open_model
from ..model.config import SAMPLE_RATE
from ..options import add_model_flags
from ..signal.audio import write_audio
from ..signal.offline import enhance

log = logging.getLogger(__name__)


def spectrogram_png(path: Path, signals: dict[str, np.ndarray], rate: int = SAMPLE_RATE) -> None:
    """Stacked log spectrograms of each signal on one time axis."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(signals), 1, figsize=(10, 2.4 * len(signals)), sharex=True, constrained_layout=True)
    dither = 1e-6 * np.random.default_rng(0).standard_normal(max(map(len, signals.values())))  # no log(0) in silence
    for ax, (title, x) in zip(np.atleast_1d(axes), signals.items()):
        ax.specgram(x + dither[:len(x)], NFFT=512, noverlap=384, Fs=rate, cmap="magma", vmin=-130, vmax=-30)
        ax.set_title(title)
        ax.set_ylabel("Hz")
    np.atleast_1d(axes)[-1].set_xlabel("seconds")
    fig.savefig(path, dpi=90)
    plt.close(fig)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", default="demo-out", help="folder for the WAVs and the PNG (default demo-out)")
    p.add_argument("--snr", type=float, default=5.0, help="SNR of the noisy example in dB (default 5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated noise")
    add_model_flags(p)


def main(args: argparse.Namespace) -> int:
    opened = open_model(args.model, args.backend, args.device, precision=args.precision)
    model = opened.model
    clean, noisy = make_example(args.seed, args.snr)
    bar_clean, real = at_snr(clean, real_noise_clip(), args.snr)          # the same speech in a real bar
    run = lambda x: enhance(model, x, SAMPLE_RATE, args.overlap_hop, backend=opened.backend)
    denoised, real_denoised = run(noisy), run(real)
    out = Path(args.output)
    files = {"noisy.wav": noisy, "clean.wav": denoised, "noise.wav": noisy - denoised, "reference.wav": clean,
             "bar-noisy.wav": real, "bar-clean.wav": real_denoised}
    for name, x in files.items():
        write_audio(out / name, x, SAMPLE_RATE)
    spectrogram_png(out / "spectrogram.png", {
        "noisy input (generated babble, pink noise, hum)": noisy, "rtdenoise output (clean.wav)": denoised,
        f"noisy input (a real recording: {CLIP_NAME})": real, "rtdenoise output (bar-clean.wav)": real_denoised,
        "reference speech": clean})
    print(f"model {model.source.stem} on {opened.backend.label}, {len(clean) / SAMPLE_RATE:.1f} s of synthetic "
          f"speech at {args.snr:+.0f} dB SNR")
    print("| noise     |        | PESQ (wb) | STOI  | SI-SDR (dB) |\n| --------- | ------ | --------- | ----- | ----------- |")
    for kind, ref, before, after in (("generated", clean, noisy, denoised), ("real bar", bar_clean, real, real_denoised)):
        for label, x in (("noisy", before), ("output", after)):
            s = score(ref, x)
            print(f"| {kind:9} | {label:6} | {s['pesq']:9.2f} | {s['stoi']:.3f} | {s['si_sdr']:11.2f} |")
    print(f"wrote {', '.join(files)} and spectrogram.png to {out}/")
    return 0

