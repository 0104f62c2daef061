"""A stand-in for ai-proxy-core's Gemini Live socket (``ebowwa/ai-proxy-core``, ``api_layer/gemini_live.py``).

Behaves as that code does on the wire, with an echo for the model:

- only ``/api/gemini/ws`` is served (other paths: HTTP 403, as FastAPI does);
- on connect: ``{"type": "system", "data": "Connected to Gemini Live"}``;
- ``{"type": "config", "data": {...}}`` -> ``{"type": "config_success", "message":
  "Configuration acknowledged", "client_id": ..., "ip": ...}``;
- ``{"type": "message", "data": {"text": ...}}`` or ``{"type": "text", "data": ...}``
  -> ``{"type": "response", "text": ...}`` deltas of ``"echo: <text>"``;
- ``{"type": "audio", "data": <b64>}`` -> the audio echoed back at once as
  ``{"type": "audio", "data": <b64>, "format": "pcm16", "sampleRate": 24000}``;
  a non-PCM mime_type/format gets a ``system`` message, missing or bad base64
  an ``error`` message;
- there is never a turn-complete or interruption message;
- with ``vad_only`` audio is not echoed at once: like the real service behind it, the
  server answers a spoken turn only after it *hears* silence (``"heard N s of audio"``
  then the audio), since nothing tells it the user stopped talking;
- a frame that is not JSON ends the reference's receive task, and with it the
  connection: we close with 1011.

Run standalone: ``python -m tests.servers.ai_proxy_core_server --port 8000``.
"""

from __future__ import annotations

import base64
import binascii
import json
import urllib.parse
from typing import Any

from ._base import Connection, ReferenceServer, VoiceActivity, run_standalone, split, to_24k, words

__all__ = ["PATH", "AiProxyCoreServer", "main"]

PATH = "/api/gemini/ws"
_CONTEXT_KEYS = ("app", "client_id", "device", "user_id", "session_id", "request_id")


class AiProxyCoreServer(ReferenceServer):
    """``async with AiProxyCoreServer() as srv: srv.url`` -> ``ws://127.0.0.1:PORT``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, delay: float = 0.005,
                 vad_only: bool = False) -> None:
        super().__init__(host, port, delay=delay)
        #: Answer spoken turns only after heard silence (the model's VAD), not per chunk.
        self.vad_only = vad_only
        #: Every JSON message received, parsed.
        self.received: list[Any] = []

    def check_request(self, path: str) -> str | None:
        if urllib.parse.urlsplit(path).path != PATH:
            return f"No route: expected {PATH}"
        return None

    async def serve_connection(self, conn: Connection) -> None:
        await conn.send(json.dumps({"type": "system", "data": "Connected to Gemini Live"}))
        context: dict[str, Any] = {key: None for key in _CONTEXT_KEYS}
        host = conn.ws.remote_address[0] if conn.ws.remote_address else None
        turn = _SpokenTurn() if self.vad_only else None
        async for raw in conn.ws:
            try:
                message = json.loads(raw)
                kind = message.get("type")
            except (ValueError, AttributeError, TypeError):
                return await conn.die("Error receiving from client")
            self.received.append(message)
            if kind == "config":
                data = message.get("data") or message
                if isinstance(data, dict):
                    context.update({key: data[key] for key in _CONTEXT_KEYS if data.get(key) is not None})
                context["client_id"] = context["client_id"] or host
                await _send(conn, {"type": "config_success", "message": "Configuration acknowledged",
                                   "client_id": context["client_id"], "ip": host})
            elif kind in ("text", "message"):
                data = message.get("data")
                text = data.get("text", "") if isinstance(data, dict) else data
                if text:
                    # The reference forwards with end_of_turn=True; replies of turns overlap, nothing cancels.
                    conn.spawn(_reply_text(conn, str(text)))
            elif kind == "audio":
                await _on_audio(conn, message.get("data"), turn)


async def _send(conn: Connection, message: dict[str, Any]) -> None:
    await conn.send(json.dumps(message))


async def _reply_text(conn: Connection, text: str) -> None:
    for piece in words(f"echo: {text}"):
        await _send(conn, {"type": "response", "text": piece})
        await conn.pause()


class _SpokenTurn:
    """What a VAD-only server has heard of the turn in progress."""

    def __init__(self) -> None:
        self.vad = VoiceActivity()
        self.pcm = bytearray()


async def _on_audio(conn: Connection, data: Any, turn: _SpokenTurn | None = None) -> None:
    payload, mime_type, fmt = None, None, None
    if isinstance(data, str):
        payload, mime_type = data, "audio/pcm"
    elif isinstance(data, dict):
        payload = data.get("base64") or data.get("data") or data.get("b64")
        mime_type = data.get("mime_type") or data.get("mimeType")
        fmt = data.get("format") or data.get("codec")
    if (mime_type and str(mime_type).lower() != "audio/pcm") or (fmt and "webm" in str(fmt).lower()):
        await _send(conn, {"type": "system",
                           "data": "Audio requires PCM format - WebM conversion not yet implemented"})
        return
    if not payload:
        await _send(conn, {"type": "error", "data": "Invalid audio payload: expected base64 data"})
        return
    try:
        pcm = base64.b64decode(payload)
    except (binascii.Error, ValueError, TypeError):
        await _send(conn, {"type": "error", "data": "Invalid base64 audio payload"})
        return
    if turn is not None:
        turn.pcm.extend(pcm)
        if not turn.vad.feed(pcm):
            return
        pcm, turn.pcm = bytes(turn.pcm), bytearray()
        await _send(conn, {"type": "response", "text": f"heard {len(pcm) / 32000:.2f} s of audio"})
    for chunk in split(to_24k(pcm), 4800):
        await _send(conn, {"type": "audio", "data": base64.b64encode(chunk).decode(), "format": "pcm16",
                           "sampleRate": 24000})


def main(argv: list[str] | None = None) -> None:
    run_standalone(AiProxyCoreServer, "A local stand-in for ai-proxy-core's Gemini Live socket.", argv)


if __name__ == "__main__":
    main()
