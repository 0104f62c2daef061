"""Wait until a widget has painted its first frame, so start-up work that follows does not delay it.

Why: ``show()`` only posts the paint; the frame is drawn when the event loop next runs. Work done right after
``show()`` (starting the embedded server imports numpy and soxr, ~0.3 s) would otherwise keep the window blank
or unmapped for that long.
"""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QWidget

__all__ = ["first_paint"]


class _PaintWatch(QObject):
    def __init__(self, widget: QWidget, painted: asyncio.Event) -> None:
        super().__init__(widget)
        self._painted = painted

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Paint:
            self._painted.set()
        return False


async def first_paint(widget: QWidget, timeout: float = 1.0) -> None:
    """Return once ``widget`` has painted (or after ``timeout`` s: a hidden or headless window never paints)."""
    painted = asyncio.Event()
    watch = _PaintWatch(widget, painted)
    widget.installEventFilter(watch)
    widget.update()
    try:
        async with asyncio.timeout(timeout):
            await painted.wait()
    except TimeoutError:
        pass
    finally:
        widget.removeEventFilter(watch)
        watch.deleteLater()
