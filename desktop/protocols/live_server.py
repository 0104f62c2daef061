"""genai-processors' ``live_server`` wire protocol, both sides.

Every frame is a JSON text frame holding one serialised ``ProcessorPart``::

    {"part": {"text": ...} | {"inline_data": {"data": <base64>, "mime_type": ...}},
     "role": str, "substream_name": str, "mimetype": str, "metadata": {...}}

Every key is optional. The client side is :class:`LiveServerCodec`; the server
side is :func:`parse_client_frame` / :func:`serialize_part`, used by
:mod:`desktop.server`. Both are pure.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import Any

from desktop.parts import (
    INPUT_TRANSCRIPTION,
    OUTPUT_TRANSCRIPTION,
    REALTIME,
    STATE_MIMETYPE,
    Part,
)

from ._wire import (
    MAX_RATE,
    FrameError,
    decode_base64,
    dumps,
    dumps_bytes,
    encode_base64,
    excerpt,
    load_object,
    mimetype_rate,
    pcm16_events,
)
from .base import Codec, Frame, ProtocolInfo
from .events import (
    Event,
    Health,
    Interrupted,
    Notice,
    ProtocolError,
    ServerError,
    SessionUpdate,
    Speaker,
    TextKind,
    Transcript,
    TurnComplete,
)

__all__ = [
    "CODEC",
    "MAX_RATE",
    "Configure",
    "FrameError",
    "LiveServerCodec",
    "Reset",
    "parse_client_frame",
    "serialize_part",
    "serialize_part_bytes",
]

CONFIG_MIMETYPE = "application/x-config"
COMMAND_MIMETYPE = "application/x-command"
SEND_RATE = 16000
RECEIVE_RATE = 24000


def _load(frame: Frame) -> dict[str, Any]:
    return _check_fields(load_object(frame, "live_server"))


def _check_fields(message: dict[str, Any]) -> dict[str, Any]:
    for key, kind in (("part", dict), ("metadata", dict), ("mimetype", str), ("role", str),
                      ("substream_name", str)):
        if message.get(key) is not None and not isinstance(message[key], kind):
            raise FrameError(f"field {key!r} should be a JSON {'object' if kind is dict else 'string'}")
    return message


def _part_from_message(message: Mapping[str, Any]) -> Part:
    """The reference's ``ProcessorPart.from_dict`` for the part shapes we support."""
    body = message.get("part") or {}
    metadata = dict(message.get("metadata") or {})
    role = message.get("role") or ""
    substream = message.get("substream_name") or ""
    mimetype = message.get("mimetype") or ""
    inline = body.get("inline_data", body.get("inlineData"))
    if inline is not None:
        if not isinstance(inline, dict):
            raise FrameError("part.inline_data should be an object")
        data = decode_base64(inline.get("data", ""), "inline_data.data")
        inner = inline.get("mime_type") or inline.get("mimeType") or ""
        if not isinstance(inner, str):
            raise FrameError("inline_data.mime_type should be a string")
        return Part(data=data, mimetype=mimetype or inner or "application/octet-stream",
                    role=role, substream_name=substream, metadata=metadata)
    text = body.get("text", "")
    if not isinstance(text, str):
        raise FrameError("part.text should be a string")
    return Part(text=text, mimetype=mimetype or "text/plain", role=role,
                substream_name=substream, metadata=metadata)


# ---------------------------------------------------------------------------
# Server side
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Configure:
    """The client sent a config: restart the processor with ``config``."""

    config: dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class Reset:
    """The client asked to start afresh: restart the processor, same config."""


