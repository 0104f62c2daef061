"""The ADK bidi-demo's wire protocol (client side).

Source: ``google/adk-samples``, ``python/agents/bidi-demo/app/main.py`` and
``static/js/app.js``. The server is a FastAPI route
``/ws/{user_id}/{session_id}`` (optional ``?proactivity=&affective_dialog=``)
that resumes the ADK session named by the path, so a reconnect with the same
ids continues the same conversation.

- up: **binary** frames of raw PCM16 mono 16 kHz; JSON text frames
  ``{"type": "text", "text": "..."}``, and for push-to-talk
  ``{"type": "activity_start"}`` / ``{"type": "activity_end"}``.
- down: one ADK ``Event`` per text frame, ``model_dump_json(by_alias=True,
  exclude_none=True)``, i.e. camelCase: ``content.parts[].inlineData{mimeType,
  data}`` (data is pydantic's base64url; we also take standard base64, with or
  without padding), ``content.parts[].text``, ``partial``, ``turnComplete``,
  ``interrupted``, ``inputTranscription{text, finished}``,
  ``outputTranscription{text, finished}``, ``usageMetadata``, ``errorCode`` /
  ``errorMessage``. snake_case spellings are accepted too.

Text: ADK streams text as ``partial: true`` deltas and then repeats the whole
text once in a non-partial event; transcriptions likewise stream
``finished: false`` deltas and then the whole text with ``finished: true``.
Deltas therefore become tentative transcripts (``final=False``) and the
aggregate the final one, so a consumer that keeps only final text sees each
sentence once. A transcription piece with no ``finished`` key (older ADK
passed Gemini's deltas straight through) is final unless its event is partial.

``activity_end`` is only sent after an ``activity_start`` on the same
connection: in hands-free mode the server's own VAD ends the turn, and an
unmatched ``activity_end`` would only confuse it.

Config keys: ``user_id`` and ``session_id`` (strings; defaults are generated
once per codec instance so reconnects resume the same ADK session),
``proactivity`` and ``affective_dialog`` (booleans, sent as query parameters
only when set).
"""

from __future__ import annotations

import json
import secrets
import urllib.parse
import uuid
from collections.abc import Mapping
from typing import Any

from ._wire import FrameError, decode_base64, excerpt, is_true, load_object, mimetype_rate, pcm16_events
from .adk import RECEIVE_RATE, SEND_RATE
from .base import Codec, Frame, ProtocolInfo
from .events import (
    Event,
    Interrupted,
    ProtocolError,
    ServerError,
    SessionUpdate,
    Speaker,
    TextKind,
    Transcript,
    TurnComplete,
)

__all__ = ["CODEC", "AdkBidiCodec"]

_QUERY_FLAGS = ("proactivity", "affective_dialog")


class AdkBidiCodec(Codec):
    """Client codec for the ADK bidi-demo (``/ws/{user_id}/{session_id}``)."""

    info = ProtocolInfo(
        name="adk_bidi",
        title="ADK bidi-demo",
        send_rate=SEND_RATE,
        receive_rate=RECEIVE_RATE,
        has_turn_events=True,
        has_interruption=True,
        has_reset=False,
        trailing_silence=1.0,  # no end-of-speech message reaches the model: its VAD needs to hear silence
        default_path="/ws/{user_id}/{session_id}",
        description="Binary PCM16 up, ADK Event JSON down; /ws/{user_id}/{session_id}. "
        "Config: user_id, session_id, proactivity, affective_dialog.",
    )

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(config)
        #: Path ids, fixed for the codec's lifetime so every reconnect resumes the same session.
        self.user_id = _text(self.config.get("user_id")) or f"voice-desktop-{secrets.token_hex(4)}"
        self.session_id = _text(self.config.get("session_id")) or f"session-{uuid.uuid4().hex}"
        self._activity_open = False

    # -- connection ----------------------------------------------------------

    def default_path(self) -> str:
        quote = urllib.parse.quote
        return f"/ws/{quote(self.user_id, safe='')}/{quote(self.session_id, safe='')}"

    def default_query(self) -> dict[str, str]:
        return {key: "true" for key in _QUERY_FLAGS if _flag(self.config.get(key))}

    def open(self) -> list[Frame]:
        # A new connection: whatever activity the old one had open is gone with it.
        self._activity_open = False
        return []

    # -- client -> server ----------------------------------------------------

    def encode_audio(self, pcm: bytes) -> list[Frame]:
        return [bytes(pcm)] if pcm else []

    def encode_text(self, text: str) -> list[Frame]:
        return [json.dumps({"type": "text", "text": text})]

    def encode_activity_start(self) -> list[Frame]:
        self._activity_open = True
        return [json.dumps({"type": "activity_start"})]

    def encode_audio_end(self) -> list[Frame]:
        if not self._activity_open:
            return []
        self._activity_open = False
        return [json.dumps({"type": "activity_end"})]

    # -- server -> client ----------------------------------------------------

    def decode(self, frame: Frame) -> list[Event]:
        try:
            message = load_object(frame, "adk_bidi")
        except FrameError as exc:
            return [ProtocolError(f"Malformed adk_bidi frame: {exc}", excerpt(frame))]
        try:
            return _decode_event(message, frame)
        except Exception as exc:  # noqa: BLE001 - decode() must never raise; this is a bug if it happens
            return [ProtocolError(f"Internal error decoding an adk_bidi frame ({type(exc).__name__}: {exc})",
                                  excerpt(frame))]


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _get(mapping: Mapping[str, Any], camel: str, snake: str) -> Any:
    value = mapping.get(camel)
    return mapping.get(snake) if value is None else value


