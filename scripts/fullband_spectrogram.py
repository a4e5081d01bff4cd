"""docs/fullband.png: what the band above 8 kHz becomes, at 48 kHz and through 16 kHz.

    .venv/bin/python scripts/fullband_spectrogram.py [--out docs/fullband.png]

A synthetic voice (:func:`rtdenoise.data.speech.full_band_voice`, with fricatives: energy up to
24 kHz, as a 48 kHz microphone hears a voice) in
pink noise at 5 dB SNR, enhanced by the default model at 48 kHz natively and, as before full band,
through 16 kHz and back. Nothing from the recordings is drawn, so the picture carries no licence.
"""
import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rtdenoise import enhance, load_model  # noqa: E402
from rtdenoise.data.mixing import colored_noise, rms  # noqa: E402
from rtdenoise.data.speech import full_band_voice  # noqa: E402
from rtdenoise.signal.audio import resample  # noqa: E402

FS = 48000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "fullband.png"))
    args = ap.parse_args()
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rng = np.random.default_rng(0)
    clean = full_band_voice(4.0, FS, fricatives=True)
    noise = colored_noise(rng, len(clean), 1.0)
    noisy = (clean + noise * rms(clean) / rms(noise) * 10 ** (-5 / 20)).astype(np.float32)
    model = load_model(None, "cpu")
    full = enhance(model, noisy, FS)
    through16 = resample(enhance(model, resample(noisy, FS, 16000), 16000), 16000, FS)[:len(noisy)]
    panels = {"noisy input (48 kHz)": noisy, "rtdenoise at 48 kHz (full band)": full,
              "rtdenoise through 16 kHz (before full band)": through16, "clean voice": clean}
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 9), sharex=True, constrained_layout=True)
    dither = 1e-7 * rng.standard_normal(len(noisy))
    for ax, (title, x) in zip(axes, panels.items()):
        ax.specgram(x + dither, NFFT=1536, noverlap=1152, Fs=FS, cmap="magma", vmin=-150, vmax=-40)
        ax.set_title(title)
        ax.set_ylabel("Hz")
        ax.axhline(8000, color="w", lw=0.6, ls="--")
    axes[-1].set_xlabel("seconds")
    fig.savefig(args.out, dpi=64)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