def parse_client_frame(frame: Frame) -> Part | Configure | Reset | None:
    """What a client frame asks of the server, as the reference server reads it.

    Returns a :class:`Part` for the processor (with role/substream forced the
    way the reference forces them), :class:`Configure`, :class:`Reset`, or
    ``None`` for a well-formed frame that carries nothing to act on.
    Raises :class:`FrameError` for a malformed frame.
    """
    message = load_object(frame, "live_server")
    fast = _streamed_audio(message)
    if fast is not None:
        return fast
    part = _part_from_message(_check_fields(message))
    mimetype = part.mimetype.lower()
    meta = part.metadata
    if mimetype.startswith(("audio/", "image/")):
        part.role, part.substream_name = "user", REALTIME
        if mimetype.startswith("audio/"):
            mimetype_rate(mimetype, SEND_RATE)  # raises FrameError on an unusable rate
            if mimetype.startswith(("audio/pcm", "audio/l16")) and len(part.data or b"") % 2:
                raise FrameError(f"audio of {len(part.data or b'')} bytes is not whole PCM16 samples")
        return part
    if mimetype == CONFIG_MIMETYPE:
        return Configure(dict(meta)) if meta else None
    if mimetype == COMMAND_MIMETYPE:
        if meta.get("command") == "reset":
            return Reset()
        raise FrameError(f"unknown command {meta.get('command')!r}")
    if mimetype == STATE_MIMETYPE:
        mic = meta.get("mic")
        if mic == "off":
            return _audio_stream_end()
        if mic == "on":
            return Part(text="", role="user", substream_name=REALTIME, metadata={"activity_start": True})
        return None
    if mimetype.startswith("text/"):
        # The published docs' forms, which the reference would treat as an empty text turn.
        if not part.text:
            if meta.get("reset") is True:
                return Reset()
            if meta.get("mic") == "off":
                return _audio_stream_end()
            if not meta:
                return None
        part.role = "user"
        part.metadata["turn_complete"] = True
        return part
    return None


_STREAMED_AUDIO_KEYS = frozenset({"part", "role", "substream_name", "mimetype"})


def _streamed_audio(message: dict[str, Any]) -> Part | None:
    """The frame every client streams 50 times a second (one inline audio part, no metadata), parsed in a few
    steps to the very Part the general path makes; None sends anything else, or anything wrong, that way."""
    body, mimetype = message.get("part"), message.get("mimetype")
    if type(body) is not dict or type(mimetype) is not str or not _STREAMED_AUDIO_KEYS.issuperset(message):
        return None
    inline = body.get("inline_data")
    if type(inline) is not dict or len(body) != 1 or len(inline) != 2:
        return None
    data, inner = inline.get("data"), inline.get("mime_type")
    role, substream = message.get("role"), message.get("substream_name")
    if (type(data) is not str or type(inner) is not str or (role is not None and type(role) is not str)
            or (substream is not None and type(substream) is not str)):
        return None
    pcm = _usable_audio(mimetype)
    if pcm is None:
        return None
    payload = decode_base64(data, "inline_data.data")  # the general path's first check, same error
    if pcm and len(payload) % 2:
        return None  # the general path words the error
    return Part(data=payload, mimetype=mimetype, role="user", substream_name=REALTIME, metadata={})


@functools.lru_cache(maxsize=256)
def _usable_audio(mimetype: str) -> bool | None:
    """None: not audio, or a rate the general path refuses; else whether it is PCM16 (whole samples needed)."""
    lowered = mimetype.lower()
    if not lowered.startswith("audio/"):
        return None
    try:
        mimetype_rate(lowered, SEND_RATE)
    except FrameError:
        return None
    return lowered.startswith(("audio/pcm", "audio/l16"))


def _audio_stream_end() -> Part:
    return Part(text="", role="user", substream_name=REALTIME, metadata={"audio_stream_end": True})


def serialize_part(part: Part) -> str:
    """A processor's part as the reference server sends it."""
    return serialize_part_bytes(part).decode("utf-8")


def serialize_part_bytes(part: Part) -> bytes:
    """:func:`serialize_part` as UTF-8, for a server that writes text frames from bytes."""
    if part.data is not None:
        body: dict[str, Any] = {"inline_data": {"data": encode_base64(part.data), "mime_type": part.mimetype}}
    else:
        body = {"text": part.text or ""}
    mimetype = part.mimetype
    if part.metadata.get("generation_complete") or part.metadata.get("interrupted"):
        body, mimetype = {"text": ""}, STATE_MIMETYPE
    return dumps_bytes({
        "part": body,
        "role": part.role,
        "substream_name": part.substream_name,
        "mimetype": mimetype,
        "metadata": part.metadata,
    })


# ---------------------------------------------------------------------------
# Client side
# ---------------------------------------------------------------------------


