"""The diagnostics panel: how the link and the speaker are doing, in figures the controller gives it.

Why: "it sounds choppy" or "it is slow to answer" needs numbers a user can read out: time to first audio
of the last turn, the jitter buffer (depth, target, underruns, what it held when playback started: on a stream
that arrives at real time, the latency it adds), the speaker starved by a busy machine (PortAudio's output
underflows: "choppy" that is not the network), the round trip to the server and the spoken audio that could not
be sent. The panel computes nothing: :meth:`DiagnosticsDialog.set_figures`
takes a mapping with these keys (a missing or None value shows as "—"):

``first_audio_ms``, ``buffered_ms``, ``target_ms``, ``underruns``, ``added_latency_ms``, ``stall_ms``,
``device_underflows``, ``round_trip_ms``, ``frames_dropped``.

While it is shown it asks for fresh figures once a second (``refresh_requested``); hidden, no timer runs.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QVBoxLayout, QWidget

__all__ = ["FIGURES", "DiagnosticsDialog"]

#: (key, label, unit) in the order shown.
FIGURES: tuple[tuple[str, str, str], ...] = (
    ("first_audio_ms", "Time to first audio (last turn)", "ms"),
    ("round_trip_ms", "Round trip to the server", "ms"),
    ("buffered_ms", "Jitter buffer depth", "ms"),
    ("target_ms", "Jitter buffer target", "ms"),
    ("added_latency_ms", "Queued when the reply started", "ms"),
    ("underruns", "Underruns", ""),
    ("stall_ms", "Silence while refilling", "ms"),
    ("device_underflows", "Speaker starved (machine busy)", ""),
    ("frames_dropped", "Spoken frames not sent", ""),
)
_REFRESH_MS = 1000


class DiagnosticsDialog(QDialog):
    """A small non-modal window of figures; ``refresh_requested`` once a second while visible."""

    refresh_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Diagnostics")
        self.setObjectName("diagnostics")
        self.values: dict[str, QLabel] = {}
        form = QFormLayout()
        for key, label, _unit in FIGURES:
            value = QLabel("—")
            value.setObjectName(key)
            value.setAccessibleName(label)
            self.values[key] = value
            form.addRow(label, value)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setIcon(QIcon())  # no stock icon, as in Settings
        buttons.rejected.connect(self.close)
        column = QVBoxLayout(self)
        column.addLayout(form)
        column.addWidget(buttons)
        self._timer = QTimer(self)
        self._timer.setInterval(_REFRESH_MS)
        self._timer.timeout.connect(self.refresh_requested)

    def set_figures(self, figures: Mapping[str, float | int | None]) -> None:
        for key, _label, unit in FIGURES:
            self.values[key].setText(_format(figures.get(key), unit))

    def text(self, key: str) -> str:
        """What the panel shows for ``key`` (tests and screen readers read the same labels)."""
        return self.values[key].text()

    def showEvent(self, event) -> None:
        self._timer.start()
        self.refresh_requested.emit()
        super().showEvent(event)

    def hideEvent(self, event) -> None:
        self._timer.stop()
        super().hideEvent(event)


def _format(value: float | int | None, unit: str) -> str:
    if value is None:
        return "—"
    text = f"{value:.0f}" if isinstance(value, float) else str(value)
    return f"{text} {unit}".strip()
