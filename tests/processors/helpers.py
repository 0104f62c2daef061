"""Helpers for tests that drive a processor: a writable input stream, bounded readers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from desktop.parts import Part

__all__ = ["Feed", "take_all", "take_until"]


class Feed:
    """An input stream a test writes to: ``send(part)``, then ``end()``."""

    _END = object()

    def __init__(self) -> None:
        self._queue: asyncio.Queue[object] = asyncio.Queue()

    def send(self, *parts: Part) -> None:
        for part in parts:
            self._queue.put_nowait(part)

    def end(self) -> None:
        self._queue.put_nowait(self._END)

    def __aiter__(self) -> AsyncIterator[Part]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Part]:
        while (item := await self._queue.get()) is not self._END:
            yield item  # type: ignore[misc]


async def take_until(stream: AsyncIterator[Part], until: Callable[[Part], bool], *,
                     timeout: float = 5.0) -> list[Part]:
    """Parts from ``stream`` up to and including the first one ``until`` accepts."""
    taken: list[Part] = []
    async with asyncio.timeout(timeout):
        async for part in stream:
            taken.append(part)
            if until(part):
                return taken
    raise AssertionError(f"stream ended before the expected part; got {[p.metadata for p in taken]}")


async def take_all(stream: AsyncIterator[Part], *, timeout: float = 5.0) -> list[Part]:
    """Every part until the stream ends by itself (within ``timeout``)."""
    async with asyncio.timeout(timeout):
        return [part async for part in stream]
