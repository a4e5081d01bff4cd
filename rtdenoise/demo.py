"""The newcomer's first run: noisy speech made on the spot, denoised, written out and scored.

No data files and no network: the speech comes from espeak-ng (a PyPI package that ships its
voices), the noise is babble of other espeak voices plus pink noise and mains hum. Synthetic
speech is robotic, so these figures show that the pipeline works, not how good the model is on real
voices: ``rtdenoise eval`` gives those.
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from .audio import resample, write_audio
from .cli import add_model_flags
from .config import SAMPLE_RATE
from .data import colored_noise, hum, rms
from .enhance import enhance
from .evaluate import score
from .pretrained import load_model

log = logging.getLogger(__name__)

SPEECH = (
    "Thanks for joining the call. Can everyone hear me clearly now?",
    "The fan behind me is loud, but the denoiser should remove most of it.",
    "Let's go through the agenda and keep this meeting short.",
)
BABBLE = (
    "I think the train leaves at half past seven tomorrow morning.",
    "Could you pass me the salt and the pepper, please?",
    "We should paint the kitchen a brighter colour this spring.",
    "My brother bought a new bicycle last weekend.",
)


def make_example(seed: int = 0, snr_db: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    """(clean, noisy) speech at 16 kHz, about 12 s long, at the given SNR."""
    from .tts import VOICES, synthesize     # espeak-ng comes with the 'demo' extra

    rng = np.random.default_rng(seed)

    def say(text: str, voice: str) -> np.ndarray:
        audio, rate = synthesize(text, voice)
        return resample(audio, rate, SAMPLE_RATE)

    pause = np.zeros(int(0.4 * SAMPLE_RATE), np.float32)
    clean = np.concatenate([np.concatenate([pause, say(t, VOICES[0])]) for t in SPEECH] + [pause])
    n = len(clean)
    babble = np.zeros(n, np.float32)
    for i, voice in enumerate(VOICES[1:] or VOICES):
        talk = np.concatenate([say(t, voice) for t in np.roll(BABBLE, i)])
        talk = np.tile(talk, -(-n // len(talk)) + 1)
        start = int(rng.integers(0, len(talk) - n))
        babble += talk[start:start + n] / rms(talk)
    noise = babble / rms(babble) + 0.6 * colored_noise(rng, n, 1.0) + 0.3 * hum(rng, n)
    noise *= rms(clean[clean != 0]) * np.sqrt(np.mean(clean != 0)) * 10 ** (-snr_db / 20) / rms(noise)
    noisy = clean + noise
    gain = 0.5 / max(1e-9, float(np.max(np.abs(noisy))))
    return (clean * gain).astype(np.float32), (noisy * gain).astype(np.float32)


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
    model = load_model(args.model, args.device)
    clean, noisy = make_example(args.seed, args.snr)
    denoised = enhance(model, noisy, SAMPLE_RATE, args.hop)
    out = Path(args.output)
    files = {"noisy.wav": noisy, "clean.wav": denoised, "noise.wav": noisy - denoised, "reference.wav": clean}
    for name, x in files.items():
        write_audio(out / name, x, SAMPLE_RATE)
    spectrogram_png(out / "spectrogram.png", {"noisy input": noisy, "rtdenoise output (clean.wav)": denoised,
                                              "reference speech": clean})
    before, after = score(clean, noisy), score(clean, denoised)
    print(f"model {model.source.stem}, {len(clean) / SAMPLE_RATE:.1f} s of synthetic speech at {args.snr:+.0f} dB SNR")
    print("|        | PESQ (wb) | STOI  | SI-SDR (dB) |\n| ------ | --------- | ----- | ----------- |")
    for label, s in (("noisy", before), ("output", after)):
        print(f"| {label:6} | {s['pesq']:9.2f} | {s['stoi']:.3f} | {s['si_sdr']:11.2f} |")
    print(f"wrote {', '.join(files)} and spectrogram.png to {out}/")
    return 0

