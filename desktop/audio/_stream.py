"""Closing PortAudio streams without ever hanging the event loop, and noticing streams that went quiet.

Why: with PortAudio 19.6's ALSA host API (and so PulseAudio or PipeWire through ALSA), a sound server that
dies while a stream is still starting can leave PortAudio's stream thread spinning forever: no more callbacks,
no finished callback, and ``Pa_StopStream``/``Pa_AbortStream`` then wait for that thread forever. So streams
are stopped on a short-lived daemon thread that the caller waits for only briefly, and each stream is
watched: no callback for a while while it should be running means it is dead.

An abandoned stream also makes ``Pa_Terminate`` hang (it aborts every open stream), which sounddevice calls
at exit and :func:`desktop.audio.devices.reinitialize` calls on purpose: after the first abandoned stream,
sounddevice's exit handler is unregistered (the OS reclaims everything at exit anyway) and re-initialising
is refused with a message.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import sys
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["StallWatch", "abandoned_streams", "close_stream", "keep_until_closed"]

_abandoned: list[object] = []  # the streams PortAudio never let go of
# Every stream from creation until close_stream() has closed it. A sounddevice stream owns the cffi callback
# PortAudio's thread calls: if the Python object is garbage-collected while the stream still runs (an owner
# dropped without closing it, a cycle freed by a collection), that thread jumps into freed memory (a crash seen
# as "Illegal instruction"). Holding it here turns that into, at worst, a stream left running until exit.
_live: set[object] = set()


def keep_until_closed(stream: Any) -> Any:
    """Hold ``stream`` until :func:`close_stream` closes it; returns it (wrap the constructor call)."""
    _live.add(stream)
    return stream


def abandoned_streams() -> int:
    """How many streams PortAudio never let go of in this process."""
    return len(_abandoned)


def close_stream(stream: Any, *, drain: bool = False, timeout: float = 1.0) -> bool:
    """Stop (``drain``: let queued blocks finish; else abort) and close ``stream``, waiting at most
    ``timeout`` seconds. Returns False if PortAudio did not return in time; the stream is then abandoned."""

    def run() -> None:
        with contextlib.suppress(Exception):
            (stream.stop if drain else stream.abort)(ignore_errors=True)
        with contextlib.suppress(Exception):
            stream.close(ignore_errors=True)

    thread = threading.Thread(target=run, name="vd-audio-close", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        _abandon(stream)
        return False
    _live.discard(stream)
    return True


def _abandon(stream: Any) -> None:
    _abandoned.append(stream)
    sd = sys.modules.get("sounddevice")
    handler = getattr(sd, "_exit_handler", None)
    if handler is not None:
        atexit.unregister(handler)


class StallWatch:
    """Calls ``on_stall()`` on the loop when ``blocks()`` has not changed for ``stall_s`` seconds.

    ``blocks`` reads a counter the audio callback increments: the callback's only cost is ``+= 1``.
    Create it from any thread (it arms itself on the loop); :meth:`cancel` from any thread too.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, blocks: Callable[[], int],
                 on_stall: Callable[[], None], stall_s: float) -> None:
        self._loop, self._blocks, self._on_stall, self.stall_s = loop, blocks, on_stall, stall_s
        self._seen = -1
        self._quiet = 0.0
        self._step = min(0.5, stall_s / 2)
        self._cancelled = False
        with contextlib.suppress(RuntimeError):  # a closed loop: nothing to watch for
            loop.call_soon_threadsafe(self._arm)

    def _arm(self) -> None:
        if not self._cancelled:
            self._loop.call_later(self._step, self._check)

    def _check(self) -> None:
        if self._cancelled:
            return
        blocks = self._blocks()
        self._quiet = self._quiet + self._step if blocks == self._seen else 0.0
        self._seen = blocks
        if self._quiet >= self.stall_s:
            self._cancelled = True
            self._on_stall()
        else:
            self._loop.call_later(self._step, self._check)

    def cancel(self) -> None:
        """Stop watching (a pending check still runs once, and does nothing)."""
        self._cancelled = True
