"""Call a function at most every N milliseconds, never dropping the last call.

Streaming text and audio levels arrive far faster than anyone can read them;
repainting on each would burn the UI thread. The first call after a quiet
period runs at once (no added latency); calls within the interval are merged
into one that runs when the interval is over. Callers keep their latest state
themselves, so the throttled function takes no arguments.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QElapsedTimer, QObject, QTimer

__all__ = ["UI_INTERVAL_MS", "Throttle"]

UI_INTERVAL_MS = 33
"""About 30 updates a second: smooth to the eye, cheap for the CPU."""


class Throttle(QObject):
    def __init__(self, func: Callable[[], None], interval_ms: int = UI_INTERVAL_MS,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._func = func
        self._interval = interval_ms
        self._since = QElapsedTimer()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._fire)

    @property
    def pending(self) -> bool:
        """Whether a merged call is waiting for the interval to end."""
        return self._timer.isActive()

    def __call__(self) -> None:
        if self._timer.isActive():
            return
        if not self._since.isValid() or self._since.elapsed() >= self._interval:
            self._fire()
        else:
            self._timer.start(max(0, self._interval - self._since.elapsed()))

    def flush(self) -> None:
        """Run a waiting call now (e.g. before reading the UI in a test or on close)."""
        if self._timer.isActive():
            self._timer.stop()
            self._fire()

    def cancel(self) -> None:
        self._timer.stop()

    def _fire(self) -> None:
        self._since.start()
        self._func()
