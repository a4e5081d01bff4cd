"""On PYTHONPATH, this makes a Python in which PyTorch (and what needs it) cannot be imported: the
light install (`pip install rtdenoise`, no extras), for tests, in any environment."""
import sys


class _NoTorch:
    """A finder that answers for torch and its kin as if they were not installed."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "torchgan", "torchvision", "torchaudio"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NoTorch())
