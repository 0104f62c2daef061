"""A WebSocket server speaking genai-processors' ``live_server`` protocol.

Differences from the reference, all on the side of safety:

- it binds loopback by default and requires a per-launch token (``?token=``),
  refusing the handshake with HTTP 401 otherwise; ``require_token=False`` is
  for stock clients and is logged loudly;
- a browser ``Origin`` not on the allowlist is refused with HTTP 403;
- a malformed frame is answered with an error part and the connection and the
  processor keep going (the reference restarts the processor);
- a processor that fails is restarted lazily, when the next input arrives, so a
  processor that cannot start (say, a missing API key) does not spin.

Per connection, one reader task feeds the current *run* (a processor built by
``factory(config)``) through a bounded queue; a config or reset cancels the
run and starts another. Everything the run yields is sent in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
import urllib.parse
from collections.abc import AsyncIterator, Iterable, Mapping
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from desktop import redact
from desktop.parts import Part
from desktop.processors import ProcessorFactory
from desktop.protocols.live_server import Configure, FrameError, Reset, parse_client_frame, serialize_part

__all__ = ["DEFAULT_MAX_SIZE", "LiveServer"]

log = logging.getLogger(__name__)
redact.install()

DEFAULT_MAX_SIZE = 2 * 1024 * 1024  # the reference server's limit
INPUT_QUEUE_PARTS = 256  # ~5 s of 20 ms audio; above it the reader waits (backpressure on the socket)
_END = object()


class LiveServer:
    """The embedded server. Use as ``async with LiveServer(factory) as server: server.url``."""

    def __init__(
        self,
        factory: ProcessorFactory,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        require_token: bool = True,
        allowed_origins: Iterable[str] = (),
        max_size: int = DEFAULT_MAX_SIZE,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        self.factory = factory
        self.host = host
        self.port = port
        self.require_token = require_token
        self.token = (token or secrets.token_urlsafe(24)) if require_token else None
        self.allowed_origins = list(allowed_origins)
        self.max_size = max_size
        self.default_config = dict(config or {})
        self._server: Server | None = None
        self._connections: set[_Connection] = set()

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        if not self.require_token:
            log.warning("AUTHENTICATION IS OFF: any program that can reach %s:%s can use this server "
                        "(and your API key, if it runs Gemini).", self.host, self.port)
        self._server = await serve(
            self._handle,
            self.host,
            self.port,
            max_size=self.max_size,
            # Base64 audio barely deflates; on loopback compression costs ~30% CPU and latency (bench/).
            compression=None,
            # None admits clients that send no Origin (everything but browsers).
            origins=[None, *self.allowed_origins],
            process_request=self._check_token,
            server_header="voice-desktop",
        )
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("live_server listening on %s", self.public_url)

    async def close(self) -> None:
        """Stop accepting, close every session (code 1001) and wait for their runs to end."""
        if self._server is None:
            return
        self._server.close(close_connections=True)
        await self._server.wait_closed()
        for connection in list(self._connections):
            await connection.stop()
        self._server = None

    async def __aenter__(self) -> LiveServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def serve_forever(self) -> None:
        assert self._server is not None, "call start() first"
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        """The URL a client should open, token included."""
        host = self.host if self.host not in ("", "0.0.0.0", "::") else "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        query = f"?{urllib.parse.urlencode({'token': self.token})}" if self.token else ""
        return f"ws://{host}:{self.port}/{query}"

    @property
    def public_url(self) -> str:
        """:attr:`url` with the token masked, for logs."""
        return self.url.replace(self.token, "***") if self.token else self.url

    # -- handshake ---------------------------------------------------------------

    def _check_token(self, connection: ServerConnection, request: Request) -> Response | None:
        if not self.require_token:
            return None
        query = urllib.parse.urlsplit(request.path).query
        given = urllib.parse.parse_qs(query).get("token", [""])[0]
        if hmac.compare_digest(given.encode(), (self.token or "").encode()):
            return None
        log.warning("Refused a connection from %s: %s token", connection.remote_address,
                    "wrong" if given else "missing")
        return connection.respond(HTTPStatus.UNAUTHORIZED, "A valid ?token= is required.\n")

    # -- sessions ----------------------------------------------------------------

    async def _handle(self, websocket: ServerConnection) -> None:
        connection = _Connection(websocket, self.factory, dict(self.default_config))
        self._connections.add(connection)
        try:
            await connection.run()
        finally:
            self._connections.discard(connection)


class _Connection:
    """One client: a reader loop and the current processor run."""

    def __init__(self, websocket: ServerConnection, factory: ProcessorFactory, config: dict[str, Any]) -> None:
        self.ws = websocket
        self.factory = factory
        self.config = config
        self._run_task: asyncio.Task[None] | None = None
        self._carry_task: asyncio.Task[None] | None = None
        self._inbox: asyncio.Queue[object] | None = None

    async def run(self) -> None:
        log.info("Session opened from %s", self.ws.remote_address)
        try:
            await self._restart()
            async for frame in self.ws:
                await self._on_frame(frame)
        except ConnectionClosed:
            pass
        finally:
            await self.stop()
            log.info("Session from %s closed (%s)", self.ws.remote_address, self.ws.close_code)

    async def stop(self) -> None:
        task, self._run_task = self._run_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _on_frame(self, frame: str | bytes) -> None:
        try:
            message = parse_client_frame(frame)
        except FrameError as exc:
            log.info("Malformed frame from %s: %s", self.ws.remote_address, exc)
            await self._send(Part.error(f"Malformed frame ignored: {exc}"))
            return
        except Exception as exc:  # a parser bug must cost one frame, not the connection
            log.exception("Could not parse a frame from %s", self.ws.remote_address)
            await self._send(Part.error(f"Malformed frame ignored (internal error: {type(exc).__name__})"))
            return
        if isinstance(message, Configure):
            self.config = message.config
            log.info("Config received: %s", sorted(self.config))
            await self._restart()
        elif isinstance(message, Reset):
            log.info("Reset requested")
            await self._restart()
        elif isinstance(message, Part):
            if self._run_task is None:
                await self._restart()
            assert self._inbox is not None
            await self._inbox.put(message)

    async def _restart(self, carry: asyncio.Queue[object] | None = None) -> None:
        """Start a fresh processor; ``carry`` hands it the inputs a failed run left unread."""
        await self.stop()
        try:
            processor = self.factory(self.config)
        except Exception as exc:  # a bad config must not take the connection down
            log.exception("Processor factory failed")
            await self._send(Part.error(f"The processor could not start: {exc}"))
            return
        self._inbox = carry if carry is not None else asyncio.Queue(INPUT_QUEUE_PARTS)
        self._run_task = asyncio.create_task(self._run(processor, self._inbox))
        await self._send(Part.health_check())

    async def _run(self, processor: Any, inbox: asyncio.Queue[object]) -> None:
        async def parts() -> AsyncIterator[Part]:
            while (part := await inbox.get()) is not _END:
                yield part  # type: ignore[misc]

        try:
            async for part in processor(parts()):
                await self._send(part)
        except asyncio.CancelledError:
            raise
        except ConnectionClosed:
            return
        except Exception as exc:
            log.exception("Processor failed; it restarts with the next input")
            await self._send(Part.error(f"The processor failed: {exc}"))
        if self._inbox is inbox:
            self._run_task = None
            if not inbox.empty():
                # Inputs queued behind the failure (a typed turn, say) go to a fresh processor, not the bin.
                self._carry_task = asyncio.create_task(self._restart(carry=inbox))
            # Otherwise restart lazily with the next input, so a processor that cannot start does not spin.

    async def _send(self, part: Part) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(serialize_part(part))
