"""Objective quality: the metrics of one pair (``metrics``), scores of systems over many examples
summarised per group and SNR (``evaluate``), and ``rtdenoise eval`` (``command``).
"""
