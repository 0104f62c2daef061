"""The legacy ADK streaming sample's wire protocol (client side).

Source: ``google/adk-docs``, ``examples/python/snippets/streaming/adk-streaming-ws/app/``.
The server is a FastAPI route ``/ws/{user_id}?is_audio=true|false`` where
``user_id`` must be an integer and ``is_audio`` is required (anything else is
refused in the handshake). Every frame is a JSON text frame:

- up: ``{"mime_type": "audio/pcm", "data": <b64 PCM16 16 kHz>}`` and
  ``{"mime_type": "text/plain", "data": "hello"}``. The sample raises on any
  other ``mime_type``, which kills its upstream task for good, so this codec
  never sends anything else: mic-off, activity-start and reset encode to ``[]``.
- down: ``{"mime_type": "audio/pcm", "data": <b64 PCM16 24 kHz>}``,
  ``{"mime_type": "text/plain", "data": "delta"}`` (optionally ``"is_transcript":
  true`` for a transcription of the model's speech, and in later variants
  ``"partial": bool``), and ``{"turn_complete": bool|null, "interrupted": bool|null}``.

Text: the original sample forwards only *partial* text deltas and never the
aggregated text, so a piece without a ``partial`` key is committed text to be
appended (``final=True``). Variants that also send the aggregate mark the
deltas ``"partial": true``; those become tentative (``final=False``) and the
aggregate that follows is the final text.

The second half of this module holds small wire helpers (strict JSON-object
loading, liberal base64, PCM16 audio checks) shared with the other JSON codecs
of this package, :mod:`.adk_bidi` and :mod:`.ai_proxy_core`.

Config keys: ``user_id`` (int; default a random positive int chosen once per
codec instance, so reconnects keep the same user).
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping
from typing import Any

from desktop.errors import InvalidEndpoint

from ._wire import FrameError, decode_base64, excerpt, is_true, load_object, mimetype_rate, pcm16_events
from .base import Codec, Frame, ProtocolInfo
from .events import (
    Event,
    Interrupted,
    ProtocolError,
    ServerError,
    Speaker,
    TextKind,
    Transcript,
    TurnComplete,
)

__all__ = ["CODEC", "RECEIVE_RATE", "SEND_RATE", "AdkCodec"]

SEND_RATE = 16000
RECEIVE_RATE = 24000
AUDIO_MIMETYPE = "audio/pcm"
TEXT_MIMETYPE = "text/plain"


class AdkCodec(Codec):
    """Client codec for the legacy ADK streaming sample (``/ws/{user_id}?is_audio=true``)."""

    info = ProtocolInfo(
        name="adk",
        title="ADK streaming sample (legacy)",
        send_rate=SEND_RATE,
        receive_rate=RECEIVE_RATE,
        has_turn_events=True,
        has_interruption=True,
        has_reset=False,
        trailing_silence=1.0,  # no end-of-speech message reaches the model: its VAD needs to hear silence
        default_path="/ws/{user_id}",
        description="JSON {mime_type, data} frames both ways; /ws/{user_id}?is_audio=true. "
        "Config: user_id (integer).",
    )

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(config)
        raw = self.config.get("user_id")
        if raw is None or raw == "":
            raw = 1 + secrets.randbelow(2**31 - 1)  # fixed for the codec's lifetime: reconnects keep the user
        #: The integer user id, or None when the configured one is not an integer.
        self.user_id: int | None = _parse_user_id(raw)
        self._raw_user_id = raw

    # -- connection ----------------------------------------------------------

    def default_path(self) -> str:
        if self.user_id is None:
            raise InvalidEndpoint(
                f"The adk protocol needs an integer user_id (the sample's /ws/{{user_id}} route "
                f"refuses anything else), got {self._raw_user_id!r}. Fix user_id in the settings.")
        return f"/ws/{self.user_id}"

    def default_query(self) -> dict[str, str]:
        return {"is_audio": "true"}

    # -- client -> server ----------------------------------------------------

    def encode_audio(self, pcm: bytes) -> list[Frame]:
        if not pcm:
            return []
        return [json.dumps({"mime_type": AUDIO_MIMETYPE, "data": base64.b64encode(pcm).decode("ascii")})]

    def encode_text(self, text: str) -> list[Frame]:
        return [json.dumps({"mime_type": TEXT_MIMETYPE, "data": text})]

    # encode_audio_end / encode_activity_start / encode_reset: the base class's [] on purpose —
    # any mime_type other than audio/pcm and text/plain would kill the server's upstream task.

    # -- server -> client ----------------------------------------------------

    def decode(self, frame: Frame) -> list[Event]:
        try:
            message = load_object(frame, "adk")
        except FrameError as exc:
            return [ProtocolError(f"Malformed adk frame: {exc}", excerpt(frame))]
        try:
            return _decode_message(message, frame)
        except Exception as exc:  # noqa: BLE001 - decode() must never raise; this is a bug if it happens
            return [ProtocolError(f"Internal error decoding an adk frame ({type(exc).__name__}: {exc})",
                                  excerpt(frame))]


def _parse_user_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("+-").isdigit() and text.isascii():
            return int(text)
    return None


def _decode_message(message: dict[str, Any], frame: Frame) -> list[Event]:
    events: list[Event] = []
    mimetype = message.get("mime_type", message.get("mimeType"))
    if mimetype is not None:
        if not isinstance(mimetype, str):
            events.append(ProtocolError("Malformed adk frame: 'mime_type' should be a string.",
                                        excerpt(frame)))
        else:
            events.extend(_decode_payload(message, mimetype.strip(), frame))
    error = message.get("error")
    if error:
        events.append(ServerError(str(error)))
    if is_true(message.get("interrupted")):
        events.append(Interrupted())
    if is_true(message.get("turn_complete", message.get("turnComplete"))):
        events.append(TurnComplete())
    return events


def _decode_payload(message: Mapping[str, Any], mimetype: str, frame: Frame) -> list[Event]:
    kind = mimetype.split(";", 1)[0].strip().lower()
    data = message.get("data")
    if kind == TEXT_MIMETYPE:
        if not isinstance(data, str):
            return [ProtocolError("Malformed adk frame: text/plain 'data' should be a string.",
                                  excerpt(frame))]
        if not data:
            return []
        transcript = is_true(message.get("is_transcript"))
        speaker = Speaker.USER if message.get("role") == "user" else Speaker.MODEL
        final = not (is_true(message.get("partial")) or message.get("finished") is False)
        return [Transcript(speaker, data, final, TextKind.TRANSCRIPTION if transcript else TextKind.TEXT)]
    if kind.startswith("audio/"):
        if kind not in ("audio/pcm", "audio/l16", "audio/x-pcm"):
            return [ProtocolError(f"Audio in an unsupported format ({mimetype!r}) was dropped.",
                                  excerpt(frame))]
        try:
            rate = mimetype_rate(mimetype, RECEIVE_RATE)
            pcm = decode_base64(data, "data")
        except FrameError as exc:
            return [ProtocolError(f"Malformed adk audio frame: {exc}", excerpt(frame))]
        return pcm16_events(pcm, rate)
    return []  # images, video and anything newer: nothing a voice client plays


CODEC = AdkCodec
