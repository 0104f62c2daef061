"""A stand-in for the ADK bidi-demo (``adk-samples/python/agents/bidi-demo/app/main.py``).

Behaves as that sample does on the wire, with an echo for the model:

- ``/ws/{user_id}/{session_id}`` (optional ``?proactivity=&affective_dialog=``);
  other paths are refused in the handshake (HTTP 403). The session named by the
  path survives the connection, so a reconnect continues it (``history``).
- up: binary frames are PCM16 16 kHz; text frames are JSON ``{"type": "text",
  "text": ...}``, ``{"type": "activity_start"}``, ``{"type": "activity_end"}``
  (``image`` and unknown types are ignored). Bad JSON raises in the sample's
  upstream task and ends the connection: we close with 1011.
- down: ADK ``Event`` JSON in camelCase, as ``model_dump_json(by_alias=True,
  exclude_none=True)`` writes it: audio in ``content.parts[].inlineData`` with
  base64url data, text as ``partial: true`` deltas followed by the whole text,
  ``inputTranscription`` / ``outputTranscription`` deltas (``finished: false``)
  followed by the whole text (``finished: true``), ``usageMetadata``, then
  ``turnComplete``.
- audio turns end ``idle`` seconds after the last chunk (a stand-in for the
  model's VAD) or, after ``activity_start``, on ``activity_end`` only;
- new input while a reply is streaming interrupts it with ``{"interrupted": true}``;
- with ``vad_only`` it behaves as the sample itself does: ``activity_start`` /
  ``activity_end`` are read and dropped, and a spoken turn ends only after the
  server *hears* silence (audio that stops arriving ends nothing);
- with ``cumulative`` (ADK 1.22 and later through a server that drops the marks)
  transcriptions come as pieces and then whole, none marked partial or finished.

Run standalone: ``python -m tests.servers.adk_bidi_server --port 8000``.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import json
import re
import time
import urllib.parse
import uuid
from typing import Any

from ._base import Connection, ReferenceServer, VoiceActivity, run_standalone, split, to_24k, words

__all__ = ["AdkBidiServer", "main"]

_PATH = re.compile(r"/ws/([^/]+)/([^/]+)")


class AdkBidiServer(ReferenceServer):
    """``async with AdkBidiServer() as srv: srv.url`` -> ``ws://127.0.0.1:PORT``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, delay: float = 0.005,
                 idle: float = 0.15, strip_padding: bool = False, vad_only: bool = False,
                 cumulative: bool = False) -> None:
        super().__init__(host, port, delay=delay)
        self.idle = idle
        #: Like the sample: no client-side activity signals, turns end on heard silence only.
        self.vad_only = vad_only
        #: Transcriptions as unmarked pieces, then the whole text, unmarked too.
        self.cumulative = cumulative
        #: Send base64url without '=' padding (pydantic keeps it; some proxies strip it).
        self.strip_padding = strip_padding
        #: (user_id, session_id) -> what the user said in that ADK session, across connections.
        self.history: dict[tuple[str, str], list[str]] = collections.defaultdict(list)
        #: (user_id, session_id) -> number of connections made to that session.
        self.connections: collections.Counter[tuple[str, str]] = collections.Counter()
        #: JSON text messages received, parsed; binary audio is counted in ``audio_bytes``.
        self.received: list[Any] = []
        self.audio_bytes = 0

    def check_request(self, path: str) -> str | None:
        if _PATH.fullmatch(urllib.parse.urlsplit(path).path) is None:
            return "No route: expected /ws/{user_id}/{session_id}"
        return None

    async def serve_connection(self, conn: Connection) -> None:
        match = _PATH.fullmatch(urllib.parse.urlsplit(conn.path).path)
        assert match is not None
        key = (urllib.parse.unquote(match[1]), urllib.parse.unquote(match[2]))
        self.connections[key] += 1
        await _BidiSession(self, conn, key).run()


