"""The benchmark's report: markdown tables, the JSON of every figure, and the plot."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..evaluation.evaluate import HIGH_SNR, Row, table
from .speed import SpeedRow

SPEED_HEADER = ["system", "backend", "latency ms", "RTF whole files", "hop ms", "hop p50 ms", "hop p99 ms", "RTF per hop"]


def markdown(header: list[str], rows: list[list[str]]) -> str:
    return "\n".join(["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
                     + ["| " + " | ".join(r) + " |" for r in rows])


def plot(path: Path, summary: list[dict], speed: list[SpeedRow], title: str) -> None:
    """PESQ by input SNR on the mixtures, SI-SDR per validation group, and the per-hop real-time
    factor, per system."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    systems = list(dict.fromkeys(e["system"] for e in summary))
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.8))
    for s in systems:
        pts = sorted((float(e["snr"]), e["pesq"]) for e in summary if e["system"] == s and e["group"] == "mixtures"
                     and e["snr"] not in ("all", "n/a", "10+"))
        if pts:
            axes[0].plot(*zip(*pts), marker="o", label=s, linestyle="--" if s == "noisy" else "-")
    axes[0].set_xlabel("input SNR (dB), the 120 mixtures")
    axes[0].set_ylabel("PESQ (wb)")
    axes[0].grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    groups = list(dict.fromkeys(e["group"] for e in summary if e["snr"] == "all"))
    width = 0.8 / max(1, len(systems))
    for i, s in enumerate(systems):
        vals = [next((e["si_sdr"] for e in summary if e["system"] == s and e["group"] == g and e["snr"] == "all"), np.nan)
                for g in groups]
        axes[1].bar(np.arange(len(groups)) + i * width, vals, width, label=s)
    axes[1].set_xticks(np.arange(len(groups)) + 0.4 - width / 2, groups, fontsize=8)
    axes[1].set_ylabel("SI-SDR (dB)")
    axes[1].grid(alpha=0.3, axis="y")
    streaming = [r for r in speed if r.hop_rtf is not None]
    names = [f"{r.system}\n{r.backend}, {r.latency_ms:.0f} ms" for r in streaming]
    axes[2].barh(names, [r.hop_rtf for r in streaming], color="tab:blue")
    axes[2].set_xlabel("real-time factor per hop (lower is faster)")
    axes[2].tick_params(axis="y", labelsize=7)
    axes[2].invert_yaxis()
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(out: Path, about: dict[str, str], summary: list[dict], rows: list[Row], speed: list[SpeedRow],
          gpu: dict[str, float] | None, notes: list[str]) -> str:
    """``bench.md``, ``bench.json`` and ``bench.png`` into ``out``; returns the markdown."""
    speed_md = markdown(SPEED_HEADER, [r.cells() for r in speed])
    per_snr = [e for e in summary if e["group"] == "mixtures" and e["snr"] not in ("all", HIGH_SNR)]
    parts = ["# rtdenoise bench", "", about["line"], "",
             f"## Quality (validation groups; '{HIGH_SNR}': 10 dB SNR and above, or no noise)", "",
             table(summary, by_snr=False), ""]
    if per_snr:
        parts += ["## Quality of the 120 mixtures per SNR", "", table(per_snr), ""]
    parts += ["## Speed (this CPU, this run)", "", speed_md, ""]
    if gpu:
        parts += ["## GPU", "", f"seed preset, hop {gpu['hop']} ({gpu['hop_ms']:.0f} ms), cuda backend: compute per hop "
                  f"(CUDA events) p50 {gpu['events_p50_ms']:.3f} ms, p99 {gpu['events_p99_ms']:.3f} ms; "
                  f"wall clock p50 {gpu['wall_p50_ms']:.3f} ms, p99 {gpu['wall_p99_ms']:.3f} ms", ""]
    if notes:
        parts += ["## Skipped", "", *[f"- {n}" for n in notes], ""]
    text = "\n".join(parts)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.md").write_text(text)
    (out / "bench.json").write_text(json.dumps({
        "about": about["line"], "machine": about["machine"], "date": about["date"], "command": about["command"],
        "summary": summary, "speed": [{**asdict(r), "hop_rtf": r.hop_rtf} for r in speed], "gpu": gpu,
        "skipped": notes, "rows": [asdict(r) for r in rows]}, indent=1) + "\n")
    plot(out / "bench.png", summary, speed, about["line"].split("; `")[0])
    return text
