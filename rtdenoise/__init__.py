"""rtdenoise: real-time speech denoising with GAN-trained generators (SEGAN with a noise discriminator).

The public API is small on purpose::

    import rtdenoise
    model = rtdenoise.load_model()                 # the shipped default, on CUDA if present
    clean = rtdenoise.enhance(model, audio, rate)  # any rate, mono [n] or [n, channels]

    stream = rtdenoise.StreamingDenoiser(model)    # live: 16 kHz mono, any chunk size
    out = stream.push(chunk)                       # whole hops out, at the model's latency

The wings of the package, bottom to top: ``model`` (the two generator families, discriminators,
configs, framing, weights, backends, export), ``families`` (each family's own ways: framing
rules, precisions, hop core, offline enhancement; the registry), ``signal`` (audio I/O, offline
and streaming enhancement), ``data`` (recordings, mixtures, augmentation, validation), ``evaluation``,
``bench``, ``training``, ``live`` (the engine and the devices), ``gui`` (the window), ``tools``
(``enhance`` and ``demo``), and ``cli``. The three names above are imported on first use, so
``import rtdenoise`` (and ``rtdenoise --help``) stays light.
"""
from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_API = {"enhance": ("signal.offline", "enhance"), "load_model": ("model.pretrained", "load_model"),
        "StreamingDenoiser": ("signal.streaming", "StreamingDenoiser")}
__all__ = ["StreamingDenoiser", "enhance", "load_model", "__version__"]


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib
        module, attr = _API[name]
        value = getattr(importlib.import_module(f".{module}", __name__), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
