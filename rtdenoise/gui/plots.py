"""The monitor window's drawing: recent-history buffers, min/max reduction, and the plot widgets.

Everything here runs in the GUI thread on snapshots the engine's :class:`~rtdenoise.live.Scope`
hands over; nothing here is ever called from the audio callback or the inference thread.

Why reduce before drawing: a 5-second view at 16 kHz is 80,000 samples a curve, and handing Qt
that many points three times at 30 frames per second cost a third of a core on a 2-core machine,
while the screen shows only a few hundred columns. Each curve is therefore cut into one column per
pixel and drawn as that column's minimum and maximum (a vertical stroke), which looks the same as
drawing every sample (every peak stays visible) at a cost that depends on the window's width, not
on the sample rate.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt5 import QtCore, QtWidgets

pg.setConfigOptions(antialias=False, background="k", foreground="#ccc")

SILENCE_DB = -80.0


def minmax_per_pixel(y: np.ndarray, pixels: int) -> np.ndarray:
    """``y`` reduced to ``2 * columns`` values: each column's minimum then maximum, oldest first.

    Columns are ``len(y) // pixels`` samples wide (at least one); the oldest samples that do not
    fill a whole column are dropped, so the newest sample is always drawn. With fewer samples than
    pixels each sample is its own column (min == max)."""
    n = len(y)
    if n == 0:
        return np.zeros(0, np.float32)
    columns = max(1, min(int(pixels), n))
    width = n // columns
    cols = np.asarray(y[n - width * columns:]).reshape(columns, width)
    out = np.empty(2 * columns, np.float32)
    out[0::2] = cols.min(axis=1)
    out[1::2] = cols.max(axis=1)
    return out


class History:
    """The last ``seconds`` of a signal, newest at the end; starts as silence.

    Why a plain array that shifts: the views redraw the whole window every frame anyway, and a
    contiguous newest-last array reduces with one reshape, without stitching a ring's two halves."""

    def __init__(self, seconds: float, rate: int) -> None:
        self.rate = rate
        self.data = np.zeros(int(seconds * rate), np.float32)

    def push(self, x: np.ndarray) -> None:
        n = len(self.data)
        k = len(x)
        if k >= n:
            self.data[:] = x[-n:]
        elif k:
            self.data[:-k] = self.data[k:]
            self.data[-k:] = x

    def clear(self) -> None:
        self.data.fill(0.0)


def level_db(x: np.ndarray) -> float:
    """Peak level of ``x`` in dBFS, :data:`SILENCE_DB` for silence or nothing."""
    if len(x) == 0:
        return SILENCE_DB
    peak = float(np.max(np.abs(x)))
    return max(SILENCE_DB, 20 * np.log10(peak)) if peak > 0 else SILENCE_DB


