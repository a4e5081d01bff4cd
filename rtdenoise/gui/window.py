"""The monitor window of ``rtdenoise gui`` (see :mod:`rtdenoise.gui` for the design).

A module of its own because it needs PyQt5 at import: :mod:`rtdenoise.gui.command` imports it
only once it has checked that there is a display and that Qt is installed, so either is missing gives
a one-line error instead of a traceback or an abort.
"""
from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from PyQt5 import QtCore, QtGui, QtWidgets

from ..model.config import SAMPLE_RATE
from .plots import LevelMeter, ScopeView
from .controller import (DEFAULT_PRESET, DEMO, FPS, LATENCY_PRESETS, VIEW_SECONDS, Session, Settings, Source,
                      list_audio_devices, model_latency, model_names)

if TYPE_CHECKING:
    from ..live.engine import LiveEngine, Stats

log = logging.getLogger(__name__)

DEFAULT_OUTPUT = "default output device"
STATUS_EVERY = 0.25            # seconds between status line updates


#: The latency preset of a model whose framing is its own: no hop or look-ahead given.
OWN_FRAMING = (None, None)


def status_text(stats: Stats, hop_ms: float) -> str:
    """The status line: what a user watching for trouble needs, in one line."""
    return (f"backend {stats.backend}  |  hop {hop_ms:.0f} ms: compute p50 {stats.compute_p50_ms:.1f} ms, "
            f"p99 {stats.compute_p99_ms:.1f} ms  |  real-time factor {stats.real_time_factor:.2f}  |  "
            f"latency {stats.latency_ms:.0f} ms (algorithmic {stats.algorithmic_latency_ms:.0f})  |  "
            f"xruns {stats.xruns}  |  overloads {stats.late_events} ({stats.late_hops} late hops)")


class _Bridge(QtCore.QObject):
    """Carries a session's news from its thread into the GUI thread (queued Qt signals)."""

    engine_ready = QtCore.pyqtSignal(object, object)     # session, engine
    ended = QtCore.pyqtSignal(object, str)               # session, error message or ""


