"""rtdenoise: real-time speech denoising with a GAN generator (SEGAN with a noise discriminator).

The public API is small on purpose::

    import rtdenoise
    model = rtdenoise.load_model()                 # the shipped default, on CUDA if present
    clean = rtdenoise.enhance(model, audio, rate)  # any rate, mono [n] or [n, channels]

    stream = rtdenoise.StreamingDenoiser(model)    # live: 16 kHz mono, any chunk size
    out = stream.push(chunk)                       # whole hops out, 64 ms behind by default
"""
__version__ = "0.1.0"

from .enhance import enhance  # noqa: E402
from .pretrained import load_model  # noqa: E402
from .streaming import StreamingDenoiser  # noqa: E402

__all__ = ["StreamingDenoiser", "enhance", "load_model", "__version__"]
