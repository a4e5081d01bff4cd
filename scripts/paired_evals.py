"""Paired differences between two systems scored on the same validation examples.

``rtdenoise eval --json`` and ``rtdenoise bench`` (its ``bench.json``) keep every example's scores,
and two runs on the same seeded examples pair up by example name. A model card that says one model
beats another needs more than two means: with 40 examples a group, 0.02 PESQ can be the spread of
the examples. This prints, per group and metric, B's mean minus A's with a 95% interval (Student's t
over the pairs), and counts the examples both systems scored.

    python scripts/paired_evals.py A.json B.json [--a SYSTEM] [--b SYSTEM]

``--a``/``--b`` pick a system by a part of its name where a file holds more than one besides
``noisy`` (a bench); by default each file's one system that is not ``noisy``.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections import defaultdict
from pathlib import Path

from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from rtdenoise.evaluation.metrics import FULLBAND_METRICS, METRICS, NO_REFERENCE_METRICS, PAUSE_METRIC  # noqa: E402

#: Every metric an eval can hold; a column is printed where any pair has it.
ALL_METRICS = (*METRICS, PAUSE_METRIC, *NO_REFERENCE_METRICS, *FULLBAND_METRICS)


def scores(path: str, part: str | None) -> tuple[str, dict[str, dict]]:
    """The chosen system's name and its rows by example name."""
    rows = json.load(open(path))["rows"]
    names = sorted({r["system"] for r in rows if r["system"] != "noisy"})
    chosen = [n for n in names if part is None or part in n]
    if len(chosen) != 1:
        sys.exit(f"{path}: systems {names}; choose one with a part of its name that matches only it")
    return chosen[0], {r["name"]: r for r in rows if r["system"] == chosen[0]}


def interval(d: list[float]) -> tuple[float, float]:
    """Mean and half-width of its 95% interval (none from one pair)."""
    if len(d) < 2:
        return d[0], math.nan
    return statistics.fmean(d), stats.t.ppf(0.975, len(d) - 1) * stats.sem(d)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--a", dest="a_system")
    p.add_argument("--b", dest="b_system")
    args = p.parse_args()
    name_a, a = scores(args.a, args.a_system)
    name_b, b = scores(args.b, args.b_system)
    pairs: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for name in sorted(a.keys() & b.keys()):
        for group in (a[name]["group"], "all"):
            for m in ALL_METRICS:
                x, y = a[name].get(m), b[name].get(m)
                if x is not None and y is not None and math.isfinite(x) and math.isfinite(y):
                    pairs[group][m].append(y - x)
    print(f"{name_b} minus {name_a}: mean difference +- 95% interval (pairs)\n")
    columns = [m for m in ALL_METRICS if any(pairs[g][m] for g in pairs)]
    print("| group | " + " | ".join(columns) + " |")
    print("| --- |" + " --- |" * len(columns))
    for group in sorted(pairs, key=lambda g: (g == "all", g)):
        cells = []
        for m in columns:
            d = pairs[group][m]
            if not d:
                cells.append("")
                continue
            mean, half = interval(d)
            cells.append(f"{mean:+.3f} +- {half:.3f} ({len(d)})")
        print(f"| {group} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
