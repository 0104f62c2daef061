"""Round trips through a live :class:`Session`: a text turn to its ``TurnComplete``, a 20 ms chunk to its echo."""

from __future__ import annotations

import asyncio
import time

from desktop.protocols.events import Audio, Event, TurnComplete
from desktop.protocols.live_server import LiveServerCodec
from desktop.session import Backoff, Session
from tests.soak._support import Recorder, chunk_16k

__all__ = ["audio_round_trips", "open_session", "text_round_trips"]

TIMEOUT = 10.0


async def open_session(url: str) -> tuple[Session, Recorder]:
    recorder = Recorder(timeout=30)
    session = Session(LiveServerCodec(), url, on_event=recorder.on_event, on_status=recorder.on_status,
                      backoff=Backoff(initial=0.05, cap=0.2))
    session.start()
    await recorder.wait_for(lambda: session.connected)
    return session, recorder


async def _next(recorder: Recorder, kind: type[Event], start) -> float:
    """Run ``start()``, then wait for the next ``kind`` event; seconds between the two."""
    loop = asyncio.get_running_loop()
    arrived: asyncio.Future[float] = loop.create_future()

    def listener(event: Event) -> None:
        if isinstance(event, kind) and not arrived.done():
            arrived.set_result(time.perf_counter())

    recorder.listeners.append(listener)
    try:
        began = time.perf_counter()
        start()
        return await asyncio.wait_for(arrived, TIMEOUT) - began
    finally:
        recorder.listeners.remove(listener)


async def text_round_trips(session: Session, recorder: Recorder, turns: int, *, warmup: int = 10) -> list[float]:
    """``send_text`` -> ``TurnComplete``, one turn at a time."""
    times = []
    for i in range(warmup + turns):
        took = await _next(recorder, TurnComplete, lambda i=i: session.send_text(f"turn {i}: hello there"))
        if i >= warmup:
            times.append(took)
    return times


async def audio_round_trips(session: Session, recorder: Recorder, chunks: int, *, warmup: int = 10,
                            gap: float = 0.0) -> list[float]:
    """``send_audio`` (one 20 ms chunk) -> the first ``Audio`` event back, one chunk at a time, ``gap`` s apart."""
    pcm = chunk_16k()
    times = []
    for i in range(warmup + chunks):
        took = await _next(recorder, Audio, lambda: session.send_audio(pcm))
        if i >= warmup:
            times.append(took)
        if gap:
            await asyncio.sleep(gap)
    ended = recorder.count(TurnComplete)
    session.audio_end()  # close the spoken turn so the next measurement starts clean
    await recorder.wait_for(lambda: recorder.count(TurnComplete) > ended, TIMEOUT)
    return times
