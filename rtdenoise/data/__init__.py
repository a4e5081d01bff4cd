"""Training and validation material: the recordings (``recordings``), mixtures with real and
generated noise (``mixing``), what real microphones do to them (``augment``), the fixed
validation groups (``validation``), and speech made without data files (``tts``, ``speech``).
"""
