"""The signal layer: audio files and resampling, and the generator applied to signals of any
length, offline (``offline``: :func:`~rtdenoise.signal.offline.enhance`) and hop by hop
(``streaming``: :class:`~rtdenoise.signal.streaming.StreamingDenoiser`), with the framing each
family needs (``overlap`` for windows, ``stft`` for frames). It imports no command module.
"""
