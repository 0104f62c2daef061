"""One client connection of the embedded server: frames in, a processor run, parts out.

picows calls :meth:`SessionListener.on_ws_frame` synchronously for every frame. The common case, an input part
while a processor runs and its queue has room, goes straight into that queue: no task, no await. Everything else
(a config, a reset, a malformed frame, a full queue, the first part after a failure) goes, in arrival order, to the
session's control task, which does what the websockets-based server did per frame. While the control backlog is
long the socket stops being read, so a client that outruns its processor is slowed, never buffered without bound.

A processor run never outlives its connection: when the client goes, the run's input ends (the processor sees the
end of its input iterator and may finish cleanly), it gets :data:`END_GRACE` seconds, then it is cancelled.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport

from desktop.parts import Part
from desktop.processors import ProcessorFactory
from desktop.protocols.live_server import Configure, FrameError, Reset, parse_client_frame, serialize_part_bytes

__all__ = ["END_GRACE", "INPUT_QUEUE_PARTS", "SessionListener"]

log = logging.getLogger("desktop.server.live_server")

INPUT_QUEUE_PARTS = 256  # ~5 s of 20 ms audio queued for the processor
CONTROL_HIGH, CONTROL_LOW = 64, 16  # frames waiting for the control task: stop reading above, resume below
END_GRACE = 1.0  # seconds a processor may take to finish after its input ended with the connection
_END = object()


@dataclasses.dataclass(frozen=True, slots=True)
class _Malformed:
    """A frame that could not be understood; ``reason`` is what the client is told."""

    reason: str


class SessionListener(WSListener):
    """picows' listener for one connection; see the module docstring for the flow."""

    def __init__(self, factory: ProcessorFactory, config: dict[str, Any], *, max_size: int,
                 on_open: Callable[[SessionListener], None], on_closed: Callable[[SessionListener], None]) -> None:
        super().__init__()
        self.factory = factory
        self.config = config
        self.max_size = max_size
        self._on_open, self._on_closed = on_open, on_closed
        self._transport: WSTransport | None = None
        self._peer: object = "?"
        self._fragments: list[bytes] = []
        self._fragments_type: WSMsgType | None = None
        self._fragments_size = 0
        self._control: collections.deque[object] = collections.deque()
        self._wake = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self._done = asyncio.Event()
        self._busy = True  # the control task owns ordering until the first processor runs
        self._reading_paused = False
        self._disconnected = False
        self._task: asyncio.Task[None] | None = None
        self._run_task: asyncio.Task[None] | None = None
        self._carry_task: asyncio.Task[None] | None = None
        self._inbox: asyncio.Queue[object] | None = None

    # -- picows callbacks (synchronous, on the loop) -----------------------------------------------------------

    def on_ws_connected(self, transport: WSTransport) -> None:
        self._transport = transport
        self._peer = transport.underlying_transport.get_extra_info("peername")
        log.info("Session opened from %s", self._peer)
        self._on_open(self)
        self._task = asyncio.get_running_loop().create_task(self._serve())

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.TEXT or kind is WSMsgType.BINARY:
            if self._fragments_type is not None:
                self.close(WSCloseCode.PROTOCOL_ERROR, "expected a continuation frame")
            elif frame.fin:
                self._on_message(kind, frame.get_payload_as_bytes())
            else:
                self._fragments_type, self._fragments_size = kind, frame.payload_size
                self._fragments = [frame.get_payload_as_bytes()]
        elif kind is WSMsgType.CONTINUATION:
            self._on_continuation(frame)
        elif kind is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()
        # PING is answered by picows; a PONG needs nothing.

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self._disconnected = True
        self._writable.set()  # a run waiting to write must see the end, not wait forever
        self._wake.set()

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    # -- for the server ----------------------------------------------------------------------------------------

    def close(self, code: WSCloseCode, reason: str) -> None:
        """Send a close frame and drop the connection; the session's runs end after."""
        if self._transport is not None and not self._disconnected:
            self._transport.send_close(code, reason.encode())
            self._transport.disconnect()

    async def finished(self) -> None:
        """Wait until the session's control task and processor run have ended."""
        if self._task is not None:
            await self._done.wait()

    # -- frames ------------------------------------------------------------------------------------------------

    def _on_continuation(self, frame: WSFrame) -> None:
        if self._fragments_type is None:
            self.close(WSCloseCode.PROTOCOL_ERROR, "unexpected continuation frame")
            return
        self._fragments_size += frame.payload_size
        if self._fragments_size > self.max_size:
            self.close(WSCloseCode.MESSAGE_TOO_BIG, f"message over {self.max_size} bytes")
            return
        self._fragments.append(frame.get_payload_as_bytes())
        if frame.fin:
            kind, payload = self._fragments_type, b"".join(self._fragments)
            self._fragments_type, self._fragments, self._fragments_size = None, [], 0
            self._on_message(kind, payload)

    def _on_message(self, kind: WSMsgType, payload: bytes) -> None:
        if kind is WSMsgType.TEXT:
            try:
                frame: str | bytes = payload.decode("utf-8")
            except UnicodeDecodeError:
                self.close(WSCloseCode.INVALID_TEXT, "text frame is not UTF-8")  # as websockets does
                return
        else:
            frame = payload
        message = _parse(frame, self._peer)
        inbox = self._inbox
        if (not self._busy and not self._control and self._run_task is not None and inbox is not None
                and type(message) is Part and not inbox.full()):
            inbox.put_nowait(message)  # the hot path: audio while the processor runs
            return
        if message is None:
            return
        self._control.append(message)
        self._wake.set()
        if len(self._control) >= CONTROL_HIGH and not self._reading_paused and self._transport is not None:
            self._reading_paused = True
            self._transport.underlying_transport.pause_reading()

    # -- the control task --------------------------------------------------------------------------------------

    async def _serve(self) -> None:
        try:
            await self._restart()
            while not self._disconnected:
                while self._control and not self._disconnected:
                    self._busy = True
                    await self._handle(self._control.popleft())
                    if self._reading_paused and len(self._control) <= CONTROL_LOW:
                        self._reading_paused = False
                        if self._transport is not None:
                            self._transport.underlying_transport.resume_reading()
                self._busy = False
                self._wake.clear()
                if not self._control and not self._disconnected:
                    await self._wake.wait()
        except Exception:  # a bug here must end this session visibly, not the server
            log.exception("Session from %s failed", self._peer)
            self.close(WSCloseCode.INTERNAL_ERROR, "internal error")
        finally:
            await self._end()
            self._on_closed(self)
            self._done.set()
            log.info("Session from %s closed (%s)", self._peer, self._close_code())

    async def _handle(self, message: object) -> None:
        if isinstance(message, _Malformed):
            self._send(Part.error(message.reason))
        elif isinstance(message, Configure):
            self.config = message.config
            log.info("Config received: %s", sorted(self.config))
            await self._restart()
        elif isinstance(message, Reset):
            log.info("Reset requested")
            await self._restart()
        elif isinstance(message, Part):
            if self._run_task is None:
                await self._restart()
            if self._inbox is not None:
                await self._inbox.put(message)

    async def _end(self) -> None:
        """The connection is gone: end the run's input, give it END_GRACE to finish, then cancel what is left."""
        run, inbox = self._run_task, self._inbox
        if run is not None and inbox is not None:
            with contextlib.suppress(asyncio.QueueFull):
                inbox.put_nowait(_END)
            await asyncio.wait({run}, timeout=END_GRACE)
        await self._stop()

    async def _stop(self) -> None:
        for name in ("_carry_task", "_run_task"):
            task = getattr(self, name)
            setattr(self, name, None)
            if task is not None and task is not asyncio.current_task():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _restart(self, carry: asyncio.Queue[object] | None = None) -> None:
        """Start a fresh processor; ``carry`` hands it the inputs a failed run left unread."""
        await self._stop()
        try:
            processor = self.factory(self.config)
        except Exception as exc:  # a bad config must not take the connection down
            log.exception("Processor factory failed")
            self._send(Part.error(f"The processor could not start: {exc}"))
            return
        self._inbox = carry if carry is not None else asyncio.Queue(INPUT_QUEUE_PARTS)
        self._run_task = asyncio.create_task(self._run(processor, self._inbox))
        self._send(Part.health_check())

    async def _run(self, processor: Any, inbox: asyncio.Queue[object]) -> None:
        async def parts() -> AsyncIterator[Part]:
            while (part := await inbox.get()) is not _END:
                yield part  # type: ignore[misc]

        try:
            async for part in processor(parts()):
                if not self._send(part):
                    return
                if not self._writable.is_set():
                    await self._writable.wait()  # the client reads slowly: hold the processor, not a buffer
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("Processor failed; it restarts with the next input")
            self._send(Part.error(f"The processor failed: {exc}"))
        if self._inbox is inbox and not self._disconnected:
            self._run_task = None
            if not inbox.empty():
                # Inputs queued behind the failure (a typed turn, say) go to a fresh processor, not the bin.
                self._carry_task = asyncio.create_task(self._restart(carry=inbox))
            # Otherwise restart lazily with the next input, so a processor that cannot start does not spin.

    def _send(self, part: Part) -> bool:
        """Write one part; False once the connection is gone."""
        if self._disconnected or self._transport is None:
            return False
        self._transport.send(WSMsgType.TEXT, serialize_part_bytes(part))
        return True

    def _close_code(self) -> object:
        handshake = self._transport.close_handshake if self._transport is not None else None
        received = handshake.recv if handshake is not None else None
        return received.code.value if received is not None else None


def _parse(frame: str | bytes, peer: object) -> object:
    """What the control task (or the hot path) acts on; a malformed frame becomes :class:`_Malformed`."""
    try:
        return parse_client_frame(frame)
    except FrameError as exc:
        log.info("Malformed frame from %s: %s", peer, exc)
        return _Malformed(f"Malformed frame ignored: {exc}")
    except Exception as exc:  # a parser bug must cost one frame, not the connection
        log.exception("Could not parse a frame from %s", peer)
        return _Malformed(f"Malformed frame ignored (internal error: {type(exc).__name__})")
