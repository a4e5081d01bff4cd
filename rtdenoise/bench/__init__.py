"""``rtdenoise bench``: the systems compared (``systems``, with the peers in ``peers``), their speed
on this machine (``speed``), and the report (``report``); ``command`` runs them in one go.
"""
