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
import binascii
import json
import secrets
from collections.abc import Mapping
from typing import Any

from desktop.errors import InvalidEndpoint

from .base import Codec, Frame, ProtocolInfo
from .events import (
    Audio,
    Event,
    Interrupted,
    ProtocolError,
    ServerError,
    Speaker,
    TextKind,
    Transcript,
    TurnComplete,
)

__all__ = [
    "CODEC",
    "MAX_RATE",
    "MIN_RATE",
    "RECEIVE_RATE",
    "SEND_RATE",
    "AdkCodec",
    "FrameError",
    "decode_base64",
    "excerpt",
    "is_true",
    "load_object",
    "mimetype_rate",
    "parse_rate",
    "pcm16_events",
]

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


# ---------------------------------------------------------------------------
# Wire helpers shared by the JSON codecs (adk, adk_bidi, ai_proxy_core)
# ---------------------------------------------------------------------------

MIN_RATE = 4000
MAX_RATE = 384000
_EXCERPT_CHARS = 120


class FrameError(ValueError):
    """A frame (or a field of one) that cannot be understood; the text says why."""


def excerpt(frame: Frame) -> str:
    """A short printable prefix of ``frame`` for error reports."""
    text = frame if isinstance(frame, str) else repr(bytes(frame[:_EXCERPT_CHARS]))
    return text if len(text) <= _EXCERPT_CHARS else text[:_EXCERPT_CHARS] + "…"


def load_object(frame: Frame, protocol: str) -> dict[str, Any]:
    """Parse a frame that must hold one JSON object (binary frames must be UTF-8 JSON)."""
    if isinstance(frame, (bytes, bytearray, memoryview)):
        try:
            frame = bytes(frame).decode("utf-8")
        except UnicodeDecodeError:
            raise FrameError(f"binary frame is not UTF-8 JSON ({protocol} sends JSON text frames)") from None
    if not isinstance(frame, str):
        raise FrameError(f"frame of type {type(frame).__name__} is neither text nor bytes")
    try:
        message = json.loads(frame)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, huge ints, deep nesting
        raise FrameError(f"frame is not valid JSON: {exc}") from None
    if not isinstance(message, dict):
        raise FrameError(f"frame is JSON {type(message).__name__}, expected an object")
    return message


def decode_base64(data: Any, field: str) -> bytes:
    """Standard or URL-safe base64, with or without padding; whitespace is ignored."""
    if not isinstance(data, str):
        raise FrameError(f"{field!r} should be a base64 string, got {type(data).__name__}")
    cleaned = "".join(data.split()).rstrip("=").translate(_URLSAFE)
    if len(cleaned) % 4 == 1:
        raise FrameError(f"{field!r} is not valid base64 (truncated: {len(cleaned)} characters)")
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FrameError(f"{field!r} is not valid base64: {exc}") from None


_URLSAFE = str.maketrans("-_", "+/")


def parse_rate(value: Any, what: str = "sample rate") -> int:
    """A sample rate from a JSON value (int, integral float or digit string), range-checked."""
    rate: int | None = None
    if isinstance(value, bool):
        rate = None
    elif isinstance(value, int):
        rate = value
    elif isinstance(value, float) and value.is_integer():
        rate = int(value)
    elif isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        rate = int(value.strip())
    if rate is None or not MIN_RATE <= rate <= MAX_RATE:
        raise FrameError(f"unusable {what} {value!r} (expected {MIN_RATE} to {MAX_RATE} Hz)")
    return rate


def mimetype_rate(mimetype: str, default: int) -> int:
    """The ``rate=`` parameter of an audio mimetype, ``default`` when absent; invalid -> FrameError."""
    for param in mimetype.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "rate":
            return parse_rate(value.strip(), f"rate in {mimetype!r}")
    return default


def pcm16_events(pcm: bytes, rate: int) -> list[Event]:
    """``Audio`` for whole PCM16 samples, plus a ProtocolError when a stray byte had to go."""
    events: list[Event] = []
    if len(pcm) % 2:
        events.append(ProtocolError(f"Audio of {len(pcm)} bytes is not whole PCM16 samples; "
                                    "the last byte was dropped."))
        pcm = pcm[:-1]
    if pcm:
        events.insert(0, Audio(pcm, rate))
    return events


def is_true(value: Any) -> bool:
    """JSON ``true`` (and nothing else: ``"false"`` or ``1`` are not flags)."""
    return value is True


CODEC = AdkCodec
