"""(c) End to end over 127.0.0.1: a Session and the embedded LiveServer running the echo processor, both on this
process's one event loop (as in the app, where the server is embedded)."""

from __future__ import annotations

import asyncio
import time

import pytest

from desktop.processors import get_factory
from desktop.server import LiveServer
from tests.soak._support import EchoStream, percentile, stats_ms, table

from ._live import audio_round_trips, open_session, text_round_trips

pytestmark = pytest.mark.bench

TURNS = 200
CHUNKS = 200
CONCURRENCY = (1, 4, 16)
STREAM_SECONDS = 5.0


async def test_round_trip_latency():
    async with LiveServer(get_factory("echo")) as server:
        session, recorder = await open_session(server.url)
        try:
            text = await text_round_trips(session, recorder, TURNS)
            audio = await audio_round_trips(session, recorder, CHUNKS)
            paced = await audio_round_trips(session, recorder, CHUNKS, gap=0.02)
        finally:
            await session.close()
    rows = [[what, s["n"], s["median"], s["p95"], s["p99"], s["max"]]
            for what, s in (("text: send_text -> TurnComplete", stats_ms(text)),
                            ("audio: 20 ms chunk -> first Audio back", stats_ms(audio)),
                            ("same, the loop idle 20 ms between chunks", stats_ms(paced)))]
    print()
    print(table(["round trip (one at a time)", "n", "median ms", "p95 ms", "p99 ms", "max ms"], rows,
                title="(c) Round trip, Session <-> embedded LiveServer (echo), 127.0.0.1, one event loop.\n"
                      "    Back to back the loop never sleeps; with idle gaps (as in live audio) each chunk also pays "
                      "for waking the loop (and, in a VM, the CPU)."))


async def _concurrent(n: int) -> list[object]:
    async with LiveServer(get_factory("echo")) as server:
        streams = [EchoStream(server.url, seed=i) for i in range(n)]
        try:
            await asyncio.gather(*(s.start() for s in streams))
            cpu, wall = time.process_time(), time.perf_counter()
            await asyncio.gather(*(s.stream(STREAM_SECONDS) for s in streams))
            await asyncio.gather(*(s.drain() for s in streams))
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        finally:
            await asyncio.gather(*(s.close() for s in streams))
    latencies = [x for s in streams for x in s.latencies]
    return [n, sum(s.sent for s in streams), sum(s.received for s in streams), sum(s.dropped for s in streams),
            sum(s.lost for s in streams), percentile(latencies, 50) * 1e3, percentile(latencies, 95) * 1e3,
            percentile(latencies, 99) * 1e3, max(latencies, default=float("nan")) * 1e3,
            max(s.max_slip for s in streams) * 1e3, 100 * cpu / wall]


async def test_concurrent_real_time_streams():
    rows = [await _concurrent(n) for n in CONCURRENCY]
    print()
    print(table(
        ["sessions", "chunks sent", "delivered", "dropped", "lost", "median ms", "p95 ms", "p99 ms", "max ms",
         "worst send slip ms", "CPU % (1 core=100)"],
        rows,
        title=f"(c) N sessions streaming real-time 20 ms chunks for {STREAM_SECONDS:.0f} s each into one embedded "
              "echo server (same process).\n    delivered = echoed chunks back; dropped = session backlog drops; "
              "lost = sent but never echoed; latency per chunk = send_audio -> its Audio event.",
    ))
