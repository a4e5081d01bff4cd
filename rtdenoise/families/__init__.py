"""The generator families, each one object that knows everything special about it.

``seed`` (:mod:`.seed`, with :mod:`.overlap`) and ``spectral`` (:mod:`.spectral`, with
:mod:`.stft`), both :class:`~.base.Family`; :mod:`.registry` maps a model or config to its family
(:func:`of`) and decides its framing (:func:`framing`), and :mod:`.runtime` builds a family's
backend and opens models. This wing sits on :mod:`rtdenoise.model` and under
:mod:`rtdenoise.signal`, whose stream and offline enhancement ask a family, never which one it is.
"""
from .registry import FAMILIES, WINDOW_FUNCTIONS, framing, of

__all__ = ["FAMILIES", "WINDOW_FUNCTIONS", "framing", "of"]
