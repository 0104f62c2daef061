"""A session with a voice server: one codec over one (re)connecting WebSocket.

The session owns the socket and nothing else: it turns intents (audio, text,
mic off, reset) into frames through its codec, turns received frames into
events, and reconnects with exponential backoff and jitter when the connection
drops. Consumers get two callbacks, both called on the event loop:

- ``on_event(event)`` for decoded :mod:`~desktop.protocols.events` and the
  session's own :class:`TextDelivered`;
- ``on_status(ConnectionStatus)`` whenever the connection state changes.

Nothing typed is lost silently: text sent while disconnected waits in a queue
and is delivered (and reported with :class:`TextDelivered`) after the next
connect. Text written just before the connection dropped, which the server
never answered, is sent again on the next connection (at worst the server sees
it twice; it is never silently dropped). Microphone audio is real-time and is *not* queued across a
disconnect: stale speech would only confuse the model.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import enum
import itertools
import logging
import random
from collections.abc import Callable, Mapping

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from desktop import redact
from desktop.errors import AuthRefused, ConnectFailed, InvalidEndpoint
from desktop.protocols.base import Codec, Frame, split_ws_url
from desktop.protocols.events import Audio, Event, Interrupted, SessionUpdate, Transcript, TurnComplete

__all__ = ["Backoff", "ConnectionState", "ConnectionStatus", "Session", "TextDelivered"]

log = logging.getLogger(__name__)
redact.install()

MAX_RECEIVE_SIZE = 16 * 1024 * 1024
GOING_AWAY = "The server is going away; reconnecting"
AUDIO_BACKLOG_FRAMES = 100  # 2 s of 20 ms parts; older audio is dropped when the socket can't keep up


class ConnectionState(enum.Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"  # waiting out a backoff delay
    DISCONNECTED = "disconnected"  # closed for good (by us, or refused)
    ERROR = "error"  # will not retry: the user must change something


@dataclasses.dataclass(frozen=True, slots=True)
class ConnectionStatus:
    state: ConnectionState
    reason: str = ""
    retry_in: float | None = None  # seconds until the next attempt, while RECONNECTING
    attempt: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class TextDelivered(Event):
    """A typed turn queued with :meth:`Session.send_text` has been written to the socket."""

    message_id: int


@dataclasses.dataclass(slots=True)
class Backoff:
    """Exponential backoff with full jitter, capped."""

    initial: float = 0.5
    factor: float = 2.0
    cap: float = 30.0
    rng: random.Random = dataclasses.field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        ceiling = min(self.cap, self.initial * self.factor ** max(0, attempt - 1))
        return self.rng.uniform(ceiling / 2, ceiling)


class Session:
    """Connect ``codec`` to ``url`` and keep it connected until :meth:`close`."""

    def __init__(
        self,
        codec: Codec,
        url: str,
        *,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        on_event: Callable[[Event], None] = lambda event: None,
        on_status: Callable[[ConnectionStatus], None] = lambda status: None,
        reconnect: bool = True,
        backoff: Backoff | None = None,
        open_timeout: float = 10.0,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 60.0,  # generous: a busy GUI loop must not look like a dead peer
    ) -> None:
        split_ws_url(url)  # fail early, with a readable message, on a bad URL
        self.codec = codec
        self.url = codec.url(url, token=token)
        self.headers = {**codec.headers(token=token), **dict(headers or {})}
        self.on_event = on_event
        self.on_status = on_status
        self.reconnect = reconnect
        self.backoff = backoff or Backoff()
        self.open_timeout = open_timeout
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.status = ConnectionStatus(ConnectionState.CONNECTING)
        self.audio_dropped = 0  # 20 ms parts dropped while disconnected or backlogged

        self._ws: ClientConnection | None = None
        self._texts: collections.deque[tuple[int, str]] = collections.deque()
        # Written to the socket, but the server has not answered anything since: if the connection drops now,
        # the text may have died with it, so it is sent again on the next connection.
        self._unanswered: list[tuple[int, str]] = []
        self._control: collections.deque[list[Frame]] = collections.deque()
        self._audio: collections.deque[Frame] = collections.deque(maxlen=AUDIO_BACKLOG_FRAMES)
        self._wakeup = asyncio.Event()
        self._retry_now = asyncio.Event()
        self._ids = itertools.count(1)
        self._task: asyncio.Task[None] | None = None
        self._idle_timer: asyncio.TimerHandle | None = None
        self._turn_open = False
        self._closing = False
        self._going_away = False

    # -- intents (call on the loop thread) -------------------------------------------

    @property
    def connected(self) -> bool:
        return self.status.state is ConnectionState.CONNECTED

    def send_audio(self, pcm: bytes) -> None:
        """PCM16 mono at ``codec.info.send_rate``; dropped (and counted) while disconnected."""
        if not self.connected:
            self.audio_dropped += 1
            return
        frames = self.codec.encode_audio(pcm)
        if len(self._audio) + len(frames) > AUDIO_BACKLOG_FRAMES:
            self.audio_dropped += 1
        self._audio.extend(frames)
        self._wakeup.set()

    def send_text(self, text: str) -> int:
        """Queue a typed turn; returns an id reported back by :class:`TextDelivered`."""
        message_id = next(self._ids)
        self._texts.append((message_id, text))
        self._wakeup.set()
        return message_id

    def audio_end(self) -> None:
        self._queue_control(self.codec.encode_audio_end())

    def activity_start(self) -> None:
        self._queue_control(self.codec.encode_activity_start())

    def reset(self) -> None:
        self._queue_control(self.codec.encode_reset())

    def retry_now(self) -> None:
        """Skip the rest of the backoff delay."""
        self._retry_now.set()

    @property
    def pending_texts(self) -> list[tuple[int, str]]:
        return list(self._texts)

    def _queue_control(self, frames: list[Frame]) -> None:
        # Control frames only make sense on the connection they belong to.
        if frames and self.connected:
            self._control.append(frames)
            self._wakeup.set()

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name=f"session {self.codec.info.name}")
        return self._task

    async def close(self) -> None:
        self._closing = True
        self._retry_now.set()
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._cancel_idle_timer()
        self._set_status(ConnectionStatus(ConnectionState.DISCONNECTED, "Closed"))

    async def run(self) -> None:
        """Connect, serve, and reconnect until closed or refused."""
        attempt = 0
        while not self._closing:
            attempt += 1
            self._set_status(ConnectionStatus(
                ConnectionState.CONNECTING, "Connecting…" if attempt == 1 else "Reconnecting…", None, attempt))
            try:
                ws = await self._connect()
            except AuthRefused as exc:
                self._set_status(ConnectionStatus(ConnectionState.ERROR, str(exc), None, attempt))
                return
            except ConnectFailed as exc:
                reason = str(exc)
            else:
                attempt = 0
                reason = await self._serve(ws)
                if reason == GOING_AWAY and not self._closing:
                    continue  # reconnect at once: the server asked us to move, nothing failed
            if self._closing:
                break
            if not self.reconnect:
                self._set_status(ConnectionStatus(ConnectionState.DISCONNECTED, reason))
                return
            await self._wait_backoff(max(attempt, 1), reason)

    async def _connect(self) -> ClientConnection:
        try:
            return await connect(
                self.url,
                additional_headers=self.headers or None,
                open_timeout=self.open_timeout,
                ping_interval=self.ping_interval,
                ping_timeout=self.ping_timeout,
                max_size=MAX_RECEIVE_SIZE,
                user_agent_header="voice-desktop",
            )
        except InvalidStatus as exc:
            code = exc.response.status_code
            if code in (401, 403):
                raise AuthRefused(f"The server refused the connection (HTTP {code}): "
                                  "check the token or API key in Settings.") from None
            raise ConnectFailed(f"The server answered HTTP {code} instead of accepting a WebSocket.") from None
        except InvalidURI as exc:
            raise InvalidEndpoint(str(exc)) from None
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            raise ConnectFailed(_describe_connect_error(exc)) from None

    async def _serve(self, ws: ClientConnection) -> str:
        """Run one connection until it closes; return why it ended."""
        self._ws = ws
        self._going_away = False
        self._control.clear()
        self._audio.clear()
        try:
            for frame in self.codec.open():
                await ws.send(frame)
        except ConnectionClosed:
            self._ws = None
            return _describe_close(ws)
        self._set_status(ConnectionStatus(ConnectionState.CONNECTED))
        tasks = {asyncio.create_task(self._receive(ws)), asyncio.create_task(self._send(ws))}
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if self._going_away:
                return GOING_AWAY
            for task in done:
                error = task.exception()
                if error is not None and not isinstance(error, ConnectionClosed):
                    log.error("Session task failed", exc_info=error)
                    return f"Internal error: {error}"
            return _describe_close(ws)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await ws.close()
            self._ws = None
            if self._unanswered:
                log.info("Re-sending %d typed turn(s) the server never answered", len(self._unanswered))
                self._texts.extendleft(reversed(self._unanswered))
                self._unanswered.clear()
                self._wakeup.set()
            if self._turn_open:
                # The reply was cut off with the connection: end the turn so the UI and player move on.
                self._turn_open = False
                self._cancel_idle_timer()
                self._emit(Interrupted(connection_lost=True))

    async def _receive(self, ws: ClientConnection) -> None:
        async for frame in ws:
            for event in self.codec.decode(frame):
                if self._unanswered and isinstance(event, (Audio, Transcript, TurnComplete, Interrupted)):
                    self._unanswered.clear()
                self._track_turn(event)
                self._emit(event)
                if isinstance(event, SessionUpdate) and event.going_away:
                    self._going_away = True
            if self._going_away and not self._turn_open:
                return  # the server is leaving: move now, between turns, rather than be cut off mid-reply

    async def _send(self, ws: ClientConnection) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._control or self._texts or self._audio:
                if self._control:
                    for frame in self._control.popleft():
                        await ws.send(frame)
                elif self._texts:
                    message_id, text = self._texts[0]
                    for frame in self.codec.encode_text(text):
                        await ws.send(frame)
                    self._unanswered.append(self._texts.popleft())
                    self._emit(TextDelivered(message_id))
                else:
                    await ws.send(self._audio.popleft())

    async def _wait_backoff(self, attempt: int, reason: str) -> None:
        delay = self.backoff.delay(attempt)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + delay
        self._retry_now.clear()
        self._set_status(ConnectionStatus(ConnectionState.RECONNECTING, reason, delay, attempt))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._retry_now.wait(), timeout=max(0.0, deadline - loop.time()))

    # -- turn tracking -------------------------------------------------------------------

    def _track_turn(self, event: Event) -> None:
        if isinstance(event, (Audio, Transcript)):
            self._turn_open = True
            gap = self.codec.info.turn_idle_gap
            if not self.codec.info.has_turn_events and gap:
                self._cancel_idle_timer()
                self._idle_timer = asyncio.get_running_loop().call_later(gap, self._end_idle_turn)
        elif isinstance(event, (TurnComplete, Interrupted)):
            self._turn_open = False
            self._cancel_idle_timer()

    def _end_idle_turn(self) -> None:
        self._idle_timer = None
        if self._turn_open:
            self._turn_open = False
            self._emit(TurnComplete())

    def _cancel_idle_timer(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    def _emit(self, event: Event) -> None:
        try:
            self.on_event(event)
        except Exception:  # a consumer's bug must not cost the connection
            log.exception("Event handler failed on %r", type(event).__name__)

    def _set_status(self, status: ConnectionStatus) -> None:
        self.status = status
        log.info("Connection %s: %s", status.state.value, status.reason)
        try:
            self.on_status(status)
        except Exception:
            log.exception("Status handler failed")


def _describe_connect_error(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "Connection refused: is the server running?"
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return "The server did not answer in time."
    if isinstance(exc, OSError) and exc.errno is not None and "Name or service" in str(exc):
        return f"Unknown host: {exc.strerror}"
    if isinstance(exc, OSError):
        return f"Cannot reach the server: {exc.strerror or exc}"
    return f"The WebSocket handshake failed: {exc}"


def _describe_close(ws: ClientConnection) -> str:
    code, reason = ws.close_code, ws.close_reason
    if code is None:
        return "Connection lost"
    if code == 1000:
        return "The server closed the connection" + (f": {reason}" if reason else "")
    if code == 1006:
        return "Connection lost (the server went away)"
    if code == 1009:
        return "A message was larger than the server accepts (1009)"
    return f"The connection closed (code {code}{': ' + reason if reason else ''})"
