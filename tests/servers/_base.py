"""What the reference-like test servers share: lifecycle, per-connection tasks, a standalone runner.

Each server imitates one public sample's *wire behaviour* (see ``../shared/protocols.md``)
with an echo in place of the model, so codecs and the session can be tested over real
127.0.0.1 sockets without the sample's dependencies or an API key.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from http import HTTPStatus
from typing import Any, Self

import numpy as np
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from desktop.audio.dsp import resample_pcm16

__all__ = ["Connection", "ReferenceServer", "VoiceActivity", "run_standalone", "split", "to_24k", "tone", "words"]

MAX_SIZE = 4 * 1024 * 1024


class ReferenceServer:
    """Base of the test servers: ``async with Server() as srv: srv.url``.

    Subclasses implement :meth:`check_request` (refuse a handshake like the
    reference does) and :meth:`serve_connection`.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, delay: float = 0.005) -> None:
        self.host = host
        self.port = port
        #: Seconds between streamed reply pieces (raise it to have time to interrupt).
        self.delay = delay
        #: Request paths of the accepted connections, in order.
        self.paths: list[str] = []
        #: Frames sent to clients so far, all connections together (tests wait on it).
        self.frames_sent = 0
        self._sent_changed = asyncio.Event()
        #: Connections open now.
        self.live: set[Connection] = set()
        self._server: Server | None = None

    @property
    def url(self) -> str:
        """The bare base URL, e.g. ``ws://127.0.0.1:41234``."""
        return f"ws://{self.host}:{self.port}"

    async def __aenter__(self) -> Self:
        self._server = await serve(self._handle, self.host, self.port, process_request=self._process_request,
                                   max_size=MAX_SIZE, ping_interval=None)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def wait_sent(self, frames: int, timeout: float = 10.0) -> None:
        """Wait until at least ``frames`` frames have been sent to clients."""
        async with asyncio.timeout(timeout):
            while self.frames_sent < frames:
                self._sent_changed.clear()
                await self._sent_changed.wait()

    async def broadcast(self, frame: str | bytes) -> None:
        """Send ``frame`` on every open connection (a marker that tells a test everything before it arrived)."""
        for conn in list(self.live):
            with contextlib.suppress(ConnectionClosed):
                await conn.send(frame)

    def _count_sent(self) -> None:
        self.frames_sent += 1
        self._sent_changed.set()

    async def serve_forever(self) -> None:
        assert self._server is not None
        await self._server.serve_forever()

    # -- to override -------------------------------------------------------------------

    def check_request(self, path: str) -> str | None:
        """Why the handshake for ``path`` (with query) is refused, or None to accept it."""
        return None

    async def serve_connection(self, conn: Connection) -> None:
        raise NotImplementedError

    # -- plumbing ---------------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        reason = self.check_request(request.path)
        if reason is None:
            return None
        # FastAPI/uvicorn answer a websocket closed before accept() with HTTP 403.
        return connection.respond(HTTPStatus.FORBIDDEN, reason + "\n")

    async def _handle(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request is not None else "/"
        self.paths.append(path)
        conn = Connection(ws, path, self.delay, on_sent=self._count_sent)
        self.live.add(conn)
        try:
            await self.serve_connection(conn)
        except ConnectionClosed:
            pass
        finally:
            self.live.discard(conn)
            await conn.cancel_tasks()


class Connection:
    """One client connection: send helpers and the background reply tasks it owns."""

    def __init__(self, ws: ServerConnection, path: str, delay: float,
                 on_sent: Callable[[], None] = lambda: None) -> None:
        self.ws = ws
        self.on_sent = on_sent
        self.path = path
        self.delay = delay
        self.reply: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def send(self, frame: str | bytes) -> None:
        await self.ws.send(frame)
        self.on_sent()

    async def pause(self) -> None:
        await asyncio.sleep(self.delay)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(self._quietly(coro))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _: coro.close())  # cancelled before it started: no "never awaited"
        return task

    def start_reply(self, coro: Coroutine[Any, Any, None]) -> None:
        self.reply = self.spawn(coro)

    @property
    def replying(self) -> bool:
        return self.reply is not None and not self.reply.done()

    async def stop_reply(self) -> bool:
        """Cancel a reply in progress; True when there was one (the caller reports the interruption)."""
        if not self.replying:
            return False
        assert self.reply is not None
        self.reply.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.reply
        return True

    async def die(self, reason: str) -> None:
        """The reference's upstream task raised: the endpoint returns and the socket closes."""
        await self.cancel_tasks()
        await self.ws.close(1011, reason[:120])

    async def cancel_tasks(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @staticmethod
    async def _quietly(coro: Awaitable[None]) -> None:
        with contextlib.suppress(ConnectionClosed):
            await coro


# -- audio and text helpers ----------------------------------------------------------------


class VoiceActivity:
    """Ends a spoken turn the way the Live API's own VAD does: only after it *hears* silence.

    ``feed(pcm)`` returns True once speech has been followed by ``silence`` seconds of quiet
    samples. Audio that simply stops arriving ends nothing, which is what a server built on the
    ADK samples or ai-proxy-core does with a push-to-talk client that sends no trailing silence.
    """

    def __init__(self, rate: int = 16000, silence: float = 0.5, threshold: float = 300.0) -> None:
        self.rate = rate
        self.silence = silence
        self.threshold = threshold
        self.heard_speech = False
        self._quiet_samples = 0

    def feed(self, pcm: bytes) -> bool:
        samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float32)
        if not samples.size:
            return False
        if float(np.sqrt(np.mean(samples * samples))) >= self.threshold:
            self.heard_speech, self._quiet_samples = True, 0
            return False
        if not self.heard_speech:
            return False
        self._quiet_samples += samples.size
        if self._quiet_samples < self.silence * self.rate:
            return False
        self.heard_speech, self._quiet_samples = False, 0
        return True



def tone(rate: int, seconds: float, freq: float = 440.0) -> bytes:
    """A quiet sine as PCM16 mono, for replies to typed turns in audio mode."""
    t = np.arange(int(rate * seconds)) / rate
    return (0.2 * 32767 * np.sin(2 * np.pi * freq * t)).astype("<i2").tobytes()


def to_24k(pcm: bytes, src_rate: int = 16000) -> bytes:
    """Resample user audio to the 24 kHz that Gemini (and so every sample) sends back."""
    return resample_pcm16(pcm[: len(pcm) // 2 * 2], src_rate, 24000)


def split(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def words(text: str) -> list[str]:
    """``"a b c"`` -> ``["a", " b", " c"]``: deltas that concatenate back to the text."""
    pieces = text.split(" ")
    return [pieces[0]] + [" " + piece for piece in pieces[1:]]


# -- standalone runner -------------------------------------------------------------------------


def run_standalone(factory: Callable[..., ReferenceServer], description: str,
                   argv: list[str] | None = None) -> None:
    """``python -m tests.servers.X --port N``: print the URL as the first line, stop on SIGINT."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--delay", type=float, default=0.02, help="seconds between streamed reply pieces")
    parser.add_argument("--vad-only", action="store_true",
                        help="end spoken turns only after hearing silence, like the real service")
    args = parser.parse_args(argv)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        options = {"vad_only": True} if args.vad_only else {}
        async with factory(args.host, args.port, delay=args.delay, **options) as server:
            print(server.url, flush=True)
            await stop.wait()
        print("stopped", file=sys.stderr, flush=True)

    asyncio.run(main())