class Spectrogram:
    """A scrolling log-magnitude spectrogram, fed with new samples, computed frame by frame.

    The tail that does not yet fill a frame is kept for the next call, so columns are evenly
    spaced whatever size the snapshots come in. Each new column is coloured once, through ``lut``
    (256 RGBA colours from ``floor_db`` to 0 dBFS), into :attr:`image` ([frequency, time, RGBA]
    uint8, the row order a QImage takes without a copy), because recolouring and transposing the
    whole image every frame was most of the window's drawing cost."""

    def __init__(self, seconds: float, rate: int, lut: np.ndarray, n_fft: int = 512, hop: int = 256,
                 floor_db: float = SILENCE_DB) -> None:
        self.n_fft, self.hop, self.rate = n_fft, hop, rate
        self.lut, self.floor_db = lut, floor_db
        self.window = np.hanning(n_fft).astype(np.float32)
        self.columns = max(1, int(seconds * rate / hop))
        self.image = np.zeros((n_fft // 2 + 1, self.columns, 4), np.uint8)
        self.clear()

    def push(self, x: np.ndarray) -> int:
        """Add samples; returns the number of new columns."""
        data = np.concatenate([self._tail, x]) if len(self._tail) else np.asarray(x, np.float32)
        count = max(0, (len(data) - self.n_fft) // self.hop + 1)
        if count:
            idx = np.arange(self.n_fft)[None, :] + self.hop * np.arange(count)[:, None]
            spec = np.abs(np.fft.rfft(data[idx] * self.window, axis=1)) / (self.n_fft / 4)
            db = 20 * np.log10(spec + 1e-7)
            cols = self.lut[np.clip((db.T / -self.floor_db + 1) * 255, 0, 255).astype(np.uint8)]
            if count >= self.columns:
                self.image[:] = cols[:, -self.columns:]
            else:
                self.image[:, :-count] = self.image[:, count:]
                self.image[:, -count:] = cols
        self._tail = data[count * self.hop:].copy()
        return count

    def clear(self) -> None:
        self.image[:] = self.lut[0]
        self._tail = np.zeros(0, np.float32)


class ScopeView(pg.GraphicsLayoutWidget):
    """Waveforms of input, output and estimated noise on one shared time axis (left), and their
    spectrograms on the same time axis (right), from :class:`History` and :class:`Spectrogram`."""

    NAMES = ("input", "output", "noise")
    COLORS = ("#6cf", "#7e7", "#f96")

    def __init__(self, seconds: float, rate: int, spectrogram: bool = True,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.seconds, self.rate = seconds, rate
        self.histories = {name: History(seconds, rate) for name in self.NAMES}
        lut = pg.colormap.get("magma").getLookupTable(nPts=256, alpha=True)
        self.spectrograms = ({name: Spectrogram(seconds, rate, lut) for name in self.NAMES}
                             if spectrogram else {})
        self._frame = 0
        self.plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[str, pg.PlotCurveItem] = {}
        self.images: dict[str, pg.ImageItem] = {}
        self.points_drawn = 0                     # points handed to the last curve drawn (tests, benchmark)
        self._x_cache: tuple[int, np.ndarray] = (-1, np.zeros(0))
        for row, (name, color) in enumerate(zip(self.NAMES, self.COLORS)):
            plot = self.addPlot(row=row, col=0, title=name)
            self._fix(plot)
            plot.setYRange(-1.0, 1.0, padding=0)
            plot.setXRange(-seconds, 0, padding=0)
            if row:
                plot.setXLink(self.plots["input"])
            if row < len(self.NAMES) - 1:
                plot.getAxis("bottom").setStyle(showValues=False)
            else:
                plot.setLabel("bottom", "seconds")
            curve = pg.PlotCurveItem(pen=pg.mkPen(color, width=1), skipFiniteCheck=True)
            plot.addItem(curve)
            self.plots[name], self.curves[name] = plot, curve
        for row, name in enumerate(self.spectrograms):
            plot = self.addPlot(row=row, col=1, title=f"{name} spectrogram (kHz)")
            self._fix(plot)
            img = pg.ImageItem(axisOrder="row-major")
            img.setImage(self.spectrograms[name].image, autoLevels=False)   # setRect scales by the image's size
            # rows are frequency, columns time: map the image onto seconds and kHz
            img.setRect(QtCore.QRectF(-seconds, 0, seconds, rate / 2000))
            plot.addItem(img)
            plot.setXRange(-seconds, 0, padding=0)
            plot.setYRange(0, rate / 2000, padding=0)
            plot.setXLink(self.plots["input"])
            if row < len(self.spectrograms) - 1:
                plot.getAxis("bottom").setStyle(showValues=False)
            else:
                plot.setLabel("bottom", "seconds")
            self.plots[f"{name} spectrogram"], self.images[name] = plot, img
        # Repaint only what changed (curves, images), not every axis and title each frame.
        self.setViewportUpdateMode(QtWidgets.QGraphicsView.SmartViewportUpdate)
        if self.spectrograms:
            self.ci.layout.setColumnStretchFactor(0, 3)
            self.ci.layout.setColumnStretchFactor(1, 2)

    @staticmethod
    def _fix(plot: pg.PlotItem) -> None:
        """No mouse zoom, no auto-range, no buttons: the axes never change, so nothing is recomputed."""
        plot.setMouseEnabled(x=False, y=False)
        plot.enableAutoRange(False)
        plot.hideButtons()
        plot.setMenuEnabled(False)
        for axis in ("left", "bottom"):   # redrawn with the curves beside them: blit a pixmap, not text
            plot.getAxis(axis).setCacheMode(QtWidgets.QGraphicsItem.DeviceCoordinateCache)

    def set_rate(self, rate: int) -> None:
        """Show audio at ``rate`` from now on: histories and spectrograms made anew (32 ms frames,
        up to its Nyquist: 24 kHz for a 48 kHz device), the spectrograms' frequency axes with them."""
        if rate == self.rate:
            return
        self.rate = rate
        self.histories = {name: History(self.seconds, rate) for name in self.NAMES}
        if self.spectrograms:
            lut = next(iter(self.spectrograms.values())).lut
            n_fft = 2 * int(round(0.016 * rate))
            self.spectrograms = {name: Spectrogram(self.seconds, rate, lut, n_fft, n_fft // 2) for name in self.NAMES}
            for name, img in self.images.items():
                img.setImage(self.spectrograms[name].image, autoLevels=False)
                img.setRect(QtCore.QRectF(-self.seconds, 0, self.seconds, rate / 2000))
                self.plots[f"{name} spectrogram"].setYRange(0, rate / 2000, padding=0)

    def push(self, dry: np.ndarray, out: np.ndarray) -> None:
        """Take a snapshot from the engine's scope: input and output, aligned."""
        self.histories["input"].push(dry)
        self.histories["output"].push(out)
        noise = dry - out
        self.histories["noise"].push(noise)
        if self.spectrograms:
            self.spectrograms["input"].push(dry)
            self.spectrograms["output"].push(out)
            self.spectrograms["noise"].push(noise)

    def reset(self) -> None:
        for h in self.histories.values():
            h.clear()
        for s in self.spectrograms.values():
            s.clear()
        if self.isVisible():     # before the window is laid out, drawing would fix the plots' sizes wrongly
            self.redraw()

    def pixels(self) -> int:
        """Columns the waveform plots are wide on screen."""
        return max(16, int(self.plots["input"].getViewBox().width()))

    def redraw(self) -> None:
        """Reduce each history to min/max per pixel and draw; refresh the spectrogram images."""
        pixels = self.pixels()
        for name, curve in self.curves.items():
            y = minmax_per_pixel(self.histories[name].data, pixels)
            curve.setData(self._x(len(y)), y)
            self.points_drawn = len(y)
        self._frame += 1
        if self._frame % 3 == 1:      # a third of the frame rate: enough for a spectrogram, and images cost the most
            for name, img in self.images.items():
                img.setImage(self.spectrograms[name].image, autoLevels=False)

    def _x(self, points: int) -> np.ndarray:
        """Time of each reduced point: a column's min and max share its x, newest column at 0."""
        if self._x_cache[0] != points:
            columns = points // 2
            x = np.linspace(-self.seconds, 0, columns, dtype=np.float32)
            self._x_cache = (points, np.repeat(x, 2))
        return self._x_cache[1]


class LevelMeter(QtWidgets.QProgressBar):
    """A peak meter in dBFS that falls back slowly, as meters do, so a short peak stays readable."""

    def __init__(self, label: str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = label
        self.setRange(int(SILENCE_DB), 0)
        self.setTextVisible(True)
        self.db = SILENCE_DB
        self.show_db(SILENCE_DB)

    def feed(self, x: np.ndarray, seconds: float) -> None:
        """New samples covering ``seconds``: the meter jumps up to a peak and falls 20 dB/s."""
        self.show_db(max(level_db(x), self.db - 20.0 * seconds))

    def show_db(self, db: float) -> None:
        self.db = db
        self.setValue(int(round(db)))
        self.setFormat(f"{self.label} {db:5.0f} dB" if db > SILENCE_DB else f"{self.label}   -inf dB")
