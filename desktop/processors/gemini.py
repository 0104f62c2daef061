"""Gemini Live as a processor: our parts in, Gemini's voice, transcripts and turn markers out.

One ``client.aio.live.connect`` session per run, through the real google-genai SDK.
The I/O is three small tasks: a *pump* copies input parts into a bounded buffer
(so input is accepted while a connection is being re-made), a *sender* per
connection turns buffered parts into SDK calls, and a *receiver* maps each server
message to parts (:func:`~desktop.processors.gemini_mapping.to_parts`) into a
bounded output queue the processor yields from.

Long sessions survive: on ``goAway`` (after the reply in progress) or a dropped
connection the run reconnects with the latest session-resumption handle and says
so once with ``Part.state(notice=...)``. Bounded retries, then ``Part.error(...)``
in words a user can act on, and the processor ends (the server restarts it on the
next input). The API key comes from the caller or the environment, never from the
wire config, and is never logged.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import urllib.parse
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal

from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from websockets.exceptions import ConnectionClosed

from desktop import redact
from desktop.parts import Part

from .gemini_mapping import (
    DEFAULT_MODEL,
    MISSING_KEY_MESSAGE,
    Action,
    GeminiSettings,
    InputMapper,
    SendActivityEnd,
    SendActivityStart,
    SendAudio,
    SendAudioStreamEnd,
    SendText,
    build_connect_config,
    describe_error,
    parse_duration,
    resumption_handle,
    to_parts,
)

__all__ = [
    "RESTARTED_NOTICE",
    "RESUMED_NOTICE",
    "GeminiLiveProcessor",
    "GeminiSettings",
    "check_api_key",
    "create",
    "resolve_api_key",
]

log = logging.getLogger(__name__)

RESUMED_NOTICE = "Reconnected to Gemini Live (session resumed)"
RESTARTED_NOTICE = "Reconnected to Gemini Live (new session: the earlier conversation is forgotten)"
#: Waits before the 1st, 2nd and 3rd reconnection attempt; then the run gives up.
RETRY_DELAYS: tuple[float, ...] = (0.25, 1.0, 2.0)
CONNECT_TIMEOUT = 15.0  # the SDK waits for ``setupComplete`` without a limit of its own
DRAIN_TIMEOUT = 10.0  # after the input ends, how long to wait for the reply in progress
GO_AWAY_MARGIN = 1.0  # reconnect this long before the service's deadline
HANDLE_WAIT = 2.0  # after goAway and the reply, how long to wait for a fresh resumption handle
STOP_TIMEOUT = 2.0  # how long a stopped run waits for its connection to close
OUTPUT_QUEUE_PARTS = 256
INPUT_AUDIO_PARTS = 250  # ~5 s of 20 ms mic blocks; older audio is dropped first when full
INPUT_OTHER_PARTS = 256

HttpOptionsLike = types.HttpOptions | Mapping[str, Any] | None
Sleep = Callable[[float], Awaitable[object]]


redact.install("websockets.client")


def resolve_api_key(api_key: str | None = None) -> str | None:
    """The key to use: the argument, else ``GEMINI_API_KEY``, else ``GOOGLE_API_KEY``."""
    for candidate in (api_key, os.environ.get("GEMINI_API_KEY"), os.environ.get("GOOGLE_API_KEY")):
        if candidate and candidate.strip():
            return candidate.strip()
    return None


def _endpoint(http_options: HttpOptionsLike) -> str:
    """``host[:port]`` the SDK will talk to, for messages (never with credentials)."""
    if isinstance(http_options, types.HttpOptions):
        base = http_options.base_url
    elif isinstance(http_options, Mapping):
        base = http_options.get("base_url")
    else:
        base = None
    base = base or os.environ.get("GOOGLE_GEMINI_BASE_URL") or "https://generativelanguage.googleapis.com"
    return urllib.parse.urlsplit(base).netloc or base


def _make_client(api_key: str, http_options: HttpOptionsLike) -> genai.Client:
    """A Gemini API (not Vertex) client. ``GOOGLE_GEMINI_BASE_URL`` and ``SSL_CERT_FILE`` are
    read here, when the client is built, so a proxy or a test double needs no code change."""
    if isinstance(http_options, types.HttpOptions):
        http_options = http_options.model_copy()  # the SDK writes base_url into it
    elif isinstance(http_options, Mapping):
        http_options = types.HttpOptions(**http_options)
    return genai.Client(api_key=api_key, vertexai=False, http_options=http_options)


class _InputBuffer:
    """Input parts waiting for a live connection.

    ``put`` never blocks, so the server keeps reading its client while Gemini
    reconnects. When full, the oldest audio goes first (stale speech is worth
    less than fresh); other parts (typed turns, mic on/off) are few and kept up
    to a cap. ``get`` returns None once the input has ended and all is sent.
    """

    def __init__(self, max_audio: int = INPUT_AUDIO_PARTS, max_other: int = INPUT_OTHER_PARTS) -> None:
        self._items: collections.deque[Part] = collections.deque()
        self._max_audio, self._max_other = max_audio, max_other
        self._audio = 0
        self._closed = False
        self._changed = asyncio.Event()
        self.dropped = 0

    def put(self, part: Part) -> None:
        if part.is_audio:
            if self._audio >= self._max_audio:
                oldest = next(p for p in self._items if p.is_audio)
                self._items.remove(oldest)
                self._audio -= 1
                self.dropped += 1
            self._audio += 1
        elif len(self._items) - self._audio >= self._max_other:
            self.dropped += 1
            log.warning("Gemini input buffer full: dropped a %s part", part.mimetype)
            return
        self._items.append(part)
        self._changed.set()

    def push_front(self, part: Part) -> None:
        """Give back a part whose sending failed, to go first on the next connection."""
        self._items.appendleft(part)
        self._audio += part.is_audio
        self._changed.set()

    def close(self) -> None:
        self._closed = True
        self._changed.set()

    async def get(self) -> Part | None:
        while not self._items:
            if self._closed:
                return None
            self._changed.clear()
            await self._changed.wait()
        part = self._items.popleft()
        self._audio -= part.is_audio
        return part


_DONE = object()
Outcome = Literal["go_away", "done"]


class GeminiLiveProcessor:
    """Processor over Gemini Live; build with :func:`create`. Each call is one independent run."""

    def __init__(
        self,
        settings: GeminiSettings,
        *,
        api_key: str | None,
        http_options: HttpOptionsLike = None,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        connect_timeout: float = CONNECT_TIMEOUT,
        drain_timeout: float = DRAIN_TIMEOUT,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self._api_key = api_key
        self.http_options = http_options
        self.retry_delays = tuple(retry_delays)
        self.connect_timeout = connect_timeout
        self.drain_timeout = drain_timeout
        self._sleep = sleep

    def __repr__(self) -> str:  # never shows the key
        return (f"GeminiLiveProcessor(model={self.settings.model!r}, voice={self.settings.voice!r}, "
                f"push_to_talk={self.settings.push_to_talk}, key={'set' if self._api_key else 'missing'})")

    async def __call__(self, parts: AsyncIterable[Part]) -> AsyncIterator[Part]:
        if not self._api_key:
            yield Part.error(MISSING_KEY_MESSAGE)
            return
        try:
            client = _make_client(self._api_key, self.http_options)
        except Exception as exc:  # noqa: BLE001 - e.g. unusable http_options: say so, don't crash the run
            log.warning("Gemini client could not be built: %s", type(exc).__name__)
            yield Part.error(f"Gemini Live could not start: {exc}")
            return
        run = _Run(self, client)
        async for part in run.stream(parts):
            yield part


class _Run:
    """The state of one processor run: buffers, the resumption handle, the tasks."""

    def __init__(self, proc: GeminiLiveProcessor, client: genai.Client) -> None:
        self.proc = proc
        self.settings = proc.settings
        self.client = client
        self.endpoint = _endpoint(proc.http_options)
        self.buffer = _InputBuffer()
        self.out: asyncio.Queue[object] = asyncio.Queue(OUTPUT_QUEUE_PARTS)
        self.mapper = InputMapper(self.settings)
        self.handle: str | None = None
        self.sessions = 0
        self.attempt = 0  # failed attempts since the last good message
        self.idle = asyncio.Event()  # no reply expected or in progress
        self.idle.set()
        self.closing = False

    async def stream(self, parts: AsyncIterable[Part]) -> AsyncIterator[Part]:
        pump = asyncio.create_task(self._pump(parts), name="gemini-pump")
        conn = asyncio.create_task(self._connection_task(), name="gemini-connection")
        try:
            while (item := await self.out.get()) is not _DONE:
                yield item  # type: ignore[misc]
        finally:
            for task in (conn, pump):
                task.cancel()
            # A closing handshake with a dead peer can take websockets' close_timeout (10 s):
            # don't hold up the server's restart for it; the task finishes in the background.
            done, _pending = await asyncio.wait((conn, pump), timeout=STOP_TIMEOUT)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    log.debug("Gemini task %s ended with %r", task.get_name(), task.exception())
            if conn.done():
                with contextlib.suppress(Exception):
                    await self.client.aio.aclose()

    async def _pump(self, parts: AsyncIterable[Part]) -> None:
        try:
            async for part in parts:
                self.buffer.put(part)
        except Exception:
            log.exception("Gemini input stream failed; finishing the session")
        finally:
            self.buffer.close()

    async def _connection_task(self) -> None:
        try:
            await self._connect_loop()
        except Exception as exc:  # a bug: make it visible, then end the run
            log.exception("Gemini Live processor failed")
            await self.out.put(Part.error(f"Gemini Live failed unexpectedly: {type(exc).__name__}: {exc}"))
        await self.out.put(_DONE)

    # -- connections ---------------------------------------------------------------

    async def _connect_loop(self) -> None:
        s = self.settings
        while True:
            handle = self.handle
            try:
                async with contextlib.AsyncExitStack() as stack:
                    connecting = self.client.aio.live.connect(model=s.model,
                                                              config=build_connect_config(s, handle))
                    session = await asyncio.wait_for(stack.enter_async_context(connecting),
                                                     self.proc.connect_timeout)
                    log.info("Gemini Live session open (model %s, voice %s, %s)", s.model, s.voice,
                             "resumed" if handle else "new")
                    if self.sessions:
                        await self.out.put(Part.state(notice=RESUMED_NOTICE if handle else RESTARTED_NOTICE))
                    self.sessions += 1
                    self.mapper.new_session()
                    outcome = await self._serve(session)
                if outcome == "done":
                    return
                log.info("Gemini Live asked to reconnect (goAway); resuming with the latest handle")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - every failure becomes a retry or an error part
                if self.closing:
                    return
                failure = describe_error(exc, model=s.model, endpoint=self.endpoint)
                log.warning("Gemini Live: %s", failure.message)
                if handle is not None and failure.kind in ("setup", "model"):
                    log.info("Gemini refused the resumption handle; starting a new session")
                    self.handle = None
                    retryable = True
                else:
                    retryable = failure.retryable
                if not retryable or self.attempt >= len(self.proc.retry_delays):
                    message = failure.message
                    if self.sessions and retryable:
                        message = f"Lost Gemini Live and could not reconnect: {message}"
                    await self.out.put(Part.error(message))
                    return
                await self.proc._sleep(self.proc.retry_delays[self.attempt])
                self.attempt += 1

    async def _serve(self, session: Any) -> Outcome:
        sender = asyncio.create_task(self._send_loop(session), name="gemini-sender")
        try:
            return await self._receive_loop(session)
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender

    # -- receiving -------------------------------------------------------------------

    async def _receive_loop(self, session: Any) -> Outcome:
        """Map messages to parts until the session ends.

        After ``goAway`` the connection is kept until the reply in progress is done and a
        resumption handle newer than it has arrived (or the service's deadline is near),
        so moving to a new connection loses neither audio nor context.
        """
        loop = asyncio.get_running_loop()
        go_away = generating = fresh_handle = waiting_for_handle = False
        deadline: asyncio.Timeout | None = None
        try:
            async with asyncio.timeout(None) as deadline:
                while True:  # session.receive() ends at each turnComplete
                    async for msg in session.receive():
                        self.attempt = 0
                        content = msg.server_content
                        if content is not None:
                            if content.model_turn or content.output_transcription:
                                generating, fresh_handle = True, False
                                self.idle.clear()
                            if content.turn_complete:
                                generating = False
                                self.idle.set()
                        if (new_handle := resumption_handle(msg)) is not None:
                            self.handle, fresh_handle = new_handle, True
                        for part in to_parts(msg):
                            if "go_away" in part.metadata:
                                # Handled here by resuming; forwarded, it would make the client leave
                                # the server (and so lose this session) for nothing.
                                continue
                            await self.out.put(part)
                        if msg.go_away is not None and not go_away:
                            go_away = True
                            left = parse_duration(msg.go_away.time_left) or 0.0
                            deadline.reschedule(loop.time() + max(0.0, left - GO_AWAY_MARGIN))
                        if go_away and not generating:
                            if fresh_handle:
                                return "go_away"
                            if not waiting_for_handle:
                                waiting_for_handle = True
                                due = loop.time() + HANDLE_WAIT
                                deadline.reschedule(min(due, deadline.when() or due))
        except TimeoutError:
            if deadline is not None and deadline.expired():
                return "go_away"
            raise
        except (genai_errors.APIError, ConnectionClosed):
            if self.closing:
                return "done"
            if go_away:
                return "go_away"
            raise

    # -- sending ----------------------------------------------------------------------

    async def _send_loop(self, session: Any) -> None:
        try:
            while (part := await self.buffer.get()) is not None:
                try:
                    for action in self.mapper.actions(part):
                        await self._perform(session, action)
                except (ConnectionClosed, genai_errors.APIError):
                    self.buffer.push_front(part)  # resent on the next connection
                    return
            await self._finish(session)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("Gemini Live sender failed; reconnecting")
            with contextlib.suppress(Exception):
                await session.close()

    async def _perform(self, session: Any, action: Action) -> None:
        match action:
            case SendAudio(data=data, mime_type=mime_type):
                await session.send_realtime_input(audio=types.Blob(data=data, mime_type=mime_type))
            case SendAudioStreamEnd():
                self.idle.clear()
                await session.send_realtime_input(audio_stream_end=True)
            case SendActivityStart():
                await session.send_realtime_input(activity_start=types.ActivityStart())
            case SendActivityEnd():
                self.idle.clear()
                await session.send_realtime_input(activity_end=types.ActivityEnd())
            case SendText(text=text, turn_complete=turn_complete, realtime=realtime):
                if turn_complete:
                    self.idle.clear()
                if realtime:
                    await session.send_realtime_input(text=text)
                else:
                    await session.send_client_content(
                        turns=types.Content(role="user", parts=[types.Part(text=text)]),
                        turn_complete=turn_complete)

    async def _finish(self, session: Any) -> None:
        """The input ended: let the reply in progress finish (bounded), then close."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.idle.wait(), self.proc.drain_timeout)
        self.closing = True
        await session.close()


def create(
    config: dict[str, Any],
    *,
    api_key: str | None = None,
    http_options: HttpOptionsLike = None,
) -> GeminiLiveProcessor:
    """Build the processor from the client's config (``model``, ``voice``,
    ``system_instruction``, ``language``, ``push_to_talk``, ``text_input``).

    The key comes from ``api_key`` or the environment; a key in ``config`` is ignored.
    ``http_options`` (a ``types.HttpOptions`` or its dict) points the SDK elsewhere.
    """
    if "api_key" in config:
        log.warning("Ignoring 'api_key' in the client config: keys come from Settings or GEMINI_API_KEY")
    return GeminiLiveProcessor(GeminiSettings.from_config(config), api_key=resolve_api_key(api_key),
                               http_options=http_options)


async def check_api_key(
    api_key: str | None,
    *,
    http_options: HttpOptionsLike = None,
    model: str = DEFAULT_MODEL,
    timeout: float = 10.0,
) -> str | None:
    """Open and close one Live session with ``api_key``: None if it works, else why not.

    For the Settings dialog's "test key" button; a Live connect checks exactly what a
    conversation needs (key, model, endpoint, TLS), unlike a REST call.
    """
    key = (api_key or "").strip()
    if not key:
        return MISSING_KEY_MESSAGE
    settings = GeminiSettings.from_config({"model": model})
    client = _make_client(key, http_options)
    try:
        async with asyncio.timeout(timeout):
            connecting = client.aio.live.connect(model=settings.model, config=build_connect_config(settings))
            async with connecting as session:
                if session.setup_complete is None:
                    return "Gemini Live answered the setup with something unexpected: try again"
        return None
    except TimeoutError:
        return (f"{_endpoint(http_options)} did not answer within {timeout:g} s: "
                "check your internet connection")
    except Exception as exc:  # noqa: BLE001 - the dialog shows whatever went wrong, in words
        return describe_error(exc, model=settings.model, endpoint=_endpoint(http_options)).message
    finally:
        with contextlib.suppress(Exception):
            await client.aio.aclose()
