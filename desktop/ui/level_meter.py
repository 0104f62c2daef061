"""A horizontal input level bar, -60..0 dBFS.

The audio side may report levels hundreds of times a second; the meter keeps
only the latest value and repaints at most ~30 times a second, and only when the
bar would look different (a pixel longer or shorter, or another colour). Rises show at
once, falls decay at a steady rate so speech reads as a smooth envelope rather
than flicker. The clock is injectable so the decay is testable without waiting.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Slot
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from .throttle import UI_INTERVAL_MS

__all__ = ["DECAY_DB_PER_S", "FLOOR_DB", "LevelMeter"]

FLOOR_DB = -60.0
DECAY_DB_PER_S = 30.0
_LOUD_DB = -6.0


class LevelMeter(QWidget):
    """Shows the latest level passed to :meth:`set_level`."""

    def __init__(self, parent: QWidget | None = None, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(parent)
        self._clock = clock
        self._target = FLOOR_DB
        self._shown = FLOOR_DB
        self._last_tick = clock()
        self._timer = QTimer(self)
        self._timer.setInterval(UI_INTERVAL_MS)
        self._timer.timeout.connect(self.on_tick)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAccessibleName("Microphone level")
        self.setToolTip("Microphone input level")
        self._track = QColor("#e4e7ec")
        self._fill = QColor("#22a06b")
        self._loud = QColor("#e5484d")
        self._painted: tuple[int, bool] | None = None  # what the last paint drew: (bar length px, loud)

    # -- state ------------------------------------------------------------------

    @property
    def level(self) -> float:
        """The level currently drawn, in dBFS."""
        return self._shown

    @property
    def target_level(self) -> float:
        """The latest level received, in dBFS."""
        return self._target

    @Slot(float)
    def set_level(self, dbfs: float) -> None:
        """Take a new level; ``-inf``/NaN (silence, no signal) count as the floor."""
        value = FLOOR_DB if math.isnan(dbfs) else min(0.0, max(FLOOR_DB, dbfs))
        self._target = value
        self._shown = max(self._shown, value)
        if not self._timer.isActive():
            self._last_tick = self._clock()
            self._timer.start()

    @Slot()
    def reset(self) -> None:
        """Drop to silence at once (mic turned off)."""
        self._timer.stop()
        self._target = self._shown = FLOOR_DB
        self.update()

    @Slot()
    def on_tick(self) -> None:
        """Advance the decay to now and repaint; stops ticking once the bar rests."""
        now = self._clock()
        elapsed = max(0.0, now - self._last_tick)
        self._last_tick = now
        if self._shown > self._target:
            self._shown = max(self._target, self._shown - DECAY_DB_PER_S * elapsed)
        if self._look() != self._painted:  # a repaint costs the whole window's flush: only for a change
            self.update()
        if self._shown <= self._target:
            self._timer.stop()

    # -- painting -------------------------------------------------------------

    def sizeHint(self) -> QSize:
        return QSize(160, 10)

    def minimumSizeHint(self) -> QSize:
        return QSize(40, 6)

    def _look(self) -> tuple[int, bool]:
        """The bar as it would be drawn now: its length in pixels and whether it shows loud."""
        fraction = (self._shown - FLOOR_DB) / -FLOOR_DB
        return round(self.width() * fraction), self._shown >= _LOUD_DB

    def paintEvent(self, event: QPaintEvent) -> None:
        self._painted = self._look()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        height = min(self.height(), 8)
        rect = QRectF(0, (self.height() - height) / 2, self.width(), height)
        radius = height / 2
        painter.setBrush(self._track if self.isEnabled() else self._track.lighter(105))
        painter.drawRoundedRect(rect, radius, radius)
        fraction = (self._shown - FLOOR_DB) / -FLOOR_DB
        if fraction > 0 and self.isEnabled():
            filled = QRectF(rect.x(), rect.y(), max(height, rect.width() * fraction), height)
            painter.setBrush(self._loud if self._shown >= _LOUD_DB else self._fill)
            painter.drawRoundedRect(filled, radius, radius)
        painter.end()
