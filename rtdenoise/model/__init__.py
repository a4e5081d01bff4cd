"""The model layer: the two generator families and the discriminators, their configs and presets,
the weights on disk, and how a generator runs (eager torch, ONNX Runtime, a CUDA graph).

``config`` (dataclasses and presets), ``seed`` (the seed design's NoiseCanceler and its VBN
discriminator), ``spectral`` (the causal spectral family), ``emphasis`` (the seed family's input
filter), ``pretrained`` (safetensors and JSON, checked), ``backends`` and ``cuda`` (running a
generator), ``export`` (ONNX graphs, int8). Nothing here reads audio files or knows a command.
"""
