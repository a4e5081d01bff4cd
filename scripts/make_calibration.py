"""Write models/calibration.flac: the audio the int8 export takes its activation ranges from.

Synthetic on purpose: espeak-ng speech with espeak-ng babble, pink noise and hum (the demo's
mixtures), at -5 to 20 dB SNR, so that nothing of the training or validation recordings is
committed and the quantisation never sees the data it is judged on.

    python scripts/make_calibration.py [models/calibration.flac]
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from rtdenoise.signal.audio import write_audio
from rtdenoise.model.config import SAMPLE_RATE
from rtdenoise.data.speech import make_example

SNRS = (-5.0, 0.0, 5.0, 10.0, 15.0, 20.0)
SECONDS = 6.0


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "models/calibration.flac")
    parts = []
    for seed, snr in enumerate(SNRS):
        _, noisy = make_example(seed, snr)
        start = SAMPLE_RATE                       # past the opening pause
        parts.append(noisy[start:start + int(SECONDS * SAMPLE_RATE)])
    write_audio(out, np.concatenate(parts)[:, None], SAMPLE_RATE)
    print(f"wrote {out}: {sum(map(len, parts)) / SAMPLE_RATE:.0f} s")


if __name__ == "__main__":
    main()