class _BidiSession:
    def __init__(self, server: AdkBidiServer, conn: Connection, key: tuple[str, str]) -> None:
        self.server = server
        self.conn = conn
        self.key = key
        self.manual = False  # inside activity_start .. activity_end
        self.buffer = bytearray()
        self.chunks = 0
        self.idle_timer: asyncio.Task[None] | None = None
        self.invocation = f"e-{uuid.uuid4()}"
        self.vad = VoiceActivity()

    async def run(self) -> None:
        async for raw in self.conn.ws:
            if isinstance(raw, bytes):
                self.server.audio_bytes += len(raw)
                await self.on_audio(raw)
                continue
            try:
                message = json.loads(raw)
                kind = message.get("type")
            except (ValueError, AttributeError) as exc:
                return await self.conn.die(f"Bad message: {type(exc).__name__}")
            self.server.received.append(message)
            if kind == "text":
                text = message.get("text")
                if not isinstance(text, str):
                    return await self.conn.die("KeyError: 'text'")
                self.server.history[self.key].append(text)
                await self.interrupt()
                self.conn.start_reply(self.reply_text(text))
            elif kind in ("activity_start", "activity_end") and self.server.vad_only:
                continue  # the sample reads these and drops them
            elif kind == "activity_start":
                await self.interrupt()
                self.manual = True
                self.buffer.clear()
                self.cancel_idle()
            elif kind == "activity_end" and self.manual:
                self.manual = False
                await self.end_audio_turn()

    # -- events ----------------------------------------------------------------------

    async def send(self, **fields: Any) -> None:
        event = {"id": str(uuid.uuid4()), "invocationId": self.invocation, "author": "echo_agent",
                 "actions": {"stateDelta": {}, "artifactDelta": {}, "requestedAuthConfigs": {}},
                 "timestamp": time.time(), **fields}
        await self.conn.send(json.dumps(event))

    def b64url(self, data: bytes) -> str:
        text = base64.urlsafe_b64encode(data).decode("ascii")
        return text.rstrip("=") if self.server.strip_padding else text

    async def interrupt(self) -> None:
        if await self.conn.stop_reply():
            await self.send(interrupted=True)

    def cancel_idle(self) -> None:
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None

    # -- text turns --------------------------------------------------------------------

    async def reply_text(self, text: str) -> None:
        full = f"echo: {text}"
        for piece in words(full):
            await self.send(content={"role": "model", "parts": [{"text": piece}]}, partial=True)
            await self.conn.pause()
        await self.send(content={"role": "model", "parts": [{"text": full}]}, partial=False)
        await self.finish(len(text), len(full))

    async def finish(self, prompt: int, reply: int) -> None:
        await self.send(usageMetadata={"promptTokenCount": prompt, "candidatesTokenCount": reply,
                                       "totalTokenCount": prompt + reply})
        await self.send(turnComplete=True)

    # -- audio turns --------------------------------------------------------------------

    async def on_audio(self, pcm: bytes) -> None:
        if self.server.vad_only:
            return await self.on_audio_vad(pcm)
        if not self.buffer:
            await self.interrupt()
        self.buffer.extend(pcm)
        self.chunks += 1
        if self.chunks % 5 == 1:
            await self.send(inputTranscription={"text": "…", "finished": False}, partial=True)
        if not self.manual:
            self.cancel_idle()
            self.idle_timer = self.conn.spawn(self.idle_then_end())

    async def on_audio_vad(self, pcm: bytes) -> None:
        """Like the model's VAD: speech interrupts a reply, heard silence ends the turn; silence alone does neither."""
        was_speech = self.vad.heard_speech
        ended = self.vad.feed(pcm)
        if self.vad.heard_speech and not was_speech:
            await self.interrupt()
        if self.vad.heard_speech or ended:
            self.buffer.extend(pcm)
        if ended:
            await self.end_audio_turn()

    async def idle_then_end(self) -> None:
        await asyncio.sleep(self.server.idle)
        self.idle_timer = None
        await self.end_audio_turn()

    async def end_audio_turn(self) -> None:
        pcm, self.buffer = bytes(self.buffer), bytearray()
        self.chunks = 0
        heard = f"heard {len(pcm) / 32000:.2f} s of audio"
        await self.send(inputTranscription={"text": heard, "finished": True}, partial=False)
        self.server.history[self.key].append(heard)
        self.conn.start_reply(self.reply_audio(pcm, heard))

    async def send_transcription(self, text: str, *, finished: bool) -> None:
        if self.server.cumulative:
            await self.send(outputTranscription={"text": text})
        else:
            await self.send(outputTranscription={"text": text, "finished": finished}, partial=not finished)

    async def reply_audio(self, pcm: bytes, heard: str) -> None:
        full = f"echo, {heard}"
        pieces = words(full)
        for index, chunk in enumerate(split(to_24k(pcm), 1920)):  # 40 ms parts
            await self.send(content={"role": "model", "parts": [
                {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": self.b64url(chunk)}}]})
            if index < len(pieces):
                await self.send_transcription(pieces[index], finished=False)
            await self.conn.pause()
        for piece in pieces[len(split(to_24k(pcm), 1920)):]:
            await self.send_transcription(piece, finished=False)
        await self.send_transcription(full, finished=True)
        await self.finish(len(pcm) // 32, len(full))


def main(argv: list[str] | None = None) -> None:
    run_standalone(AdkBidiServer, "A local stand-in for the ADK bidi-demo.", argv)


if __name__ == "__main__":
    main()
