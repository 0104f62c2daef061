"""The project's load generator: N live_server sessions streaming 20 ms of 16 kHz PCM16 in real time to an echo.

Run as its own process so its CPU is never the server's: ``python -m bench.loadgen URL SESSIONS SECONDS``. It
prints one JSON line: frames sent and echoed, latencies' p50/p95/p99/max (ms), how late the sender ever woke
(``max_slip_ms``: when that is large the generator, not the server, was the limit) and its own CPU.

Each session sends the same frame a real client sends (``LiveServerCodec.encode_audio``) every 20 ms on an
absolute schedule; sessions are spread over 20 phases 1 ms apart, as independent clients would be. The echo
answers every audio part with one audio part, in order, so the n-th audio frame back is the n-th chunk's echo.
Whatever has not come back ``DRAIN_SECONDS`` after the last send is lost. picows and uvloop keep the generator
light, so one process drives a few hundred sessions on one core.
"""

from __future__ import annotations

import asyncio
import collections
import json
import math
import sys
import time

from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from desktop.protocols.live_server import LiveServerCodec

__all__ = ["main", "run"]

CHUNK_SECONDS = 0.020
PHASES = 20
DRAIN_SECONDS = 3.0
CONNECT_TIMEOUT = 30.0


def _chunk() -> bytes:
    samples = [int(3000 * math.sin(2 * math.pi * 440 * n / 16000)) for n in range(320)]
    return b"".join(s.to_bytes(2, "little", signed=True) for s in samples)


class _Session(WSListener):
    def __init__(self) -> None:
        super().__init__()
        self.sent_at: collections.deque[float] = collections.deque()
        self.latencies: list[float] = []
        self.sent = 0
        self.echoed = 0
        self.transport: WSTransport | None = None

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.CLOSE:
            transport.disconnect()
            return
        if frame.msg_type is not WSMsgType.TEXT:
            return
        payload = frame.get_payload_as_bytes()
        if b'"inline_data"' in payload:
            self.echoed += 1
            if self.sent_at:
                self.latencies.append(time.perf_counter() - self.sent_at.popleft())

    def send(self, frame: bytes) -> None:
        self.sent_at.append(time.perf_counter())
        self.transport.send(WSMsgType.TEXT, frame)
        self.sent += 1


def _percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return math.nan
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


async def run(url: str, sessions: int, seconds: float) -> dict[str, float]:
    """Drive ``sessions`` real-time streams for ``seconds``; the figures described in the module docstring."""
    frame = LiveServerCodec().encode_audio(_chunk())[0].encode()
    clients: list[_Session] = []
    async with asyncio.timeout(CONNECT_TIMEOUT):
        for start in range(0, sessions, 50):  # in batches: a server's accept backlog is finite
            batch = await asyncio.gather(*(ws_connect(_Session, url, max_frame_size=16 * 1024 * 1024)
                                           for _ in range(start, min(sessions, start + 50))))
            clients += [listener for _transport, listener in batch]
    loop = asyncio.get_running_loop()
    cpu_start = time.process_time()
    phases = [clients[p::PHASES] for p in range(PHASES)]
    begin = loop.time() + 0.05
    max_slip = 0.0
    for k in range(round(seconds / CHUNK_SECONDS)):
        for p, group in enumerate(phases):
            due = begin + k * CHUNK_SECONDS + p * CHUNK_SECONDS / PHASES
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            max_slip = max(max_slip, loop.time() - due)
            for client in group:
                client.send(frame)
    deadline = loop.time() + DRAIN_SECONDS
    while loop.time() < deadline and any(c.echoed < c.sent for c in clients):
        await asyncio.sleep(0.02)
    cpu = time.process_time() - cpu_start
    for client in clients:
        client.transport.send_close()
        client.transport.disconnect()
    await asyncio.gather(*(c.transport.wait_disconnected() for c in clients), return_exceptions=True)
    latencies = sorted(x for c in clients for x in c.latencies)
    sent = sum(c.sent for c in clients)
    return {
        "sessions": sessions, "sent": sent, "echoed": sum(min(c.echoed, c.sent) for c in clients),
        "lost": sum(max(0, c.sent - c.echoed) for c in clients),
        "p50_ms": _percentile(latencies, 50) * 1e3, "p95_ms": _percentile(latencies, 95) * 1e3,
        "p99_ms": _percentile(latencies, 99) * 1e3, "max_ms": (latencies[-1] if latencies else math.nan) * 1e3,
        "max_slip_ms": max_slip * 1e3, "loadgen_cpu_s": cpu,
    }


def main(argv: list[str] | None = None) -> int:
    url, sessions, seconds = (argv or sys.argv[1:])[:3]
    try:
        import uvloop
        result = uvloop.run(run(url, int(sessions), float(seconds)))
    except ImportError:
        result = asyncio.run(run(url, int(sessions), float(seconds)))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
