#!/usr/bin/env python
"""Writes a PNG screenshot of the running monitor window (docs/gui.png, shown in the README).

The real window, offscreen, with the demo's generated noisy speech running through the live engine,
grabbed once the views have filled:

    .venv/bin/python scripts/gui_screenshot.py            # -> docs/gui.png
    .venv/bin/python scripts/gui_screenshot.py -o x.png --file noisy.wav
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

log = logging.getLogger("gui_screenshot")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("-o", "--output", default=str(ROOT / "docs" / "gui.png"), help="PNG to write (default docs/gui.png)")
    p.add_argument("--file", help="play this WAV instead of the demo's speech")
    p.add_argument("-m", "--model", default=None, help="model name (default: the shipped one)")
    p.add_argument("--seconds", type=float, default=7.0, help="seconds to run before the grab (default 7)")
    p.add_argument("--size", default="1200x760", help="window size in pixels (default 1200x760)")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    from PyQt5 import QtCore, QtWidgets

    from rtdenoise.gui.controller import DEMO, Settings, Source
    from rtdenoise.gui.window import MonitorWindow

    source = Source("file", args.file) if args.file else Source(DEMO, DEMO)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([sys.argv[0]])
    window = MonitorWindow(Settings(source=source, model=args.model))
    window.resize(*(int(v) for v in args.size.split("x")))
    window.show()

    def run_for(seconds: float) -> None:
        loop = QtCore.QEventLoop()
        QtCore.QTimer.singleShot(int(1000 * seconds), loop.quit)
        loop.exec_()

    for _ in range(1200):                      # up to 2 minutes for the model to load and warm up
        if window.engine is not None or window.error.isVisible():
            break
        run_for(0.1)
    if window.engine is None:
        log.error("the engine did not start: %s", window.error.text() or "timed out")
        window.close()
        return 1
    run_for(args.seconds)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(out)):
        log.error("%s: could not write the PNG", out)
        window.close()
        return 1
    log.info("wrote %s (%dx%d)", out, window.width(), window.height())
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
