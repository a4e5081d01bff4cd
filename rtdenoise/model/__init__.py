"""The model layer: the two generator families and the discriminators, their configs and presets,
the weights on disk, and how a generator runs (eager torch, ONNX Runtime, a CUDA graph).

``config`` (dataclasses and presets), ``framing`` (how a model streams: :class:`StreamConfig`),
``seed`` (the seed design's NoiseCanceler and its VBN discriminator), ``spectral`` and
``spectral_numpy`` (the causal spectral family, and its torch-free half), ``upper_band`` (a
spectral model's learned head for the band above its Nyquist, in numpy), ``emphasis`` (the seed
family's input filter), ``format`` (checksums and names on disk), ``pretrained`` (loading:
safetensors and JSON, checked), ``weights`` (saving and building the torch modules), ``types``,
``backends``, ``graphs`` and ``cuda`` (running a generator), ``export`` (ONNX graphs, int8: a leaf
that ``graphs`` calls). Nothing here reads audio files, knows a command, or asks which family a
model is: the families (:mod:`rtdenoise.families`) tell it what it needs.
"""
