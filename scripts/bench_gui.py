#!/usr/bin/env python
"""What the monitor window costs: CPU of the GUI thread, as a percentage of one core, and frames per second.

Runs the real window offscreen (QT_QPA_PLATFORM=offscreen: Qt still lays out and paints every frame
into its backing store) over a file source at real-time pace, and measures, over ``--seconds`` once
the engine runs, each thread's own CPU time:

* the GUI thread (``time.thread_time()`` in it): taking the scope's snapshots, min/max reduction,
  spectrograms, meters, pyqtgraph and Qt painting: the window's cost;
* the engine's inference thread and the file clock (standing in for the audio callback), from
  /proc/self/task/<tid>/stat, reported apart so they are not counted as the window's.

    .venv/bin/python scripts/bench_gui.py --seconds 30

The input is the demo's generated noisy speech, repeated to last the run (or ``--file``).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

log = logging.getLogger("bench_gui")


def thread_cpu(tid: int) -> float:
    """CPU seconds (user + system) thread ``tid`` of this process has used (Linux /proc)."""
    fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=30.0, help="measured seconds, after start-up (default 30)")
    p.add_argument("--file", help="input WAV (default: the demo's noisy speech, repeated)")
    p.add_argument("-m", "--model", default=None, help="model name (default: the shipped one)")
    p.add_argument("--backend", default="auto")
    p.add_argument("--size", default="1200x760", help="window size in pixels (default 1200x760)")
    p.add_argument("--no-spectrogram", action="store_true", help="waveforms and meters only")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for noisy in ("rtdenoise", "numba", "matplotlib", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    import numpy as np
    from PyQt5 import QtCore, QtWidgets

    from rtdenoise.signal.audio import write_audio
    from rtdenoise.gui.controller import demo_speech, Settings, Source
    from rtdenoise.gui.window import MonitorWindow

    path = args.file
    if path is None:
        speech = demo_speech()[:, 0]
        repeat = int(np.ceil((args.seconds + 30) * 16000 / len(speech)))
        path = str(Path(tempfile.mkdtemp(prefix="bench-gui-")) / "noisy.wav")
        write_audio(path, np.tile(speech, repeat), 16000)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([sys.argv[0]])
    window = MonitorWindow(Settings(source=Source("file", path), model=args.model, backend=args.backend),
                           device_list=([], [], "benchmark"), spectrogram=not args.no_spectrogram)
    width, height = (int(v) for v in args.size.split("x"))
    window.resize(width, height)
    window.show()

    def run_for(seconds: float) -> None:
        """Qt's own event loop, as in ``rtdenoise gui``: it sleeps between timer ticks (a polling loop would not)."""
        loop = QtCore.QEventLoop()
        QtCore.QTimer.singleShot(int(1000 * seconds), loop.quit)
        loop.exec_()

    deadline = time.monotonic() + 120
    while (window.engine is None or window.frames == 0) and time.monotonic() < deadline:
        run_for(0.05)
    if window.engine is None:
        log.error("the engine did not start: %s", window.error.text())
        return 1
    run_for(2.0)                   # settle: first frames, caches, layout
    engine, session = window.engine, window.session
    assert session is not None and engine._thread is not None
    tids = {"inference thread": engine._thread.native_id, "file clock (the audio callback's stand-in)": session.native_id}
    cpu0 = {name: thread_cpu(tid) for name, tid in tids.items()}
    gui0, frames0, t0, proc0 = time.thread_time(), window.frames, time.monotonic(), time.process_time()
    run_for(args.seconds)
    gui1, frames1, t1, proc1 = time.thread_time(), window.frames, time.monotonic(), time.process_time()
    cpu1 = {name: thread_cpu(tid) for name, tid in tids.items()}
    wall = t1 - t0
    log.info("window %dx%d%s, %.0f s measured over a file source; backend %s",
             window.width(), window.height(), "" if not args.no_spectrogram else " (no spectrograms)", wall,
             engine.backend_label)
    log.info("GUI thread: %.1f%% of one core, %.1f frames per second", 100 * (gui1 - gui0) / wall,
             (frames1 - frames0) / wall)
    for name in tids:
        log.info("%s: %.1f%% of one core", name, 100 * (cpu1[name] - cpu0[name]) / wall)
    log.info("whole process: %.1f%% of one core", 100 * (proc1 - proc0) / wall)
    log.info("engine: %s", engine.stats().summary())
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
