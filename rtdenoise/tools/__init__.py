"""Commands for files and first runs: ``rtdenoise enhance`` (``enhance``) and ``rtdenoise demo``
(``demo``)."""
