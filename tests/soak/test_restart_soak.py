"""Soak (a): the server is closed and restarted on the same port 30 times, each time in the middle of a turn.

Each cycle, on a live connection: a text turn that completes (``a``), then audio whose echo is coming back (the turn
is open), then a text typed right before the close (``b``, racing it); the server closes; a text is typed while it
is down (``c``, queued); after 0-300 ms (seeded) the server comes back on the same port and token; the session
reconnects on its own (fast backoff, no ``retry_now``).

Every typed turn must be reported delivered and none may stay pending; every text, ``b`` included, must be answered
exactly once. ``b`` is written to a socket the server is closing: the session sends it again on the next connection
when the server never answered it, so it may be reported delivered twice but is never lost.
The session must end connected, and memory must not keep growing.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import random
import time
import tracemalloc

import pytest

from desktop.processors import get_factory
from desktop.protocols.events import Interrupted, Speaker, TextKind, Transcript
from desktop.protocols.live_server import LiveServerCodec
from desktop.server import LiveServer
from desktop.session import Backoff, ConnectionState, Session, TextDelivered

from ._support import Recorder, chunk_16k, rss_bytes, stats_ms, table

pytestmark = pytest.mark.soak

CYCLES = 30
SEED = 30
MAX_DOWNTIME = 0.3
WARM_CYCLES = 5  # memory is measured from the end of this cycle to the end of the run
MAX_GROWTH = 1024 * 1024  # bytes of traced Python memory the last 25 cycles may add (test-side lists included)


class Factory:
    """The echo processor, counting how often the server built one and with which config."""

    def __init__(self) -> None:
        self.configs: list[dict] = []

    def __call__(self, config: dict):
        self.configs.append(dict(config))
        return get_factory("echo")(config)


def answered(recorder: Recorder) -> collections.Counter[str]:
    """How many times each text came back as the model's written reply."""
    return collections.Counter(e.text for e in recorder.events if isinstance(e, Transcript)
                               and e.speaker is Speaker.MODEL and e.kind is TextKind.TEXT)


async def test_session_survives_server_restarts_mid_turn():
    factory = Factory()
    server = LiveServer(factory)
    await server.start()
    port, token = server.port, server.token
    recorder = Recorder(timeout=20, keep_audio=False)
    session = Session(LiveServerCodec({"voice": "Puck"}), server.url, on_event=recorder.on_event,
                      on_status=recorder.on_status, backoff=Backoff(initial=0.02, factor=2.0, cap=0.1))
    typed: dict[int, str] = {}
    restart_to_connected: list[float] = []
    close_to_connected: list[float] = []
    attempts_per_outage: list[int] = []
    pcm = chunk_16k()
    rng = random.Random(SEED)
    tracemalloc.start()
    try:
        session.start()
        await recorder.wait_for(lambda: session.connected)
        for cycle in range(CYCLES):
            a = session.send_text(f"a{cycle}")
            typed[a] = f"a{cycle}"
            await recorder.wait_for(lambda text=f"a{cycle}": answered(recorder)[text])

            audio_before = recorder.audio_events
            for _ in range(5):
                session.send_audio(pcm)
            await recorder.wait_for(lambda before=audio_before: recorder.audio_events > before)  # mid-turn now
            b = session.send_text(f"b{cycle}")
            typed[b] = f"b{cycle}"

            statuses_before = len(recorder.statuses)
            closed_at = time.perf_counter()
            await server.close()
            await recorder.wait_for(lambda: not session.connected)
            c = session.send_text(f"c{cycle}")
            typed[c] = f"c{cycle}"
            await asyncio.sleep(rng.uniform(0, MAX_DOWNTIME))

            server = LiveServer(factory, port=port, token=token)
            await server.start()
            up_at = time.perf_counter()
            await recorder.wait_for(lambda: session.connected)
            restart_to_connected.append(time.perf_counter() - up_at)
            close_to_connected.append(time.perf_counter() - closed_at)
            attempts_per_outage.append(sum(s.state is ConnectionState.CONNECTING
                                           for s in recorder.statuses[statuses_before:]))
            await recorder.wait_for(lambda text=f"c{cycle}": answered(recorder)[text])

            if cycle == WARM_CYCLES - 1:
                gc.collect()
                traced_start, rss_start = tracemalloc.get_traced_memory()[0], rss_bytes()
        await recorder.wait_for(lambda: not session.pending_texts)
        gc.collect()
        traced_end, rss_end = tracemalloc.get_traced_memory()[0], rss_bytes()
        ended_connected = session.connected
    finally:
        tracemalloc.stop()
        await session.close()
        await server.close()

    delivered = collections.Counter(e.message_id for e in recorder.events if isinstance(e, TextDelivered))
    replies = answered(recorder)
    b_answered = sum(replies[f"b{i}"] == 1 for i in range(CYCLES))
    cut_turns = sum(e == Interrupted(connection_lost=True) for e in recorder.events)
    reconnect = stats_ms(restart_to_connected)
    outage = stats_ms(close_to_connected)
    print()
    print(table(["", "median ms", "p95 ms", "max ms"], [
        ["server restarted -> session connected", reconnect["median"], reconnect["p95"], reconnect["max"]],
        ["server closed -> session connected", outage["median"], outage["p95"], outage["max"]],
    ], title=f"(a) {CYCLES} server restarts mid-turn, down 0-{MAX_DOWNTIME * 1000:.0f} ms each; "
           "backoff 20 ms doubling to 100 ms, with jitter"))
    print(table(["count", "value"], [
        ["texts typed", len(typed)],
        ["TextDelivered reports", sum(delivered.values())],
        ["texts re-sent after a close (reported delivered twice)", sum(n > 1 for n in delivered.values())],
        ["a (live connection) answered once", f"{sum(replies[f'a{i}'] == 1 for i in range(CYCLES))} / {CYCLES}"],
        ["c (typed while down) answered once", f"{sum(replies[f'c{i}'] == 1 for i in range(CYCLES))} / {CYCLES}"],
        ["b (typed just before the close) answered", f"{b_answered} / {CYCLES}"],
        ["b never answered (lost)", CYCLES - b_answered],
        ["texts answered more than once", sum(n > 1 for n in replies.values())],
        ["turns cut by the close (Interrupted(connection_lost))", cut_turns],
        ["connect attempts per outage (max)", max(attempts_per_outage)],
        ["processors built with the session's config (one per connection)",
         f"{factory.configs.count({'voice': 'Puck'})} / {CYCLES + 1}"],
        ["traced Python memory, cycle 5 -> 30 (KiB)", f"{traced_start / 1024:.0f} -> {traced_end / 1024:.0f}"],
        ["RSS, cycle 5 -> 30 (MiB)", f"{rss_start / 2**20:.1f} -> {rss_end / 2**20:.1f}"],
    ]))

    assert ended_connected
    assert session.pending_texts == []
    assert set(delivered) == set(typed), delivered
    assert all(replies[f"{kind}{i}"] == 1 for kind in "abc" for i in range(CYCLES)), replies
    assert all(n == 1 for n in replies.values()), "a text was answered twice"
    assert factory.configs.count({"voice": "Puck"}) == CYCLES + 1  # the config went again on every connection
    assert traced_end - traced_start < MAX_GROWTH, f"grew {traced_end - traced_start} bytes in {CYCLES - 5} cycles"
