"""A stand-in for the legacy ADK streaming sample (``adk-docs/.../adk-streaming-ws/app/main.py``).

Behaves as that sample's code does on the wire, with an echo for the model:

- ``/ws/{user_id}?is_audio=true|false``: a non-integer ``user_id`` or a missing
  ``is_audio`` is refused in the handshake (FastAPI's validation -> HTTP 403);
- up: ``{"mime_type": "text/plain"|"audio/pcm", "data": ...}``; any other
  mime_type, a binary frame, bad JSON or bad base64 raises in the sample's
  upstream task, after which the endpoint returns: we close with 1011;
- a typed turn is answered with the text ``"echo: <text>"`` as partial deltas
  (flagged ``is_transcript`` in audio mode, where a short 24 kHz tone goes with
  it), then ``{"turn_complete": true, "interrupted": null}``;
- audio is echoed back at once, resampled to 24 kHz; ``idle`` seconds after
  the last chunk the turn ends (a stand-in for Gemini's VAD); with ``vad_only``
  the turn ends only after the server *hears* silence, as the real service does
  (the sample forwards no end-of-speech signal: audio that stops ends nothing);
- with ``cumulative`` (what servers on ADK 1.22 and later send) every text is
  sent as pieces and then once more whole, none of it marked partial or final;
- new input while a reply is streaming interrupts it:
  ``{"turn_complete": null, "interrupted": true}``.

Run standalone: ``python -m tests.servers.adk_server --port 8000``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
import urllib.parse
from typing import Any

from ._base import Connection, ReferenceServer, VoiceActivity, run_standalone, split, to_24k, tone, words

__all__ = ["AdkServer", "main"]

_PATH = re.compile(r"/ws/([^/]+)")
_INT = re.compile(r"[+-]?\d+")


class AdkServer(ReferenceServer):
    """``async with AdkServer() as srv: srv.url`` -> ``ws://127.0.0.1:PORT``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, delay: float = 0.005,
                 idle: float = 0.15, vad_only: bool = False, cumulative: bool = False) -> None:
        super().__init__(host, port, delay=delay)
        #: Seconds of no audio after which an audio turn ends (unless ``vad_only``).
        self.idle = idle
        #: End audio turns only on heard silence, never on a pause in the stream.
        self.vad_only = vad_only
        #: Send every text as pieces, then whole, unmarked (ADK >= 1.22 through the legacy sample).
        self.cumulative = cumulative
        #: Every message received, as parsed JSON (for tests to check what clients send).
        self.received: list[dict[str, Any]] = []

    def check_request(self, path: str) -> str | None:
        parts = urllib.parse.urlsplit(path)
        match = _PATH.fullmatch(parts.path)
        if match is None:
            return f"No route for {parts.path!r}: expected /ws/{{user_id}}"
        if not _INT.fullmatch(urllib.parse.unquote(match[1])):
            return "user_id: Input should be a valid integer"
        if "is_audio" not in urllib.parse.parse_qs(parts.query, keep_blank_values=True):
            return "is_audio: Field required"
        return None

    async def serve_connection(self, conn: Connection) -> None:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(conn.path).query, keep_blank_values=True)
        session = _AdkSession(self, conn, is_audio=query["is_audio"][0] == "true")
        await session.run()


class _AdkSession:
    def __init__(self, server: AdkServer, conn: Connection, *, is_audio: bool) -> None:
        self.server = server
        self.conn = conn
        self.is_audio = is_audio
        self.heard = 0  # bytes of user audio in the current turn
        self.idle_timer: asyncio.Task[None] | None = None
        self.vad = VoiceActivity()

    async def run(self) -> None:
        async for raw in self.conn.ws:
            if isinstance(raw, bytes):
                return await self.conn.die("Expected a text frame (websocket.receive_text)")
            try:
                message = json.loads(raw)
                mime_type, data = message["mime_type"], message["data"]
            except (ValueError, KeyError, TypeError) as exc:
                return await self.conn.die(f"Bad message: {type(exc).__name__}")
            self.server.received.append(message)
            if mime_type == "text/plain":
                await self.interrupt()
                self.conn.start_reply(self.reply_text(str(data)))
            elif mime_type == "audio/pcm":
                try:
                    pcm = base64.b64decode(data)
                except (binascii.Error, ValueError, TypeError):
                    return await self.conn.die("Bad base64 audio")
                await self.on_audio(pcm)
            else:
                return await self.conn.die(f"Mime type not supported: {mime_type}")

    async def send(self, message: dict[str, Any]) -> None:
        await self.conn.send(json.dumps(message))

    async def interrupt(self) -> None:
        if await self.conn.stop_reply():
            await self.send({"turn_complete": None, "interrupted": True})

    async def send_text(self, text: str) -> None:
        if self.is_audio:
            await self.send({"mime_type": "text/plain", "data": text, "is_transcript": True})
        else:
            await self.send({"mime_type": "text/plain", "data": text})

    async def reply_text(self, text: str) -> None:
        full = f"echo: {text}"
        for piece in words(full):
            await self.send_text(piece)
            if self.is_audio:
                audio = tone(24000, 0.04)
                await self.send({"mime_type": "audio/pcm", "data": base64.b64encode(audio).decode()})
            await self.conn.pause()
        if self.server.cumulative:
            await self.send_text(full)
        await self.send({"turn_complete": True, "interrupted": None})

    async def on_audio(self, pcm: bytes) -> None:
        await self.interrupt()
        self.heard += len(pcm)
        for chunk in split(to_24k(pcm), 4800):
            await self.send({"mime_type": "audio/pcm", "data": base64.b64encode(chunk).decode()})
        if self.server.vad_only:
            if self.vad.feed(pcm):
                await self.end_audio_turn()
            return
        if self.idle_timer is not None:
            self.idle_timer.cancel()
        self.idle_timer = self.conn.spawn(self.idle_then_end())

    async def idle_then_end(self) -> None:
        await asyncio.sleep(self.server.idle)
        await self.end_audio_turn()

    async def end_audio_turn(self) -> None:
        seconds, self.heard = self.heard / 32000, 0
        if self.is_audio:
            heard = f"heard {seconds:.2f} s of audio"
            if self.server.cumulative:
                for piece in words(heard):
                    await self.send_text(piece)
            await self.send_text(heard)
        await self.send({"turn_complete": True, "interrupted": None})


def main(argv: list[str] | None = None) -> None:
    run_standalone(AdkServer, "A local stand-in for the legacy ADK streaming sample.", argv)


if __name__ == "__main__":
    main()
