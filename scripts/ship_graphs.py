"""Export the ONNX graphs that ship beside each model's weights, and name them in its JSON.

    .venv/bin/python scripts/ship_graphs.py                  # every model in models/
    .venv/bin/python scripts/ship_graphs.py rtdenoise-small  # one

Run it whenever a model's weights change: an install without PyTorch runs only these graphs
(``pip install rtdenoise``), and one with PyTorch uses them too instead of exporting its own.
"""
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rtdenoise.families.runtime import ship_graphs  # noqa: E402

logging.basicConfig(level=logging.INFO, format="%(message)s")
names = sys.argv[1:] or sorted(p.stem for p in (ROOT / "models").glob("*.json"))
for name in names:
    ship_graphs(ROOT / "models" / f"{name}.json")
