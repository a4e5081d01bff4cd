"""``python main.py ARGS`` does what ``rtdenoise ARGS`` does, from a checkout without installing."""
import sys

from rtdenoise.cli import main

if __name__ == "__main__":
    sys.exit(main())