def _decode_event(message: Mapping[str, Any], frame: Frame) -> list[Event]:
    events: list[Event] = []
    problems: list[str] = []
    partial = is_true(message.get("partial"))

    if is_true(message.get("interrupted")):
        events.append(Interrupted())

    code, text = _get(message, "errorCode", "error_code"), _get(message, "errorMessage", "error_message")
    if code or text:
        events.append(ServerError(f"{text or 'Server error'}" + (f" ({code})" if code else "")))

    events.extend(_transcription(message, "inputTranscription", "input_transcription",
                                 speaker=Speaker.USER, partial=partial, problems=problems))
    events.extend(_content(message.get("content"), partial, problems))
    events.extend(_transcription(message, "outputTranscription", "output_transcription",
                                 speaker=Speaker.MODEL, partial=partial, problems=problems))

    usage = _get(message, "usageMetadata", "usage_metadata")
    if isinstance(usage, Mapping):
        events.append(SessionUpdate(usage=dict(usage)))
    elif usage is not None:
        problems.append("'usageMetadata' should be an object")

    if is_true(_get(message, "turnComplete", "turn_complete")):
        events.append(TurnComplete())

    events.extend(ProtocolError(f"Malformed adk_bidi event: {problem}.", excerpt(frame))
                  for problem in problems)
    return events


def _transcription(message: Mapping[str, Any], camel: str, snake: str, *, speaker: Speaker,
                   partial: bool, problems: list[str]) -> list[Event]:
    body = _get(message, camel, snake)
    if body is None:
        return []
    if not isinstance(body, Mapping):
        problems.append(f"{camel!r} should be an object")
        return []
    text = body.get("text")
    if text is None or text == "":
        return []
    if not isinstance(text, str):
        problems.append(f"{camel}.text should be a string")
        return []
    finished = body.get("finished")
    final = finished if isinstance(finished, bool) else not partial
    return [Transcript(speaker, text, final, TextKind.TRANSCRIPTION)]


def _content(content: Any, partial: bool, problems: list[str]) -> list[Event]:
    if content is None:
        return []
    if not isinstance(content, Mapping):
        problems.append("'content' should be an object")
        return []
    parts = content.get("parts")
    if parts is None:
        return []
    if not isinstance(parts, list):
        problems.append("'content.parts' should be a list")
        return []
    speaker = Speaker.USER if content.get("role") == "user" else Speaker.MODEL
    events: list[Event] = []
    for index, part in enumerate(parts):
        if not isinstance(part, Mapping):
            problems.append(f"content.parts[{index}] should be an object")
            continue
        inline = _get(part, "inlineData", "inline_data")
        if inline is not None:
            events.extend(_inline_audio(inline, index, problems))
        text = part.get("text")
        if text is None or text == "" or is_true(part.get("thought")):
            continue  # thoughts are the model's scratchpad, not its reply
        if not isinstance(text, str):
            problems.append(f"content.parts[{index}].text should be a string")
            continue
        events.append(Transcript(speaker, text, not partial, TextKind.TEXT))
    return events


def _inline_audio(inline: Any, index: int, problems: list[str]) -> list[Event]:
    where = f"content.parts[{index}].inlineData"
    if not isinstance(inline, Mapping):
        problems.append(f"{where} should be an object")
        return []
    mimetype = _get(inline, "mimeType", "mime_type")
    if mimetype is None:
        mimetype = "audio/pcm"  # the demo's player assumes PCM when it is not told
    if not isinstance(mimetype, str):
        problems.append(f"{where}.mimeType should be a string")
        return []
    kind = mimetype.split(";", 1)[0].strip().lower()
    if not kind.startswith("audio/"):
        return []  # images and other blobs have no place in a voice client
    if kind not in ("audio/pcm", "audio/l16", "audio/x-pcm"):
        problems.append(f"audio in an unsupported format ({mimetype!r}) was dropped")
        return []
    try:
        rate = mimetype_rate(mimetype, RECEIVE_RATE)
        pcm = decode_base64(inline.get("data"), f"{where}.data")
    except FrameError as exc:
        problems.append(str(exc))
        return []
    return pcm16_events(pcm, rate)


CODEC = AdkBidiCodec
