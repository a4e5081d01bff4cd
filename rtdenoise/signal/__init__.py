"""The signal layer: audio files and resampling (``audio``), and a generator of any family applied
to signals of any length: offline (``offline``: :func:`~rtdenoise.signal.offline.enhance`), files
in blocks (``blockwise``) and hop by hop (``streaming``:
:class:`~rtdenoise.signal.streaming.StreamingDenoiser`). What differs between families is theirs
(:mod:`rtdenoise.families`); this layer asks them. It imports no command module.
"""