class MonitorWindow(QtWidgets.QMainWindow):
    """Waveforms, meters, spectrograms, controls and status of one live engine at a time.

    ``settings`` are the first session's; ``autostart`` starts it at once. ``device_list`` (inputs,
    outputs, why-none) replaces querying PortAudio, for a caller that already knows; ``spectrogram``
    False leaves the spectrograms out (a slow machine)."""

    def __init__(self, settings: Settings, autostart: bool = True,
                 device_list: tuple[list[str], list[str], str] | None = None, spectrogram: bool = True,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("rtdenoise monitor")
        self.resize(1200, 760)
        self.settings = settings
        self.session: Session | None = None
        self.engine: LiveEngine | None = None
        self.frames = 0                          # frames drawn with new data (tests, benchmark)
        self._last_status = 0.0
        self._bridge = _Bridge()
        self._bridge.engine_ready.connect(self._on_engine_ready)
        self._bridge.ended.connect(self._on_ended)
        self._updating = False                   # filling the pickers: do not restart on their signals
        inputs, outputs, why = device_list if device_list is not None else list_audio_devices()
        self.has_devices = bool(inputs)

        central = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(central)
        self.notice = QtWidgets.QLabel()          # no device / virtual microphone: information
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("background:#334; color:#eef; padding:4px;")
        self.error = QtWidgets.QLabel()           # device and engine errors: shown here, not only in a terminal
        self.error.setWordWrap(True)
        self.error.setStyleSheet("background:#611; color:#fff; padding:4px;")
        for label in (self.notice, self.error):
            label.hide()
            layout.addWidget(label)
        layout.addLayout(self._controls(inputs, outputs))
        middle = QtWidgets.QHBoxLayout()
        self.view = ScopeView(VIEW_SECONDS, SAMPLE_RATE, spectrogram)
        middle.addWidget(self.view, 1)
        meters = QtWidgets.QVBoxLayout()
        self.meters = {name: LevelMeter(name) for name in ("input", "output", "noise")}
        for m in self.meters.values():
            m.setOrientation(QtCore.Qt.Vertical)
            m.setTextVisible(False)
            box = QtWidgets.QVBoxLayout()
            box.addWidget(m, 1, QtCore.Qt.AlignHCenter)
            caption = QtWidgets.QLabel(m.label)
            caption.setAlignment(QtCore.Qt.AlignHCenter)
            box.addWidget(caption)
            meters.addLayout(box, 1)
        middle.addLayout(meters)
        layout.addLayout(middle, 1)
        self.status = QtWidgets.QLabel("stopped")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        self.status.setFont(QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.FixedFont))
        layout.addWidget(self.status)
        self.setCentralWidget(central)

        if not self.has_devices:
            self.show_notice(f"No audio device ({why}). Playing generated noisy speech through the live engine "
                             "instead, as if from a microphone.")
            if settings.source.kind == "device" and not settings.source.name:
                self.settings = replace(settings, source=Source(DEMO, DEMO))
        self._load_settings(self.settings)
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(-(-1000 // FPS))   # rounded up: never more than FPS a second
        self.timer.timeout.connect(self.tick)
        self.timer.start()
        if autostart:
            self.start()

    # -- building ------------------------------------------------------------------------------------
    def _controls(self, inputs: list[str], outputs: list[str]) -> QtWidgets.QLayout:
        grid = QtWidgets.QGridLayout()
        self.source_box = QtWidgets.QComboBox()
        if inputs:
            self.source_box.addItem(Source("device", "").label, Source("device", ""))
        for name in inputs:
            self.source_box.addItem(name, Source("device", name))
        if self.settings.source.kind == "file":
            self.source_box.addItem(self.settings.source.label, self.settings.source)
        self.source_box.addItem(Source(DEMO, DEMO).label, Source(DEMO, DEMO))
        self.output_box = QtWidgets.QComboBox()
        self.output_box.addItem(DEFAULT_OUTPUT, None)
        for name in outputs:
            self.output_box.addItem(name, name)
        self.virtual_mic = QtWidgets.QCheckBox("virtual microphone")
        self.virtual_mic.setToolTip("send the clean audio to a new virtual microphone that call apps can pick")
        self.model_box = QtWidgets.QComboBox()
        for name in model_names():
            self.model_box.addItem(name, name)
        self.backend_box = QtWidgets.QComboBox()
        from ..model.backends import available
        for name in ["auto", *available()]:
            self.backend_box.addItem(name, name)
        self.preset_box = QtWidgets.QComboBox()
        for name, framing in LATENCY_PRESETS.items():
            self.preset_box.addItem(name, framing)
        self.start_button = QtWidgets.QPushButton("Start")
        self.start_button.clicked.connect(self.toggle)
        self.bypass = QtWidgets.QCheckBox("bypass")
        self.strength = QtWidgets.QSlider(QtCore.Qt.Horizontal)
        self.strength.setRange(0, 100)
        self.strength_label = QtWidgets.QLabel()
        row0 = (("input", self.source_box), ("output", self.output_box), (None, self.virtual_mic),
                (None, self.start_button))
        row1 = (("model", self.model_box), ("backend", self.backend_box), ("latency", self.preset_box),
                (None, self.bypass))
        for r, row in enumerate((row0, row1)):
            for c, (caption, widget) in enumerate(row):
                if caption:
                    grid.addWidget(QtWidgets.QLabel(caption), r, 2 * c)
                grid.addWidget(widget, r, 2 * c + 1)
        grid.addWidget(QtWidgets.QLabel("strength"), 2, 0)
        grid.addWidget(self.strength, 2, 1, 1, 5)
        grid.addWidget(self.strength_label, 2, 6)
        grid.setColumnStretch(1, 3)
        grid.setColumnStretch(3, 3)
        for box in (self.source_box, self.output_box, self.model_box, self.backend_box, self.preset_box):
            box.setSizeAdjustPolicy(QtWidgets.QComboBox.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(12)
            box.currentIndexChanged.connect(self._restart_with_controls)
        self.virtual_mic.toggled.connect(self._restart_with_controls)
        self.bypass.toggled.connect(self.set_bypass)
        self.strength.valueChanged.connect(lambda v: self.set_strength(v / 100))
        return grid

    def _load_settings(self, s: Settings) -> None:
        """Show ``s`` in the controls without triggering restarts."""
        self._updating = True
        try:
            self._select(self.source_box, lambda src: src == s.source or (s.source.kind == src.kind == "device"
                                                                          and s.source.name.lower() in src.name.lower()))
            self._select(self.output_box, lambda name: name is not None and s.output is not None
                         and s.output.lower() in name.lower())
            self._select(self.model_box, lambda name: name == (s.model or self.model_box.itemData(0)))
            self._select(self.backend_box, lambda name: name == s.backend)
            if s.hop is not None or s.lookahead is not None:
                framing = (s.hop, s.lookahead)
                if framing not in LATENCY_PRESETS.values():
                    self.preset_box.addItem(f"custom (hop {s.hop}, look-ahead {s.lookahead})", framing)
                self._select(self.preset_box, lambda f: f == framing)
            else:
                self._select(self.preset_box, lambda f: f == LATENCY_PRESETS[DEFAULT_PRESET])
            self._fit_presets()
            self.virtual_mic.setChecked(s.virtual_mic)
            self.bypass.setChecked(s.bypass)
            self.strength.setValue(int(round(100 * s.strength)))
            self.strength_label.setText(f"{s.strength:.2f}")
            self._enable_device_controls()
        finally:
            self._updating = False
        self.settings = self._controls_settings()     # what the controls show is what runs

    @staticmethod
    def _select(box: QtWidgets.QComboBox, match: Any) -> None:
        for i in range(box.count()):
            if match(box.itemData(i)):
                box.setCurrentIndex(i)
                return

    def _fit_presets(self) -> None:
        """Grey out the latency presets the model cannot stream with (its family decides, as for live),
        and move off one that does not fit to the largest that does. A model with a fixed latency
        (the spectral family) gets one preset, its own, and the others are greyed out."""
        fixed, fits_model = model_latency(self.model_box.currentData())
        own = next((i for i in range(self.preset_box.count()) if self.preset_box.itemData(i) == OWN_FRAMING), -1)
        if fixed is not None and own < 0:
            self.preset_box.addItem(f"the model's ({fixed:.0f} ms)", OWN_FRAMING)
            own = self.preset_box.count() - 1
        elif fixed is None and own >= 0:
            was_current = self.preset_box.currentIndex() == own
            self.preset_box.removeItem(own)
            own = -1
            if was_current:
                self._select(self.preset_box, lambda f: f == LATENCY_PRESETS[DEFAULT_PRESET])
        fits = []
        for i in range(self.preset_box.count()):
            hop, look = self.preset_box.itemData(i)
            ok = (i == own) if fixed is not None else fits_model(hop, look)
            self.preset_box.model().item(i).setEnabled(ok)
            fits.append(ok)
        if not fits[self.preset_box.currentIndex()] and any(fits):
            self.preset_box.setCurrentIndex(max(i for i, ok in enumerate(fits) if ok))

    def _enable_device_controls(self) -> None:
        on_device = self.source_box.currentData().kind == "device"
        self.virtual_mic.setEnabled(on_device)
        self.output_box.setEnabled(on_device and not self.virtual_mic.isChecked())
        self.output_box.setToolTip("" if on_device else "a file or the demo is shown, not played")

    def _controls_settings(self) -> Settings:
        hop, look = self.preset_box.currentData()
        return replace(self.settings, source=self.source_box.currentData(), output=self.output_box.currentData(),
                       virtual_mic=self.virtual_mic.isChecked(), model=self.model_box.currentData(),
                       backend=self.backend_box.currentData(), hop=hop, lookahead=look)

    # -- controls --------------------------------------------------------------------------------------
    def _restart_with_controls(self, *_: Any) -> None:
        """A change that needs a new engine (source, devices, model, backend, latency): restart if running."""
        if self._updating:
            return
        self._updating = True
        try:
            self._fit_presets()
            self._enable_device_controls()
        finally:
            self._updating = False
        running = self.session is not None
        self.settings = self._controls_settings()
        if running:
            self.stop()
            self.start()

    def set_bypass(self, on: bool) -> None:
        self.settings = replace(self.settings, bypass=bool(on))
        if self.engine is not None:
            self.engine.set_bypass(on)

    def set_strength(self, strength: float) -> None:
        self.settings = replace(self.settings, strength=float(strength))
        self.strength_label.setText(f"{strength:.2f}")
        if self.engine is not None:
            self.engine.set_strength(strength)

    def toggle(self) -> None:
        if self.session is None:
            self.start()
        else:
            self.stop()

    def start(self) -> None:
        """Start a session with the current settings (in its own thread; the window stays live)."""
        if self.session is not None:
            return
        self.error.hide()
        self.view.reset()
        bridge = self._bridge
        session: Session

        def ready(engine: LiveEngine) -> None:
            bridge.engine_ready.emit(session, engine)

        def ended(message: str) -> None:
            bridge.ended.emit(session, message)
        session = Session(self.settings, ready, ended)
        self.session = session
        self.start_button.setText("Stop")
        self.status.setText(f"starting: {self.settings.source.label}, loading the model...")
        session.start()

    def stop(self) -> None:
        """Stop the session and wait until its engine and streams are closed."""
        session, self.session = self.session, None
        if session is not None:
            session.stop()
        self._show_final_status()
        self.engine = None
        self.start_button.setText("Start")

    def _on_engine_ready(self, session: Session, engine: LiveEngine) -> None:
        if session is not self.session:
            return                               # a session stopped before it got going
        self.engine = engine
        self.view.set_rate(engine.model_rate)    # a spectral model on a 48 kHz device: up to 24 kHz
        engine.set_bypass(self.settings.bypass)  # changed while the model was loading
        engine.set_strength(self.settings.strength)
        if session.virtual_mic_name:
            self.show_notice(f"virtual microphone {session.virtual_mic_name!r} is ready: pick it as the "
                             "microphone in your call or recorder")

    def _on_ended(self, session: Session, message: str) -> None:
        if session is not self.session:
            return
        self.tick()                              # what the engine wrote last
        self.session = None
        self._show_final_status()
        self.engine = None
        self.start_button.setText("Start")
        if message:
            self.show_error(message)
        else:
            self.status.setText(f"finished: {session.settings.source.label}  |  {self.status.text()}")

    def show_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.show()

    def show_error(self, text: str) -> None:
        self.error.setText(f"error: {text}")
        self.error.show()

    # -- drawing -----------------------------------------------------------------------------------
    def tick(self) -> None:
        """One frame: take the scope's new samples and draw them; refresh the status line."""
        engine = self.engine
        if engine is None or engine.scope is None:
            return
        dry, out = engine.scope.read()
        if len(dry):
            self.view.push(dry, out)
            seconds = len(dry) / engine.scope.rate
            self.meters["input"].feed(dry, seconds)
            self.meters["output"].feed(out, seconds)
            self.meters["noise"].feed(dry - out, seconds)
            self.view.redraw()
            self.frames += 1
        now = time.monotonic()
        if now - self._last_status >= STATUS_EVERY:
            self._last_status = now
            self._show_status(engine)

    def _show_status(self, engine: LiveEngine) -> None:
        self.status.setText(status_text(engine.stats(), 1000 * engine.framing.hop / engine.model_rate))

    def _show_final_status(self) -> None:
        if self.engine is not None:
            self._show_status(self.engine)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        """Closing the window stops the engine (and removes a virtual microphone) before it goes."""
        self.timer.stop()
        self.stop()
        event.accept()
