"""(f) The client's own pipeline, through the real code on real PortAudio devices (tests/pulse.py):

* capture callback -> frame on the wire: a real :class:`Capture` feeds a real :class:`Session`; a receiver in
  another process (``bench/_arrival_stamps.py``) notes when the kernel received each frame;
* frame received -> samples handed to the output callback: a real :class:`Session` receives the embedded echo
  server's frames (sent at real time) and feeds a real :class:`Player`; the time from the ``Audio`` event to
  the output callback that hands that frame's first sample to the device (jitter buffer included);
* ``interrupted`` -> output silent: what ``interrupted`` does to the player (``flush()``) to the first output
  callback that writes silence.

Timestamps come from subclasses that note ``time.perf_counter()`` in the PortAudio callbacks and call the real
ones: the code measured is the code that ships.
"""

from __future__ import annotations

import asyncio
import collections
import json
import sys
import time
from pathlib import Path

import pytest

from desktop.audio.capture import Capture
from desktop.audio.playback import Player
from desktop.processors import get_factory
from desktop.protocols.events import Audio
from desktop.protocols.live_server import LiveServerCodec
from desktop.server import LiveServer
from desktop.session import Session
from tests.soak._support import CHUNK_SECONDS, chunk_16k, percentile, table

from . import _results

pytestmark = pytest.mark.bench

CAPTURE_SECONDS = 20.0  # ~1000 frames: a p99 of 200 would be the second-slowest frame
PLAY_SECONDS = 4.0
FLUSHES = 20
JITTER_MS = 60
ROOT = Path(__file__).parent.parent


class StampedCapture(Capture):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.last_callback_at = 0.0

    def _callback(self, indata, frames, time_info, status) -> None:
        self.last_callback_at = time.perf_counter()
        super()._callback(indata, frames, time_info, status)


class StampedPlayer(Player):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stamps: collections.deque[tuple[float, int, bool]] = collections.deque(maxlen=100_000)

    def _callback(self, outdata, frames, time_info, status) -> None:
        super()._callback(outdata, frames, time_info, status)
        self.stamps.append((time.perf_counter(), self.samples_played, not outdata.any()))


def _ms(values: list[float]) -> tuple[float, float]:
    return percentile(values, 50) * 1e3, percentile(values, 99) * 1e3


async def _capture_to_wire() -> list[float]:
    receiver = await asyncio.create_subprocess_exec(sys.executable, "-m", "bench._arrival_stamps",
                                                    stdout=asyncio.subprocess.PIPE, cwd=ROOT)
    try:
        url = (await asyncio.wait_for(receiver.stdout.readline(), 30)).decode().strip()
        session = Session(LiveServerCodec(), url, on_event=lambda e: None)
        session.start()
        async with asyncio.timeout(10):
            while not session.connected:
                await asyncio.sleep(0.01)
        stamps: list[float] = []
        capture = StampedCapture()
        to_real_time = time.time() - time.perf_counter()  # the receiver's kernel stamps are real time

        def on_chunk(chunk: bytes, level: float) -> None:
            stamps.append(capture.last_callback_at + to_real_time)
            session.send_audio(chunk)

        capture.start(loop=asyncio.get_running_loop(), on_chunk=on_chunk)
        await asyncio.sleep(CAPTURE_SECONDS)
        # What stopping flushes (the resampler's tail, padded) is sent when stop() asks, not on a callback:
        # timed from the last callback it would read 2-3 ms and, in a short run, set the p99 by itself.
        from_callbacks = len(stamps)
        await asyncio.to_thread(capture.stop)
        await session.close()
        line = (await asyncio.wait_for(receiver.stdout.readline(), 30)).decode()
    finally:
        if receiver.returncode is None:
            receiver.kill()
        await receiver.wait()
    arrivals = json.loads(line.removeprefix("arrivals "))
    assert len(arrivals) == len(stamps), f"{len(stamps)} chunks captured, {len(arrivals)} frames arrived"
    return [arrived - stamped for arrived, stamped in zip(arrivals, stamps, strict=True)][5:from_callbacks]


async def _receive_to_output() -> tuple[list[float], list[float]]:
    player = StampedPlayer(jitter_ms=JITTER_MS)
    player.start(loop=asyncio.get_running_loop())
    fed: list[tuple[float, int]] = []  # (time of the Audio event, index of the frame's first sample)

    def on_event(event) -> None:
        if isinstance(event, Audio):
            first = player._ring.write_index  # noqa: SLF001 - the bench reads the ring's position
            player.feed(event.pcm, event.rate)
            fed.append((time.perf_counter(), first))

    async with LiveServer(get_factory("echo")) as server:
        session = Session(LiveServerCodec(), server.url, on_event=on_event)
        session.start()
        async with asyncio.timeout(10):
            while not session.connected:
                await asyncio.sleep(0.01)
        loop = asyncio.get_running_loop()
        start, chunk = loop.time(), chunk_16k()
        for k in range(round(PLAY_SECONDS / CHUNK_SECONDS)):  # the echo answers at real time, as a voice does
            await asyncio.sleep(max(0.0, start + k * CHUNK_SECONDS - loop.time()))
            session.send_audio(chunk)
        await asyncio.sleep(0.5)
        latencies = []
        stamps = list(player.stamps)
        for fed_at, first in fed:
            handed = next((t for t, played, _silent in stamps if played > first and t >= fed_at), None)
            if handed is not None:
                latencies.append(handed - fed_at)

        silences = []
        for _ in range(FLUSHES):
            for _ in range(10):
                session.send_audio(chunk)
            async with asyncio.timeout(10):  # the adaptive jitter target may be above those 200 ms: keep talking
                while not player.is_playing:
                    session.send_audio(chunk)
                    await asyncio.sleep(CHUNK_SECONDS)
            await asyncio.sleep(0.05)
            flushed_at = time.perf_counter()
            player.flush()
            await asyncio.sleep(0.1)
            silent = next((t for t, _played, silent in list(player.stamps) if t > flushed_at and silent), None)
            if silent is not None:
                silences.append(silent - flushed_at)
            await asyncio.sleep(0.1)
        await session.close()
    await asyncio.to_thread(player.close)
    return latencies, silences


async def test_client_pipeline(pulse):
    wire = await _capture_to_wire()
    played, silenced = await _receive_to_output()
    rows = []
    for what, values in (("capture callback -> frame on the wire", wire),
                         (f"frame received -> samples to the output callback (jitter {JITTER_MS} ms)", played),
                         ("interrupted (flush) -> output silent", silenced)):
        p50, p99 = _ms(values)
        rows.append([what, len(values), p50, p99])
    print()
    print(table(["stage", "n", "p50 ms", "p99 ms"], rows,
                title="(f) Client pipeline through real PortAudio devices (PulseAudio null sink), 20 ms blocks."))
    (wire50, wire99), (play50, play99), (quiet50, quiet99) = _ms(wire), _ms(played), _ms(silenced)
    _results.record("client pipeline", "capture callback -> frame on the wire, p50 / p99",
                    f"{wire50:.2f} / {wire99:.2f}", "ms", "<= 1 ms", wire99 <= 1.0)
    _results.record("client pipeline", "frame received -> output callback, p50 / p99",
                    f"{play50:.0f} / {play99:.0f}", "ms", f"<= {JITTER_MS + 20} ms (jitter + 1 block)",
                    play99 <= JITTER_MS + 20)
    _results.record("client pipeline", "interrupted -> output silent, p50 / p99", f"{quiet50:.0f} / {quiet99:.0f}",
                    "ms", "<= 20 ms (1 block)", quiet99 <= 20)
