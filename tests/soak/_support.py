"""Helpers shared by the soak tests and the benchmarks (``bench/``): sessions that stream real-time audio
to an echo server and time each chunk's way back, statistics, and plain-text tables.

Nothing here asserts: callers decide what a run must show.
"""

from __future__ import annotations

import asyncio
import collections
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from desktop.protocols.events import Audio, Event
from desktop.protocols.live_server import LiveServerCodec
from desktop.session import Backoff, ConnectionState, ConnectionStatus, Session

__all__ = ["CHUNK_SECONDS", "EchoStream", "Recorder", "brief", "chunk_16k", "machine_summary", "percentile",
           "rss_bytes", "stats_ms", "table"]

CHUNK_SECONDS = 0.020  # what capture hands the session: 20 ms of 16 kHz PCM16


def chunk_16k(seed: int = 0) -> bytes:
    """20 ms of a quiet 16 kHz PCM16 tone (any content will do: the echo resamples whatever it gets)."""
    samples = [int(3000 * math.sin(2 * math.pi * (440 + seed) * n / 16000)) for n in range(320)]
    return b"".join(s.to_bytes(2, "little", signed=True) for s in samples)


class Recorder:
    """Collects a session's events and statuses; lets a test wait for a condition on them."""

    def __init__(self, timeout: float = 10.0, *, keep_audio: bool = True) -> None:
        self.events: list[Event] = []
        self.audio_events = 0  # counted always; kept in ``events`` only with ``keep_audio``
        self.keep_audio = keep_audio
        self.statuses: list[ConnectionStatus] = []
        self.timeout = timeout
        self.listeners: list[Callable[[Event], None]] = []
        self._changed = asyncio.Event()

    def on_event(self, event: Event) -> None:
        if isinstance(event, Audio):
            self.audio_events += 1
            if self.keep_audio:
                self.events.append(event)
        else:
            self.events.append(event)
        for listener in self.listeners:
            listener(event)
        self._changed.set()

    def on_status(self, status: ConnectionStatus) -> None:
        self.statuses.append(status)
        self._changed.set()

    async def wait_for(self, predicate: Callable[[], object], timeout: float | None = None) -> None:
        async with asyncio.timeout(self.timeout if timeout is None else timeout):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    def count(self, kind: type) -> int:
        return sum(isinstance(e, kind) for e in self.events)

    @property
    def state(self) -> ConnectionState | None:
        return self.statuses[-1].state if self.statuses else None


class EchoStream:
    """One :class:`Session` sending a 20 ms chunk every 20 ms (real time) to an echo server.

    The echo answers every chunk with exactly one audio part, in order, so the n-th ``Audio`` event is the
    n-th chunk's echo: its latency is the time between ``send_audio`` and that event.
    """

    def __init__(self, url: str, *, seed: int = 0, keep_latencies: bool = True) -> None:
        self.recorder = Recorder(keep_audio=False)
        self.recorder.listeners.append(self._on_event)
        self.session = Session(LiveServerCodec(), url, on_event=self.recorder.on_event,
                               on_status=self.recorder.on_status, backoff=Backoff(initial=0.05, cap=0.2))
        self.chunk = chunk_16k(seed)
        self.sent = 0
        self.received = 0
        self.latencies: list[float] = []
        self.max_slip = 0.0  # how late the sender woke up for a chunk, worst case (event-loop load)
        self._sent_at: collections.deque[float] = collections.deque()
        self._keep = keep_latencies

    def _on_event(self, event: Event) -> None:
        if isinstance(event, Audio):
            self.received += 1
            if self._sent_at:
                latency = time.perf_counter() - self._sent_at.popleft()
                if self._keep:
                    self.latencies.append(latency)

    async def start(self) -> None:
        self.session.start()
        await self.recorder.wait_for(lambda: self.session.connected)

    async def stream(self, seconds: float) -> None:
        """Send ``seconds`` of audio paced at real time against an absolute schedule (no drift)."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        for k in range(round(seconds / CHUNK_SECONDS)):
            due = start + k * CHUNK_SECONDS
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self.max_slip = max(self.max_slip, loop.time() - due)
            self._sent_at.append(time.perf_counter())
            self.session.send_audio(self.chunk)
            self.sent += 1

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait until every chunk has come back, or ``timeout``; whatever is missing counts as lost."""
        try:
            await self.recorder.wait_for(lambda: self.received >= self.sent, timeout)
        except TimeoutError:
            pass

    @property
    def dropped(self) -> int:
        """Chunks the session itself dropped (disconnected, or its 2 s backlog full)."""
        return self.session.audio_dropped

    @property
    def lost(self) -> int:
        return max(0, self.sent - self.received)

    async def close(self) -> None:
        await self.session.close()


# -- numbers ------------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def stats_ms(values: Sequence[float]) -> dict[str, float]:
    """Median, p95, p99, max and mean of durations in seconds, as milliseconds."""
    return {
        "n": len(values),
        "median": percentile(values, 50) * 1e3,
        "p95": percentile(values, 95) * 1e3,
        "p99": percentile(values, 99) * 1e3,
        "max": (max(values) if values else math.nan) * 1e3,
        "mean": (sum(values) / len(values) if values else math.nan) * 1e3,
    }


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], title: str = "") -> str:
    """A plain-text table, numbers right-aligned."""

    def cell(value: object) -> str:
        if isinstance(value, float):
            if math.isnan(value):
                return "-"
            return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:#.3g}" if abs(value) < 10 else f"{value:.1f}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    body = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths, strict=True)))

    out = [title] if title else []
    out += [line(list(headers)), line(["-" * w for w in widths])]
    out += [line(r) for r in body]
    return "\n".join(out)


def brief(frame: str | bytes) -> str:
    """A frame short enough to read in a report: long strings inside JSON are cut."""

    def cut(value: Any) -> Any:
        if isinstance(value, str) and len(value) > 24:
            return f"{value[:12]}…({len(value)} chars)"
        if isinstance(value, dict):
            return {k: cut(v) for k, v in value.items()}
        if isinstance(value, list):
            return [cut(v) for v in value]
        return value

    try:
        return f"{type(frame).__name__} frame {json.dumps(cut(json.loads(frame)), ensure_ascii=False)[:300]}"
    except (ValueError, RecursionError):
        return f"{frame[:200]!r}"


def rss_bytes() -> int:
    """This process's resident set size (Linux), 0 where unknown."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def machine_summary() -> str:
    """CPU model, cores and the versions that matter for these numbers, on one line each."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for raw in f:
                if raw.startswith("model name"):
                    cpu = raw.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import numpy
    import soxr
    import websockets

    return "\n".join([
        f"CPU:     {cpu}, {os.cpu_count()} logical cores (this process may use {len(os.sched_getaffinity(0))})",
        f"Python:  {sys.version.split()[0]} ({platform.python_implementation()}), {platform.platform()}",
        f"Libs:    websockets {websockets.__version__}, numpy {numpy.__version__}, soxr {soxr.__version__}",
    ])
