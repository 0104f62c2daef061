"""One client and the embedded echo server talking over a jittery, lossy link, in a private network namespace.

Run as ``unshare -n python -m tests.net.shaped_link [seconds_shaped seconds_calm]`` (root): it brings ``lo``
up, shapes it with ``tc qdisc … netem delay 80ms 40ms loss 1%``, and runs the server and a client whose
Player plays to the default speaker (the private PulseAudio of tests/pulse.py, reached through the inherited
``PULSE_SERVER``). The client "speaks" 20 ms frames at real time (as the mic does) and types a few messages;
the echo comes back over the shaped link into the adaptive jitter buffer. Then the link calms (the qdisc is
removed) and the client speaks again. One JSON object of figures goes to stdout (the test asserts, the bench
prints).

Where the kernel has no ``sch_netem`` (``tc`` answers "Specified qdisc kind is unknown"), the same delay,
jitter and loss are made by :class:`JitterRelay`, a TCP relay inside the namespace between client and server
that holds each chunk 80 ± 40 ms, in order (as TCP delivers), and 1 % of them ~200 ms more (a retransmission
after a lost segment); ``"shaping"`` in the output says which one ran.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import subprocess
import sys
import time
from typing import Any

import numpy as np

from desktop.audio.playback import Player
from desktop.processors.echo import EchoProcessor
from desktop.protocols.events import Audio, TurnComplete
from desktop.protocols.live_server import LiveServerCodec
from desktop.server import LiveServer
from desktop.session import Session, TextAnswered

__all__ = ["JitterRelay", "main"]

NETEM = ["netem", "delay", "80ms", "40ms", "loss", "1%"]
FRAME_S = 0.02
RATE = 16000
TURN_S = 3.0  # spoken turns this long: the jitter target applies as each reply starts playing


def sh(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def retransmitted_segments() -> int:
    """TCP segments retransmitted in this namespace (/proc/net/snmp is per namespace): the loss, as TCP saw it."""
    with open("/proc/net/snmp") as snmp:
        rows = [line.split() for line in snmp if line.startswith("Tcp:")]
    return int(rows[1][rows[0].index("RetransSegs")])


class CountingEcho(EchoProcessor):
    """The echo processor, counting the audio bytes that reached the server."""

    received = 0

    async def __call__(self, parts):
        async def counted():
            async for part in parts:
                if part.is_audio and part.data:
                    CountingEcho.received += len(part.data)
                yield part

        async for out in super().__call__(counted()):
            yield out


class JitterRelay:
    """A TCP relay that delays each chunk by ``delay ± jitter`` (in order) and ~1 % by a retransmission more."""

    def __init__(self, target_port: int, *, delay: float = 0.08, jitter: float = 0.04, loss: float = 0.01,
                 seed: int = 7) -> None:
        self.target_port = target_port
        self.delay, self.jitter, self.loss = delay, jitter, loss
        self.shaping = True
        self.losses = 0  # chunks held back as if a segment had been lost and retransmitted
        self._rng = random.Random(seed)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _due(self, last: float) -> float:
        if not self.shaping:
            return time.monotonic()
        extra = self.delay + self._rng.uniform(-self.jitter, self.jitter)
        if self._rng.random() < self.loss:
            extra += 0.2  # Linux's minimum retransmission timeout
            self.losses += 1
        return max(last, time.monotonic() + extra)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        pumps = [asyncio.create_task(self._pump(reader, up_writer)), asyncio.create_task(self._pump(up_reader, writer))]
        self._tasks.update(pumps)
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in pumps:
                task.cancel()
                self._tasks.discard(task)
            for w in (writer, up_writer):
                w.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(maxsize=10_000)

        async def deliver() -> None:
            while data := (item := await queue.get())[1]:  # b"": the other side closed, all delivered
                await asyncio.sleep(max(0.0, item[0] - time.monotonic()))
                writer.write(data)
                await writer.drain()

        sender = asyncio.create_task(deliver())
        last = 0.0
        try:
            while data := await reader.read(65536):
                last = self._due(last)
                await queue.put((last, data))
            await queue.put((last, b""))
            await sender
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender


async def run(shaped_s: float, calm_s: float) -> dict[str, Any]:
    sh("ip", "link", "set", "lo", "up")
    tc = sh("tc", "qdisc", "add", "dev", "lo", "root", *NETEM)
    shaping = "netem" if tc.returncode == 0 else "relay"
    server = LiveServer(lambda config: CountingEcho(config))
    await server.start()
    relay = None
    url = server.url
    if shaping == "relay":
        relay = JitterRelay(server.port)
        await relay.start()
        url = url.replace(f":{server.port}", f":{relay.port}")
    loop = asyncio.get_running_loop()
    player = Player(jitter_ms=60, jitter_max_ms=400)
    await asyncio.to_thread(player.start, loop=loop)
    answered: dict[int, int] = {}
    turns_complete = asyncio.Event()
    received_audio = [0]

    def on_event(event: Any) -> None:
        if isinstance(event, Audio):
            received_audio[0] += len(event.pcm)
            player.feed(event.pcm, event.rate)
        elif isinstance(event, TurnComplete):
            player.mark_end()
            turns_complete.set()
        elif isinstance(event, TextAnswered):
            answered[event.message_id] = answered.get(event.message_id, 0) + 1

    session = Session(LiveServerCodec({}), url, on_event=on_event)
    session.start()
    timeline: list[tuple[float, float, float]] = []  # (t, target ms, buffered ms)
    started = time.monotonic()
    tone = (np.sin(2 * np.pi * 440 * np.arange(int(RATE * FRAME_S)) / RATE) * 6000).astype("<i2").tobytes()
    sent_bytes = 0
    typed: list[int] = []
    try:
        async with asyncio.timeout(30):
            while not session.connected:
                await asyncio.sleep(0.02)

        async def speak(seconds: float, phase: str) -> None:
            nonlocal sent_bytes
            await asyncio.sleep(0.5)  # a pause between turns: the next reply starts on the target of the time
            session.activity_start()
            t0 = time.monotonic()
            for i in range(int(seconds / FRAME_S)):
                await asyncio.sleep(max(0.0, t0 + i * FRAME_S - time.monotonic()))  # the mic's real-time pace
                session.send_audio(tone)
                sent_bytes += len(tone)
                if i % 5 == 0:
                    timeline.append((time.monotonic() - started, player.target_ms, player.buffered_ms))
            turns_complete.clear()
            session.audio_end()
            # Typed between spoken turns (each its own turn on the echo server), over the same link.
            typed.append(session.send_text(f"{phase} message {len(typed)}"))

        for _ in range(max(1, round(shaped_s / TURN_S))):
            await speak(shaped_s / max(1, round(shaped_s / TURN_S)), "shaped")
        peak_target = player.target_ms
        underruns_shaped = player.underruns
        retrans = retransmitted_segments()
        if shaping == "netem":
            sh("tc", "qdisc", "del", "dev", "lo", "root")
        elif relay is not None:
            relay.shaping = False
        await asyncio.sleep(1.0)  # what was in flight on the shaped link arrives
        for _ in range(max(1, round(calm_s / TURN_S))):
            await speak(calm_s / max(1, round(calm_s / TURN_S)), "calm")
        async with asyncio.timeout(30):  # every typed text answered, every frame at the server
            while len(answered) < len(typed) or CountingEcho.received < sent_bytes:
                await asyncio.sleep(0.05)
        calm_target = player.target_ms
        return {
            "shaping": shaping,
            "tc_error": tc.stderr.strip(),
            "sent_frames": sent_bytes // len(tone),
            "server_frames": CountingEcho.received // len(tone),
            "typed": len(typed),
            "answered": {str(k): v for k, v in answered.items()},
            "received_audio_s": received_audio[0] / 2 / 24000,
            "audio_dropped": session.audio_dropped,
            "jitter_ms": player.jitter_ms,
            "peak_target_ms": player.jitter.stats().peak_target_ms,
            "target_after_shaped_ms": peak_target,
            "target_after_calm_ms": calm_target,
            "grows": player.jitter.grows,
            "shrinks": player.jitter.shrinks,
            "underruns": player.underruns,
            "underruns_shaped": underruns_shaped,
            "stall_ms": player.stall_ms,
            "added_latency_ms": player.added_latency_ms,
            "retransmitted_segments": retrans,
            "emulated_losses": relay.losses if relay is not None else 0,
            "timeline": timeline,
        }
    finally:
        await session.close()
        player.close()
        if relay is not None:
            await relay.close()
        await server.close()


def main(argv: list[str]) -> int:
    shaped_s, calm_s = (float(argv[0]), float(argv[1])) if len(argv) >= 2 else (8.0, 8.0)
    result = asyncio.run(run(shaped_s, calm_s))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
