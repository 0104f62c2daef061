"""Listen to one microphone while the Settings dialog is open, for its level meter.

Why: choosing the right input is much easier when you can see it react to your
voice. This owns one :class:`desktop.audio.capture.Capture` (its chunks are
discarded; only the level is kept) and reports, on the GUI thread, either
levels or why the device could not be opened. It needs the running qasync
loop: Capture wakes the loop from PortAudio's thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from desktop.errors import VoiceDesktopError

from .async_jobs import running_loop

__all__ = ["NO_LOOP_MESSAGE", "MicMonitor"]

log = logging.getLogger(__name__)

NO_LOOP_MESSAGE = "The level meter works only while the app's event loop runs."


def _make_capture(device: str, on_level: Callable[[float], None], on_error: Callable[[str], None]) -> Any:
    from desktop.audio.capture import Capture

    return Capture(device or None, on_level=on_level, on_error=on_error)


def _discard(*chunk: object) -> None:
    """Chunks are not needed here; taking them keeps Capture from queueing them."""


class MicMonitor(QObject):
    """``start(device)`` opens the device (closing the previous one); ``stop()`` closes it."""

    level = Signal(float)  # dBFS of the latest block
    failed = Signal(str)  # the device could not be opened, or stopped; the reason

    def __init__(self, parent: QObject | None = None, *, factory: Callable[..., Any] | None = None) -> None:
        """``factory(device, on_level, on_error)`` builds the capture (default: a real Capture)."""
        super().__init__(parent)
        self._factory = factory or _make_capture
        self._capture: Any = None

    @property
    def running(self) -> bool:
        return self._capture is not None

    @Slot(str)
    def start(self, device: str) -> None:
        self.stop()
        loop = running_loop()
        if loop is None:
            self.failed.emit(NO_LOOP_MESSAGE)
            return
        try:
            capture = self._factory(device, self.level.emit, self.on_capture_error)
            capture.start(loop=loop, on_chunk=_discard)  # only the level is wanted
        except (VoiceDesktopError, OSError) as exc:
            self.failed.emit(str(exc))
            return
        self._capture = capture

    @Slot()
    def stop(self) -> None:
        capture, self._capture = self._capture, None
        if capture is not None:
            try:
                capture.stop()
            except Exception:
                log.exception("Closing the monitored microphone failed")

    @Slot(str)
    def on_capture_error(self, message: str) -> None:
        self._capture = None
        self.failed.emit(message)
