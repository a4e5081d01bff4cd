"""Training a generator of either family in the seed's GAN: the run's config (``config``), the
losses (``losses``), the loop with its checkpoints (``trainer``) and ``rtdenoise train`` (``command``).
"""
