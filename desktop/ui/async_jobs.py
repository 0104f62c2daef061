"""Run a coroutine for a widget without blocking the GUI thread; get its answer back on that thread.

Why: the Settings dialog's "Test key", "Test connection" and "Play test tone"
do network and audio I/O that can take seconds. In the app a qasync loop runs
on the GUI thread, so a job is simply a task on it. Where no loop runs (a
dialog shown from plain Qt code, or a test without qasync), the job runs under
``asyncio.run`` on a worker thread and its answer is posted back through a
queued Qt signal. Either way the callback runs on the GUI thread.

Jobs are named: starting one cancels the running job of the same name and its
answer is dropped (so a stale "Key works" never overwrites a newer question).
A job returns ``None`` (fine) or a message; an exception it lets escape
becomes a message too, never a traceback in the UI.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import threading
import time
from collections.abc import Awaitable, Callable

from PySide6.QtCore import QObject, Signal, Slot

__all__ = ["AsyncJobs", "Done", "JobFactory", "running_loop"]

log = logging.getLogger(__name__)

JobFactory = Callable[[], Awaitable[str | None]]
Done = Callable[[str | None], None]


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The loop running on this thread (qasync's, in the app), or None."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def _guarded(make: JobFactory) -> str | None:
    try:
        return await make()
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.exception("Settings check failed")
        return f"Unexpected error: {exc or type(exc).__name__}"


class _ThreadJob:
    """One job under ``asyncio.run`` on a daemon thread; cancellable from the GUI thread."""

    def __init__(self, make: JobFactory, deliver: Callable[[str | None], None]) -> None:
        self._make = make
        self._deliver = deliver
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[str | None] | None = None
        self._cancelled = False
        self.thread = threading.Thread(target=self._run, name="vd-settings-job", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            loop, task = self._loop, self._task
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # the job's loop already ended
                loop.call_soon_threadsafe(task.cancel)

    def _run(self) -> None:
        try:
            result = asyncio.run(self._main())
        except asyncio.CancelledError:
            return
        if not self._cancelled:
            self._deliver(result)

    async def _main(self) -> str | None:
        with self._lock:
            if self._cancelled:
                raise asyncio.CancelledError
            self._loop, self._task = asyncio.get_running_loop(), asyncio.current_task()
        return await _guarded(self._make)


class AsyncJobs(QObject):
    """Named background jobs whose answers arrive on the GUI thread."""

    _delivered = Signal(int, object)  # job id, answer; queued when emitted from a worker thread

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._current: dict[str, int] = {}  # name -> id of the job whose answer is still wanted
        self._done: dict[int, Done] = {}
        self._tasks: dict[int, asyncio.Task[str | None]] = {}
        self._threads: dict[int, _ThreadJob] = {}
        self._delivered.connect(self.on_delivered)

    @property
    def pending(self) -> bool:
        """Whether any job (even a cancelled one) is still winding down."""
        self._threads = {i: job for i, job in self._threads.items() if job.thread.is_alive()}
        return bool(self._threads) or any(not task.done() for task in self._tasks.values())

    def busy(self, name: str) -> bool:
        """Whether a job called ``name`` is running and its answer is still wanted."""
        return name in self._current

    def start(self, name: str, make: JobFactory, done: Done) -> None:
        """Run ``make()`` in the background; call ``done(answer)`` on the GUI thread when it ends."""
        self.cancel(name)
        job_id = next(self._ids)
        self._current[name] = job_id
        self._done[job_id] = done
        loop = running_loop()
        if loop is not None:
            task = loop.create_task(_guarded(make))
            self._tasks[job_id] = task
            task.add_done_callback(functools.partial(self._on_task_done, job_id))
            return
        job = _ThreadJob(make, functools.partial(self._emit_from_thread, job_id))
        self._threads[job_id] = job
        job.start()

    def cancel(self, name: str) -> None:
        """Stop the job called ``name``; its answer, if any comes, is dropped."""
        job_id = self._current.pop(name, None)
        if job_id is None:
            return
        self._done.pop(job_id, None)
        task = self._tasks.get(job_id)
        if task is not None:
            task.cancel()
        job = self._threads.get(job_id)
        if job is not None:
            job.cancel()

    def cancel_all(self, wait: float = 2.0) -> None:
        """Cancel every job and give worker threads up to ``wait`` seconds to end (on close)."""
        for name in list(self._current):
            self.cancel(name)
        deadline = time.monotonic() + wait
        for job in list(self._threads.values()):
            job.thread.join(max(0.0, deadline - time.monotonic()))
        if self.pending and self._threads:
            log.warning("A settings check is still running after it was cancelled; leaving it behind")

    # -- answers ---------------------------------------------------------------------

    def _emit_from_thread(self, job_id: int, answer: str | None) -> None:
        with contextlib.suppress(RuntimeError):  # the dialog (and this object) is gone: nobody to tell
            self._delivered.emit(job_id, answer)

    def _on_task_done(self, job_id: int, task: asyncio.Task[str | None]) -> None:
        self._tasks.pop(job_id, None)
        if task.cancelled():
            return
        self.on_delivered(job_id, task.result())

    @Slot(int, object)
    def on_delivered(self, job_id: int, answer: str | None) -> None:
        self._threads.pop(job_id, None)
        done = self._done.pop(job_id, None)
        for name, current in list(self._current.items()):
            if current == job_id:
                del self._current[name]
        if done is not None:
            done(answer)
