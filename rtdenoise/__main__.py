"""``python -m rtdenoise TOOL ...``: the same as the ``rtdenoise`` command."""
import sys

from .cli import main

sys.exit(main())
