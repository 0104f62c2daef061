"""A microphone that is open only while it is needed (push-to-talk: from press to release).

Why: an open input stream costs CPU all the time, lights the OS microphone indicator and, on Bluetooth
headsets, forces the low-quality call profile. Opening on press costs a few tens of milliseconds (bench/), and
nothing said is lost: recording starts when the stream opens, and on release the stream is stopped with a
drain, so everything recorded up to then is delivered before the release's follow-up (the end of the spoken
turn) runs.

Opening and closing run on a worker thread (PortAudio may block), one at a time and in the order asked: a
quick press-release-press opens, closes (flushing), then opens again, never two streams at once. Each job
is a task kept until it ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from desktop.errors import VoiceDesktopError

__all__ = ["OnDemandMic"]

log = logging.getLogger(__name__)


class OnDemandMic:
    """Open/close one :class:`~desktop.audio.capture.Capture` on request; chunks go to ``on_chunk``.

    ``on_error(message)`` is called (on the loop) when opening fails. Use it from the loop thread.
    """

    def __init__(self, capture: Any, on_chunk: Callable[[bytes, float], None],
                 on_error: Callable[[str], None]) -> None:
        self.capture = capture
        self._on_chunk = on_chunk
        self._on_error = on_error
        self._lock = asyncio.Lock()
        self._jobs: set[asyncio.Task[None]] = set()
        self.opened_at: float | None = None  # loop.time() when the last open returned (for diagnostics)

    @property
    def is_open(self) -> bool:
        return bool(self.capture.is_running)

    def open(self, before: Callable[[], None] | None = None) -> None:
        """Open the stream (after any earlier job); ``before()`` runs first, in order with other jobs."""
        self._job(self._open(before))

    def close(self, after: Callable[[], None] | None = None) -> None:
        """Stop the stream, delivering what it recorded; then ``after()``."""
        self._job(self._close(after))

    async def open_now(self) -> bool:
        """Open and wait; False (and ``on_error``) when the device cannot be opened."""
        return await self._open(None)

    async def aclose(self) -> None:
        """Wait for pending jobs, then close the stream (shutdown, device change)."""
        while self._jobs:
            await asyncio.gather(*self._jobs, return_exceptions=True)
        async with self._lock:
            await asyncio.to_thread(self.capture.stop)

    # -- jobs --------------------------------------------------------------------------------------------

    def _job(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._jobs.add(task)
        task.add_done_callback(self._job_done)

    def _job_done(self, task: asyncio.Task[None]) -> None:
        self._jobs.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("Microphone job failed", exc_info=task.exception())

    async def _open(self, before: Callable[[], None] | None) -> bool:
        async with self._lock:
            if before is not None:
                before()
            if self.capture.is_running:
                return True
            loop = asyncio.get_running_loop()
            try:
                await asyncio.to_thread(self.capture.start, loop, self._on_chunk)
            except (VoiceDesktopError, OSError) as exc:
                self._on_error(str(exc))
                return False
            self.opened_at = loop.time()
            return True

    async def _close(self, after: Callable[[], None] | None) -> None:
        async with self._lock:
            if self.capture.is_running:
                # stop() from a worker thread schedules the flush on the loop before this await returns,
                # so every recorded chunk reaches on_chunk before after() runs.
                await asyncio.to_thread(self.capture.stop)
                await asyncio.sleep(0)
            if after is not None:
                after()
