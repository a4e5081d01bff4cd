"""Training a generator of either family in the seed's GAN: the run's config (``config``), the
losses (``losses``), the loop with its checkpoints (``trainer``) and ``rtdenoise train`` (``command``);
and a spectral model's head for the band above its Nyquist, beside the model (``upper_band``:
``rtdenoise train-upper``).
"""
