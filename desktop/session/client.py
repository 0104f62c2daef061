"""A session with a voice server: the thin asyncio shell around :class:`~.state.SessionCore`.

The core decides everything (send order, backlog, turns, typed-text bookkeeping, reconnect
policy); this module only moves frames between a websockets connection and the core, and sleeps
until the core's next deadline or retry time. Consumers get two callbacks, both called on the
event loop:

- ``on_event(event)`` for decoded :mod:`~desktop.protocols.events` and the session's own
  :class:`TextDelivered`, :class:`TextAnswered`, :class:`TextNotAnswered`, :class:`AudioDropped`;
- ``on_status(ConnectionStatus)`` whenever the connection state changes.

Every intent may be called at any time from the loop thread; frames are written by one sender
task, in the order the intents were made.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from desktop import redact
from desktop.errors import VoiceDesktopError
from desktop.protocols.base import Codec, split_ws_url
from desktop.protocols.events import Event

from .state import (
    STABLE_AFTER,
    Backoff,
    CloseVerdict,
    ConnectionStatus,
    SessionCore,
)

__all__ = ["Session"]  # the core's values are imported from desktop.session

log = logging.getLogger(__name__)
redact.install()

MAX_RECEIVE_SIZE = 16 * 1024 * 1024
#: A dead peer is noticed within PING_INTERVAL + PING_TIMEOUT + CLOSE_TIMEOUT (10) seconds: a ping
#: goes out after PING_INTERVAL of quiet, the pong is due PING_TIMEOUT later, and the closing
#: handshake with a peer that no longer answers is given up after CLOSE_TIMEOUT.
PING_INTERVAL = 4.0
PING_TIMEOUT = 4.0
CLOSE_TIMEOUT = 2.0


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
        ping_interval: float | None = PING_INTERVAL,
        ping_timeout: float | None = PING_TIMEOUT,
        close_timeout: float = CLOSE_TIMEOUT,
        stable_after: float = STABLE_AFTER,
        trailing_silence: float | None = None,
    ) -> None:
        split_ws_url(url)  # fail early, with a readable message, on a bad URL
        self.codec = codec
        self.url = codec.url(url, token=token)
        self.headers = {**codec.headers(token=token), **dict(headers or {})}
        self.on_event = on_event
        self.on_status = on_status
        self.open_timeout = open_timeout
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.close_timeout = close_timeout
        self.core = SessionCore(codec, reconnect=reconnect, backoff=backoff, stable_after=stable_after,
                                trailing_silence=trailing_silence)
        self._ws: ClientConnection | None = None
        self._wakeup = asyncio.Event()  # the core has a sooner deadline, a new retry time, or is closed
        self._slept_on: tuple[float | None, float | None, bool] | None = None  # what the sleeper waits for
        self._frames_ready = asyncio.Event()  # the core may have frames to send
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:  # the URL may carry a token
        return f"<Session {self.codec.info.name} {redact.redact(self.url)} {self.status.state.value}>"

    # -- reading -------------------------------------------------------------------------------

    @property
    def status(self) -> ConnectionStatus:
        return self.core.status

    @property
    def connected(self) -> bool:
        return self.core.connected

    @property
    def audio_dropped(self) -> int:
        return self.core.audio_dropped

    @property
    def round_trip_s(self) -> float | None:
        """The last keepalive ping's round trip (seconds), or None before the first pong / while disconnected."""
        ws = self._ws
        return ws.latency if ws is not None and ws.latency > 0 else None

    @property
    def pending_texts(self) -> list[tuple[int, str]]:
        return self.core.pending_texts

    @property
    def unanswered_texts(self) -> list[tuple[int, str]]:
        return self.core.unanswered_texts

    # -- intents (call on the loop thread) -------------------------------------------------------

    def send_audio(self, pcm: bytes) -> None:
        """PCM16 mono at ``codec.info.send_rate``; dropped (and counted) while disconnected."""
        self.core.send_audio(pcm)
        self._pump()

    def send_text(self, text: str) -> int:
        """Queue a typed turn; returns the id that TextDelivered/TextAnswered/TextNotAnswered carry."""
        message_id = self.core.send_text(text)
        self._pump()
        return message_id

    def audio_end(self) -> None:
        self.core.end_of_speech()
        self._pump()

    end_of_speech = audio_end

    def activity_start(self) -> None:
        self.core.activity_start()
        self._pump()

    def interrupt(self) -> None:
        self.core.interrupt()
        self._pump()

    def reset(self) -> None:
        self.core.reset()
        self._pump()

    def retry_now(self) -> None:
        """Skip the rest of the backoff delay."""
        self.core.retry_now(self._now())
        self._pump()

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name=f"session {self.codec.info.name}")
        return self._task

    async def close(self) -> None:
        """Close for good; unanswered texts are reported (TextNotAnswered) before the socket closes."""
        self.core.close(self._now())
        self._pump()
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._pump()

    async def run(self) -> None:
        """Connect, serve, and reconnect until closed or told not to."""
        try:
            await self._run()
        except Exception as exc:  # a task boundary: a bug here is shown as an error, not "Connecting…" forever
            log.exception("Session failed")
            if not self.core.finished:
                self.core.connect_failed(self._now(), f"Internal error: {type(exc).__name__}: {exc}", retry=False)
            self._pump()

    async def _run(self) -> None:
        while not self.core.finished:
            retry_at = self.core.next_retry_at()
            if retry_at is not None and retry_at > self._now():
                await self._sleep_until(retry_at)
                continue  # woken early (retry now, close, an intent): look again
            self.core.connecting(self._now())
            self._pump()
            try:
                ws = await self._connect()
            except _Refused as exc:
                self.core.connect_failed(self._now(), str(exc), retry=exc.retry)
                self._pump()
                continue
            if self.core.finished:  # closed while the handshake was in flight
                await ws.close()
                return
            self.core.connection_made(self._now())
            self._pump()
            await self._serve(ws)

    async def _connect(self) -> ClientConnection:
        try:
            return await connect(
                self.url,
                additional_headers=self.headers or None,
                open_timeout=self.open_timeout,
                ping_interval=self.ping_interval,
                ping_timeout=self.ping_timeout,
                close_timeout=self.close_timeout,
                max_size=MAX_RECEIVE_SIZE,
                user_agent_header="voice-desktop",
            )
        except InvalidStatus as exc:
            code = exc.response.status_code
            if code in (401, 403):
                raise _Refused(f"The server refused the connection (HTTP {code}): "
                               "check the token or API key in Settings.", retry=False) from None
            raise _Refused(f"The server answered HTTP {code} instead of accepting a WebSocket.") from None
        except InvalidURI as exc:
            raise _Refused(f"The server URL cannot be used: {exc}. Fix it in Settings.", retry=False) from None
        except VoiceDesktopError as exc:
            raise _Refused(str(exc), retry=False) from None
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            raise _Refused(_describe_connect_error(exc)) from None
        except Exception as exc:  # noqa: BLE001 - a task boundary: anything else is shown, not "Connecting…" forever
            log.exception("Connecting failed")
            raise _Refused(f"Could not connect: {type(exc).__name__}: {exc}", retry=False) from None

    async def _serve(self, ws: ClientConnection) -> None:
        """Run one connection until it closes, then tell the core why."""
        self._ws = ws
        tasks = {asyncio.create_task(self._receive(ws)), asyncio.create_task(self._send(ws)),
                 asyncio.create_task(self._timers())}
        verdict: CloseVerdict | None = None
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                error = task.exception()
                if error is not None and not isinstance(error, ConnectionClosed):
                    log.error("Session task failed", exc_info=error)
                    verdict = CloseVerdict(True, f"Internal error: {error}")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await ws.close()
            self._ws = None
        code, reason = _close_of(ws)
        self.core.connection_lost(self._now(), code, reason, verdict=verdict)
        self._pump()

    async def _receive(self, ws: ClientConnection) -> None:
        async for frame in ws:
            self.core.receive(frame, self._now())
            self._pump()
            if self.core.should_close:
                return  # the server is leaving: move now, between turns, rather than be cut off mid-reply

    async def _send(self, ws: ClientConnection) -> None:
        while True:
            self._frames_ready.clear()  # before looking, so an intent made while we send is not missed
            frames = self.core.data_to_send(1)
            if not frames:
                await self._frames_ready.wait()
                continue
            self._pump()  # TextDelivered, as the frame is handed over
            for frame in frames:
                await ws.send(frame)

    async def _timers(self) -> None:
        while True:
            await self._sleep_until(self.core.next_deadline())
            self.core.tick(self._now())
            self._pump()

    async def _sleep_until(self, deadline: float | None) -> None:
        """Sleep until ``deadline`` (loop time) or until woken by an intent or a frame."""
        self._wakeup.clear()
        self._slept_on = self._sleep_key()
        timeout = None if deadline is None else max(0.0, deadline - self._now())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout=timeout)

    # -- plumbing --------------------------------------------------------------------------------

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    def _pump(self) -> None:
        """Report what the core produced, and wake the tasks that may have work now."""
        for status in self.core.status_changes():
            log.info("Connection %s: %s", status.state.value, status.reason)
            try:
                self.on_status(status)
            except Exception:  # a consumer's bug must not cost the connection
                log.exception("Status handler failed")
        for event in self.core.events_received():
            try:
                self.on_event(event)
            except Exception:
                log.exception("Event handler failed on %r", type(event).__name__)
        if self._should_wake():
            self._wakeup.set()
        self._frames_ready.set()

    def _sleep_key(self) -> tuple[float | None, float | None, bool]:
        return self.core.next_deadline(), self.core.next_retry_at(), self.core.finished

    def _should_wake(self) -> bool:
        """Whether a sleeper must look again: the retry time or the closing changed, or the deadline came
        sooner. Not on every frame: waking would re-arm the sleeper's timer 50 times a second while talking
        and listening; a deadline that moved later is met by sleeping again when the old one passes."""
        if self._slept_on is None:
            return True
        deadline, retry_at, finished = self._sleep_key()
        slept_deadline, slept_retry_at, slept_finished = self._slept_on
        return (retry_at != slept_retry_at or finished != slept_finished
                or (deadline is not None and (slept_deadline is None or deadline < slept_deadline)))


class _Refused(Exception):
    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


def _close_of(ws: ClientConnection) -> tuple[int | None, str]:
    """The close code and reason, including ours when we gave up on a silent peer (keepalive)."""
    protocol = ws.protocol
    if protocol.close_rcvd is None and protocol.close_sent is not None and protocol.close_sent.code == 1011:
        return 1011, protocol.close_sent.reason
    return ws.close_code, ws.close_reason or ""


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
