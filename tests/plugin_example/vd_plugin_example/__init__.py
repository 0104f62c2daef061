"""An example third-party protocol plugin for Voice Desktop: ``echo_json``.

It is a *bring-your-own* protocol (see ``desktop.protocols.plugin``): no
Voice Desktop import is needed. Frames are JSON text frames::

    up:   {"audio": "<base64 PCM16 16 kHz>"}      {"text": "hello"}
    down: {"audio": "<base64 PCM16 16 kHz>"}      anything else carries no audio

A server that echoes every frame back is a complete ``echo_json`` server.

Registered by the package metadata (pyproject.toml)::

    [project.entry-points."voice_desktop.protocols"]
    echo_json = "vd_plugin_example:EchoJsonProtocol"
"""

from __future__ import annotations

import base64
import json

__all__ = ["EchoJsonProtocol"]


class EchoJsonProtocol:
    """JSON-wrapped PCM16 audio both ways, for an echo server."""

    title = "Echo JSON (example plugin)"
    path = "/echo"
    sample_rate = 16000
    output_sample_rate = 16000

    def __init__(self, config: dict | None = None) -> None:
        self.config = dict(config or {})

    def encode_audio(self, pcm: bytes) -> str:
        return json.dumps({"audio": base64.b64encode(pcm).decode("ascii")})

    def encode_text(self, text: str) -> str:
        return json.dumps({"text": text})

    def decode_response(self, frame: str | bytes) -> bytes | None:
        message = json.loads(frame)  # a bad frame raises: Voice Desktop reports it, the connection stays
        if isinstance(message, dict) and isinstance(message.get("audio"), str):
            return base64.b64decode(message["audio"])
        return None
