"""The shape every step of the offline pipeline shares, and the markers the steps pass each other.

A :class:`Stage` is a processor (parts in → parts out) that handles each input part in order with
:meth:`Stage.on_part` and may run slow work in the background (:meth:`Stage.spawn`) while it keeps
reading, so a barge-in is seen while a reply is still being made. Everything a stage emits goes out
in the order it was emitted, through one bounded queue.

Markers are parts only the pipeline's own steps exchange ("speech started", "an utterance's audio",
"a sentence to say"); they carry :data:`MARKER_MIMETYPE` and never reach the wire: the last step
consumes them and the pipeline drops any stray one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterable, AsyncIterator, Coroutine
from typing import Any

from desktop.parts import Part

__all__ = ["MARKER_MIMETYPE", "Stage", "cancel_and_wait", "is_marker", "marker", "marker_kind"]

log = logging.getLogger(__name__)

MARKER_MIMETYPE = "application/x-voice-desktop-local"
_KIND = "local"

# Marker kinds, in the order they usually flow.
SPEECH_START = "speech_start"      # VAD: the user started speaking (a barge-in when a reply is playing)
UTTERANCE = "utterance"            # VAD: an utterance's audio so far (final or a snapshot for a partial)
HEARD_NOTHING = "heard_nothing"    # VAD/STT: a spoken turn with nothing recognisable in it
IDLE_TURN_END = "idle_turn_end"    # VAD/STT: the mic went off with nothing to answer: close the turn
BARGE_IN = "barge_in"              # reply: stop what is playing, drop what is queued
REPLY_START = "reply_start"        # reply: a reply begins (metadata: id, spoken)
SENTENCE = "sentence"              # reply: one sentence to say (metadata: id; text)
REPLY_END = "reply_end"            # reply: no more sentences for this reply (metadata: id)

OUT_QUEUE_PARTS = 64  # per stage; a full queue makes the stage wait (backpressure up the chain)
_END = object()


def marker(kind: str, text: str | None = None, data: bytes | None = None, **metadata: Any) -> Part:
    return Part(text=text if data is None else None, data=data, mimetype=MARKER_MIMETYPE,
                metadata={_KIND: kind, **metadata})


def is_marker(part: Part, kind: str | None = None) -> bool:
    return part.mimetype == MARKER_MIMETYPE and (kind is None or part.metadata.get(_KIND) == kind)


def marker_kind(part: Part) -> str | None:
    return part.metadata.get(_KIND) if part.mimetype == MARKER_MIMETYPE else None


class Stage:
    """Base class: override :meth:`on_part` (and :meth:`on_end`, :meth:`on_close` when needed)."""

    def __init__(self) -> None:
        self._out: asyncio.Queue[object] | None = None
        self._jobs: set[asyncio.Task[None]] = set()
        self._daemons: set[asyncio.Task[None]] = set()

    async def __call__(self, parts: AsyncIterable[Part]) -> AsyncIterator[Part]:
        self._out = asyncio.Queue(OUT_QUEUE_PARTS)
        reader = asyncio.create_task(self._read(parts))
        try:
            while (item := await self._out.get()) is not _END:
                if isinstance(item, BaseException):
                    raise item
                yield item  # type: ignore[misc]
        finally:
            tasks = [reader, *self._jobs, *self._daemons]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.on_close()

    async def _read(self, parts: AsyncIterable[Part]) -> None:
        assert self._out is not None
        try:
            async for part in parts:
                await self.on_part(part)
            await self.on_end()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the stage's own failure ends the chain; the server shows it and restarts
            await self._out.put(exc)
            return
        finally:
            closer = getattr(parts, "aclose", None)
            if closer is not None:
                with contextlib.suppress(Exception):
                    await closer()
        await self._out.put(_END)

    # -- for subclasses ---------------------------------------------------------------------------

    async def on_part(self, part: Part) -> None:
        await self.emit(part)

    async def on_end(self) -> None:
        """The input ended: by default, let background work finish (daemons are cancelled)."""
        await self.wait_jobs()

    async def on_close(self) -> None:
        """The stage is done or cancelled; release what it holds."""

    async def emit(self, part: Part) -> None:
        assert self._out is not None
        await self._out.put(part)

    def spawn(self, coro: Coroutine[Any, Any, None], *, name: str, daemon: bool = False) -> asyncio.Task[None]:
        """Run ``coro`` in the background; an exception becomes an error part, never a lost task."""
        task = asyncio.create_task(self._guard(coro, name), name=name)
        owner = self._daemons if daemon else self._jobs
        owner.add(task)
        task.add_done_callback(owner.discard)
        task.add_done_callback(lambda _: coro.close())  # cancelled before it started: not "never awaited"
        return task

    async def wait_jobs(self) -> None:
        while self._jobs:
            await asyncio.gather(*list(self._jobs), return_exceptions=True)

    async def _guard(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a task boundary: the failure becomes something the user sees
            log.exception("Offline assistant: %s failed", name)
            await self.emit(Part.error(f"The offline assistant's {name} failed: {exc}"))


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` and wait until it has really stopped (so nothing it emits arrives later)."""
    if task is None or task.done():
        return
    task.cancel()
    await asyncio.wait({task})  # unlike ``await task``, a cancellation of *our* caller still propagates
    if not task.cancelled():
        task.exception()  # retrieved: a guarded task has already reported its failure
