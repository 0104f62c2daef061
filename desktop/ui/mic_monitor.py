"""Listen to one microphone while the Settings dialog is open, for its level meter.

Why: choosing the right input is much easier when you can see it react to your
voice. This owns one :class:`desktop.audio.capture.Capture` (its chunks are
discarded; only the level is kept) and reports, on the GUI thread, either
levels or why the device could not be opened. It needs the running qasync
loop: Capture wakes the loop from PortAudio's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
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
    """``start(device)`` opens the device (closing the previous one); ``stop()`` closes it.

    PortAudio may take a while to open or close a device (a busy or broken sound server: up to its
    timeout), so both run on a worker thread, one at a time and in the order asked; only the newest
    request counts (start A, start B quickly: A is closed or never opened, B is monitored).
    """

    level = Signal(float)  # dBFS of the latest block
    failed = Signal(str)  # the device could not be opened, or stopped; the reason

    def __init__(self, parent: QObject | None = None, *, factory: Callable[..., Any] | None = None) -> None:
        """``factory(device, on_level, on_error)`` builds the capture (default: a real Capture)."""
        super().__init__(parent)
        self._factory = factory or _make_capture
        self._capture: Any = None
        self._wanted = 0  # generation of the latest request; older jobs give way
        self._lock: asyncio.Lock | None = None
        self._jobs: set[asyncio.Task[None]] = set()

    @property
    def running(self) -> bool:
        return self._capture is not None

    @property
    def busy(self) -> bool:
        """Whether an open or close is still under way on its worker thread."""
        return any(not job.done() for job in self._jobs)

    @Slot(str)
    def start(self, device: str) -> None:
        self._wanted += 1
        loop = running_loop()
        if loop is None:
            self._capture = None
            self.failed.emit(NO_LOOP_MESSAGE)
            return
        self._job(loop, self._open(device, self._wanted))

    @Slot()
    def stop(self) -> None:
        self._wanted += 1
        capture, self._capture = self._capture, None
        if capture is None:
            return
        loop = running_loop()
        if loop is None:  # no loop to hand the work to (dialog closed from plain Qt code): close here
            _stop(capture)
            return
        self._job(loop, self._close(capture))

    async def wait(self) -> None:
        """Until every open and close asked so far has finished (tests, and closing the dialog)."""
        while self._jobs:
            await asyncio.gather(*list(self._jobs), return_exceptions=True)

    @Slot(str)
    def on_capture_error(self, message: str) -> None:
        self._capture = None
        self.failed.emit(message)

    # -- jobs on the loop, device work on a worker thread ----------------------------------------

    def _job(self, loop: asyncio.AbstractEventLoop, coroutine: Any) -> None:
        task = loop.create_task(coroutine)
        self._jobs.add(task)
        task.add_done_callback(self._jobs.discard)

    async def _open(self, device: str, generation: int) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if generation != self._wanted:
                return  # superseded before it began
            previous, self._capture = self._capture, None
            if previous is not None:
                await asyncio.to_thread(_stop, previous)
            loop = asyncio.get_running_loop()
            try:
                capture = self._factory(device, self._emit_level, self.on_capture_error)
                await asyncio.to_thread(capture.start, loop, _discard)  # only the level is wanted
            except (VoiceDesktopError, OSError) as exc:
                if generation == self._wanted:
                    self._emit_failed(str(exc))
                return
            if generation != self._wanted:  # stopped or moved on while it opened
                await asyncio.to_thread(_stop, capture)
                return
            self._capture = capture

    async def _close(self, capture: Any) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            await asyncio.to_thread(_stop, capture)

    def _emit_level(self, dbfs: float) -> None:
        with contextlib.suppress(RuntimeError):  # the dialog (and this object) is already deleted
            self.level.emit(dbfs)

    def _emit_failed(self, message: str) -> None:
        with contextlib.suppress(RuntimeError):
            self.failed.emit(message)


def _stop(capture: Any) -> None:
    try:
        capture.stop()
    except Exception:
        log.exception("Closing the monitored microphone failed")
