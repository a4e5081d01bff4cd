#!/usr/bin/env python3
"""The live benchmark: compute per hop for each preset, then the real thing through PipeWire.

1. Compute per hop (p50, p99) and real-time factor of the streaming generator for each preset at
   the default live framing (shipped weights where a model ships, random weights otherwise: the
   cost is the same), on this machine's CPU (and CUDA when present).
2. `rtdenoise live` with the default model and settings between the virtual devices of a private
   PipeWire server (scripts/virtual-audio.sh) for --minutes, with speech-like audio looping into the
   virtual microphone: its own statistics (compute per hop, real-time factor, late hops, xruns),
   its CPU use, and the end-to-end latency measured with clicks (the offset between the same click
   on the microphone it reads and on the one its output reaches).

Prints a markdown table and writes it to --out. Usage:
    .venv/bin/python scripts/bench_live.py --minutes 10 --out bench-live.md
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def compute_table() -> list[str]:
    from rtdenoise import load_model
    from rtdenoise.model import backends
    from rtdenoise.bench.speed import HEADER, presets, random_model, time_hops
    rows = [HEADER]
    for backend in backends.available():
        device = backends.model_device(backend)
        shipped = load_model(device=device)
        rows.append(time_hops(shipped, name=f"{shipped.source.stem} (shipped)", backend=backend).row())
        for name in presets():
            rows.append(time_hops(random_model(name, device), name=name, hops=100 if name == "seed" else 300,
                                  backend=backend).row())
    return rows


def audio_env(folder: Path) -> dict[str, str]:
    env = {**os.environ, "AUD_DIR": str(folder)}
    script = ROOT / "scripts" / "virtual-audio.sh"
    subprocess.run([str(script), "start", "16000"], env=env, check=True)
    for line in subprocess.run([str(script), "env"], env=env, capture_output=True, text=True).stdout.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value
    return env


PLAYER = """
import numpy as np, sounddevice as sd, time
rate = 16000
rng = np.random.default_rng(0)
t = np.arange(10 * rate) / rate
speechy = 0.1 * np.sin(2 * np.pi * 180 * t * (1 + 0.05 * np.sin(3 * t))) * np.clip(np.sin(2 * np.pi * 3 * t), 0, None)
x = (speechy + 0.02 * rng.standard_normal(len(t))).astype(np.float32)
sd.play(x, samplerate=rate, device="mic_feed", loop=True, latency=0.04)
time.sleep({seconds})
sd.stop()
"""

LATENCY = """
import time, numpy as np, sounddevice as sd
rate = 16000
got = {}
def keep(d):
    return lambda i, f, t, s: got.setdefault(d, []).append((t.inputBufferAdcTime, i[:, 0].copy()))
streams = [sd.InputStream(device=d, samplerate=rate, channels=1, dtype="float32", blocksize=160, latency=0.04,
                          callback=keep(d)) for d in ("noisy_mic", "clean_mic")]
for s in streams: s.start()
time.sleep(0.5)
x = np.zeros(rate * 2, np.float32); x[::rate // 2] = 0.9
sd.play(x, samplerate=rate, device="mic_feed", latency=0.04); sd.wait(); time.sleep(1.0)
for s in streams: s.stop()
def onsets(d):
    out = []
    for t, block in got[d]:
        for k in np.flatnonzero(np.abs(block) > 0.3):
            if not out or t + k / rate - out[-1] > 0.2:
                out.append(t + k / rate)
    return out
a, b = onsets("noisy_mic"), onsets("clean_mic")
print(" ".join(f"{1000 * (y - x):.1f}" for x, y in zip(a, b)))
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def live_loop(minutes: float, folder: Path) -> dict[str, str]:
    env = audio_env(folder)
    try:
        live = subprocess.Popen([sys.executable, "-m", "rtdenoise", "live", "-i", "noisy_mic", "-o", "denoised",
                                 "--rate", "16000", "--in-channels", "1", "--out-channels", "1", "--stats-every", "0"],
                                env=env, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        started = ""
        while "Hz; latency" not in started:
            line = live.stderr.readline()
            if not line:
                raise RuntimeError("rtdenoise live did not start:\n" + started)
            started += line
        stated = re.search(r"Hz; latency (\d+) ms", started).group(1)
        clicks = subprocess.run([sys.executable, "-c", textwrap.dedent(LATENCY)], env=env, capture_output=True,
                                text=True, check=True).stdout.split()
        cpu0, t0 = cpu_seconds(live.pid), time.monotonic()
        subprocess.run([sys.executable, "-c", PLAYER.format(seconds=60 * minutes)], env=env, check=True)
        cpu = (cpu_seconds(live.pid) - cpu0) / (time.monotonic() - t0)
        live.send_signal(signal.SIGINT)
        final = live.stderr.read()
        live.wait(timeout=60)
    finally:
        subprocess.run([str(ROOT / "scripts" / "virtual-audio.sh"), "stop"], env=env)
    summary = final.strip().splitlines()[-1]
    return {"minutes": f"{minutes:g}", "stated latency ms": stated,
            "measured latency ms (clicks)": ", ".join(clicks), "CPU use (cores)": f"{cpu:.2f}", "engine": summary}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10.0, help="length of the PipeWire run")
    p.add_argument("--out", default="bench-live.md", help="markdown file to write")
    p.add_argument("--skip-loop", action="store_true", help="only the compute table")
    args = p.parse_args()
    lines = [f"Live benchmark, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPU cores, "
             f"command: scripts/bench_live.py --minutes {args.minutes:g}", "", "Compute per hop (default framing):", ""]
    lines += compute_table()
    if not args.skip_loop:
        import tempfile
        loop = live_loop(args.minutes, Path(tempfile.mkdtemp(prefix="rtdenoise-bench-")))
        lines += ["", "PipeWire loop (default model and settings, 16 kHz graph):", "", "| figure | value |", "| --- | --- |"]
        lines += [f"| {k} | {v} |" for k, v in loop.items()]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