class LiveServerCodec(Codec):
    """Client codec for any server speaking live_server (ours or the reference)."""

    info = ProtocolInfo(
        name="live_server",
        title="genai-processors live_server",
        send_rate=SEND_RATE,
        receive_rate=RECEIVE_RATE,
        has_turn_events=True,
        has_interruption=True,
        has_reset=True,
        # In the Authorization header, which proxies do not log: voice-desktop-server reads it there as well as in
        # ?token= (a URL given with its ?token=, as the server prints it, is used as given).
        token_in_query=False,
        default_path="/",
        description="JSON ProcessorParts both ways; the embedded server speaks it.",
    )

    def open(self) -> list[Frame]:
        if not self.config:
            return []  # the reference ignores an empty config; don't restart its processor for nothing
        return [dumps({"mimetype": CONFIG_MIMETYPE, "metadata": self.config})]

    def encode_audio(self, pcm: bytes) -> list[Frame]:
        mimetype = f"audio/pcm;rate={SEND_RATE}"
        return [dumps({
            "part": {"inline_data": {"data": encode_base64(pcm), "mime_type": mimetype}},
            "role": "user",
            "substream_name": REALTIME,
            "mimetype": mimetype,
        })]

    def encode_text(self, text: str) -> list[Frame]:
        return [dumps({"part": {"text": text}, "role": "user"})]

    def encode_audio_end(self) -> list[Frame]:
        return [dumps({"mimetype": STATE_MIMETYPE, "metadata": {"mic": "off"}})]

    def encode_activity_start(self) -> list[Frame]:
        # Not in the reference (which logs and ignores it); our server maps it to activity_start.
        return [dumps({"mimetype": STATE_MIMETYPE, "metadata": {"mic": "on"}})]

    def encode_reset(self) -> list[Frame]:
        return [dumps({"mimetype": COMMAND_MIMETYPE, "metadata": {"command": "reset"}})]

    def decode(self, frame: Frame) -> list[Event]:
        try:
            message = _load(frame)
            part = _part_from_message(message)
            return _events_from_part(part)
        except FrameError as exc:
            return [ProtocolError(f"Malformed live_server frame: {exc}", excerpt(frame))]
        except Exception as exc:  # noqa: BLE001 - decode() never raises: a bug here must not cost the connection
            return [ProtocolError(f"Internal error decoding a live_server frame ({type(exc).__name__}: {exc})",
                                  excerpt(frame))]


def _events_from_part(part: Part) -> list[Event]:
    meta = part.metadata
    events: list[Event] = []
    if part.data is not None:
        if part.is_audio:
            events.extend(_audio_events(part))
        return events  # images and other blobs have no place in a voice client yet
    if meta.get("health_check"):
        return [Health()]
    if meta.get("error"):
        return [ServerError(str(meta["error"]))]
    if meta.get("notice"):
        return [Notice(str(meta["notice"]))]
    text = part.text or ""
    if text:
        substream = part.substream_name
        if substream == INPUT_TRANSCRIPTION:
            events.append(Transcript(Speaker.USER, text, _final(meta), TextKind.TRANSCRIPTION))
        elif substream == OUTPUT_TRANSCRIPTION:
            events.append(Transcript(Speaker.MODEL, text, _final(meta), TextKind.TRANSCRIPTION))
        elif part.mimetype.startswith("text/") and part.mimetype != STATE_MIMETYPE:
            speaker = Speaker.USER if part.role == "user" else Speaker.MODEL
            events.append(Transcript(speaker, text, _final(meta), TextKind.TEXT))
    update = _session_update(meta)
    if update is not None:
        events.append(update)
    if meta.get("interrupted"):
        events.append(Interrupted())
    if meta.get("generation_complete") or meta.get("turn_complete"):
        events.append(TurnComplete())
    return events


def _final(meta: Mapping[str, Any]) -> bool:
    value = meta.get("is_final", meta.get("finished", True))
    return value is not False


def _audio_events(part: Part) -> list[Event]:
    try:
        rate = mimetype_rate(part.mimetype, RECEIVE_RATE)
    except FrameError:
        return [ProtocolError(f"Audio with an unusable sample rate ({part.mimetype!r}) was dropped.")]
    return pcm16_events(part.data or b"", rate)


def _session_update(meta: Mapping[str, Any]) -> SessionUpdate | None:
    go_away = meta.get("go_away")
    resumption = meta.get("session_resumption_update")
    usage = meta.get("usage_metadata")
    if go_away is None and resumption is None and usage is None:
        return None
    seconds = None
    if isinstance(go_away, Mapping):
        seconds = _seconds(go_away.get("time_left", go_away.get("timeLeft")))
    handle = None
    if isinstance(resumption, Mapping) and resumption.get("resumable", True) is not False:
        handle = resumption.get("new_handle") or resumption.get("newHandle")
    return SessionUpdate(
        going_away=go_away is not None,
        time_left=seconds,
        resumption_handle=handle if isinstance(handle, str) else None,
        usage=dict(usage) if isinstance(usage, Mapping) else None,
    )


def _seconds(value: Any) -> float | None:
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and value.endswith("s"):
        try:
            return float(value[:-1])
        except ValueError:
            return None
    return None


CODEC = LiveServerCodec
