"""Soak (d): four sessions stream real-time audio for two minutes through the embedded echo server at once.

Every 20 ms chunk must come back (none dropped by a session's backlog, none lost); the run prints the latency
distribution of chunk -> echo, which it does not judge.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from desktop.processors import get_factory
from desktop.server import LiveServer
from desktop.session import ConnectionState

from ._support import EchoStream, percentile, rss_bytes, table

pytestmark = pytest.mark.soak

SESSIONS = 4
SECONDS = 120.0
BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100, 200, float("inf")]


async def test_four_sessions_stream_for_two_minutes():
    async with LiveServer(get_factory("echo")) as server:
        streams = [EchoStream(server.url, seed=i) for i in range(SESSIONS)]
        try:
            await asyncio.gather(*(s.start() for s in streams))
            rss_start = rss_bytes()
            cpu, wall = time.process_time(), time.perf_counter()
            await asyncio.gather(*(s.stream(SECONDS) for s in streams))
            await asyncio.gather(*(s.drain(timeout=10) for s in streams))
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            rss_end = rss_bytes()
            connects = sum(st.state is ConnectionState.CONNECTING for s in streams for st in s.recorder.statuses)
            reconnects = connects - SESSIONS
        finally:
            await asyncio.gather(*(s.close() for s in streams))

    latencies = [x * 1e3 for s in streams for x in s.latencies]
    print()
    print(table(
        ["session", "sent", "echoed", "dropped", "lost", "median ms", "p99 ms", "max ms", "worst timer slip ms"],
        [[i, s.sent, s.received, s.dropped, s.lost, percentile(s.latencies, 50) * 1e3,
          percentile(s.latencies, 99) * 1e3, max(s.latencies, default=float("nan")) * 1e3, s.max_slip * 1e3]
         for i, s in enumerate(streams)],
        title=f"(d) {SESSIONS} sessions x {SECONDS:.0f} s of real-time 20 ms chunks through the embedded echo server "
              f"(one process, one loop); CPU {100 * cpu / wall:.0f}% of one core, RSS {rss_start / 2**20:.0f} -> "
              f"{rss_end / 2**20:.0f} MiB, reconnects {reconnects}",
    ))
    q = [50, 90, 99, 99.9, 100]
    print(table([f"p{p:g}" for p in q], [[percentile(latencies, p) for p in q]],
                title="latency, chunk sent -> its echo arrived, all sessions (ms)"))
    rows, low = [], 0.0
    for high in BUCKETS_MS:
        n = sum(low <= x < high for x in latencies)
        rows.append([f"{low:g}-{high:g} ms" if high != float("inf") else f">= {low:g} ms", n,
                     f"{100 * n / max(1, len(latencies)):.2f}%"])
        low = high
    print(table(["latency", "chunks", "share"], rows))

    assert sum(s.dropped for s in streams) == 0
    assert sum(s.lost for s in streams) == 0
    assert all(s.sent == round(SECONDS / 0.02) for s in streams)
    assert reconnects == 0
