"""A WebSocket server speaking genai-processors' ``live_server`` protocol.

Differences from the reference, all on the side of safety:

- it binds loopback by default and requires a per-launch token (``?token=``, or
  ``Authorization: Bearer`` for a server behind a proxy that logs URLs),
  refusing the handshake with HTTP 401 otherwise; ``require_token=False`` is
  for stock clients and is logged loudly;
- a browser ``Origin`` not on the allowlist is refused with HTTP 403;
- a malformed frame is answered with an error part and the connection and the
  processor keep going (the reference restarts the processor);
- a processor that fails is restarted lazily, when the next input arrives, so a
  processor that cannot start (say, a missing API key) does not spin.

The transport is picows (a Cython WebSocket core with no per-frame task): at
the same load it costs about a quarter of the CPU websockets does, which is
most of the way to twice the reference's capacity (bench/). The per-connection
logic lives in :mod:`._session`; this module is the listener and handshake.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import urllib.parse
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from picows import (
    WSAutoPingStrategy,
    WSCloseCode,
    WSUpgradeRequest,
    WSUpgradeResponse,
    WSUpgradeResponseWithListener,
    ws_create_server,
)

from desktop import redact
from desktop.processors import ProcessorFactory

from ._session import SessionListener

__all__ = ["DEFAULT_MAX_SIZE", "LiveServer"]

log = logging.getLogger(__name__)
redact.install()  # websockets, for the clients in this process
redact.install(__name__, "picows.server")

DEFAULT_MAX_SIZE = 2 * 1024 * 1024  # the reference server's limit
KEEPALIVE_SECONDS = 20.0  # ping an idle client after this long; drop it if no pong this long after (websockets' 20/20)
HANDSHAKE_TIMEOUT = 10.0
_SERVER_HEADER = {"Server": "voice-desktop"}


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
        self._server: asyncio.Server | None = None
        self._closed: asyncio.Event | None = None
        self._sessions: set[SessionListener] = set()

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        if not self.require_token:
            log.warning("AUTHENTICATION IS OFF: any program that can reach %s:%s can use this server "
                        "(and your API key, if it runs Gemini).", self.host, self.port)
        self._closed = asyncio.Event()
        self._server = await ws_create_server(
            self._accept,
            self.host,
            self.port,
            # A frame above max_size closes the connection with 1009, as websockets does; fragmented messages are
            # bounded by the session, which assembles them.
            max_frame_size=self.max_size,
            websocket_handshake_timeout=HANDSHAKE_TIMEOUT,
            enable_auto_ping=True,
            auto_ping_idle_timeout=KEEPALIVE_SECONDS,
            auto_ping_reply_timeout=KEEPALIVE_SECONDS,
            auto_ping_strategy=WSAutoPingStrategy.PING_WHEN_IDLE,
            # An exception in our frame handler is a bug: log it and keep the connection (the session also
            # catches its own parser errors, so this is the last line).
            disconnect_on_exception=False,
            logger_name="server",
        )
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("live_server listening on %s", self.public_url)

    async def close(self) -> None:
        """Stop accepting, close every session (code 1001) and wait for their runs to end."""
        if self._server is None:
            return
        server, self._server = self._server, None
        server.close()
        sessions = list(self._sessions)
        for session in sessions:
            session.close(WSCloseCode.GOING_AWAY, "server shutting down")
        for session in sessions:
            await session.finished()
        await server.wait_closed()
        if self._closed is not None:
            self._closed.set()

    async def __aenter__(self) -> LiveServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def serve_forever(self) -> None:
        assert self._closed is not None, "call start() first"
        await self._closed.wait()

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

    def _accept(self, request: WSUpgradeRequest) -> WSUpgradeResponseWithListener:
        """Token, then Origin; a session listener for a request that passes both."""
        path = request.path.decode("latin-1")
        if log.isEnabledFor(logging.DEBUG):  # the redact filter masks ?token= and secret headers
            log.debug("< %s %s HTTP/1.1", request.method.decode("latin-1"), path)
            for name, value in request.headers.items():
                log.debug("< %s: %s", name, value)
        refused = (self._check_token(path, request.headers.get("Authorization"))
                   or self._check_origin(request.headers.get("Origin")))
        if refused is not None:
            status, text = refused
            return WSUpgradeResponseWithListener(
                WSUpgradeResponse.create_error_response(status, text.encode(), extra_headers=_SERVER_HEADER), None)
        session = SessionListener(self.factory, dict(self.default_config), max_size=self.max_size,
                                  on_open=self._sessions.add, on_closed=self._sessions.discard)
        return WSUpgradeResponseWithListener(WSUpgradeResponse.create_101_response(extra_headers=_SERVER_HEADER),
                                             session)

    def _check_token(self, path: str, authorization: str | None) -> tuple[HTTPStatus, str] | None:
        """The token as ``?token=`` (what live_server clients send) or ``Authorization: Bearer`` (which proxies
        do not log, unlike a URL: for a server reached through one)."""
        if not self.require_token:
            return None
        query = urllib.parse.urlsplit(path).query
        given = urllib.parse.parse_qs(query).get("token", [""])[0]
        scheme, _, bearer = (authorization or "").partition(" ")
        if not given and scheme.lower() == "bearer":
            given = bearer.strip()
        if hmac.compare_digest(given.encode(), (self.token or "").encode()):
            return None
        log.warning("Refused a connection: %s token", "wrong" if given else "missing")
        return HTTPStatus.UNAUTHORIZED, "A valid token is required: ?token= or Authorization: Bearer.\n"

    def _check_origin(self, origin: str | None) -> tuple[HTTPStatus, str] | None:
        # No Origin: not a browser (every other client). A browser page must be on the allowlist.
        if origin is None or origin in self.allowed_origins:
            return None
        log.warning("Refused a connection from Origin %r (not in the allowlist)", origin)
        return HTTPStatus.FORBIDDEN, "Origin not allowed.\n"
