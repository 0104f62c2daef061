"""ai-proxy-core's Gemini Live socket (client side).

Source: ``ebowwa/ai-proxy-core``, ``api_layer/gemini_live.py`` (route
``/api/gemini/ws``, served under ``/api`` on port 8000). Every frame is a JSON
object with a ``type``:

- on connect the server says ``{"type": "system", "data": "Connected to Gemini Live"}``;
- up: ``{"type": "config", "data": {...}}`` (answered by ``{"type":
  "config_success", "message": ..., "client_id": ..., "ip": ...}``),
  ``{"type": "message", "data": {"text": "hi"}}``, ``{"type": "audio", "data":
  <b64 PCM16 16 kHz>}``;
- down: ``{"type": "response", "text": ...}`` (text deltas of the model's turn),
  ``{"type": "audio", "data": <b64>, "format": "pcm16", "sampleRate": 24000}``,
  ``{"type": "system", "data": ...}``, ``{"type": "error", "data": ...}``.

The server never says that a turn is complete or was interrupted:
``info.has_turn_events`` is False and the *session* ends a turn after
``info.turn_idle_gap`` seconds without reply content.

Config keys: ``turn_idle_gap`` (seconds, default 1.5; read by this codec and
not sent); every other key is sent to the server as the ``config`` message's
``data`` right after connecting (the reference reads ``app``, ``client_id``,
``device``, ``user_id``, ``session_id``, ``request_id``). Nothing is sent when
there is nothing to configure.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
from collections.abc import Mapping
from typing import Any

from ._wire import FrameError, decode_base64, excerpt, load_object, parse_rate, pcm16_events
from .adk import RECEIVE_RATE, SEND_RATE
from .base import Codec, Frame, ProtocolInfo
from .events import Event, Notice, ProtocolError, ServerError, Speaker, TextKind, Transcript

__all__ = ["CODEC", "DEFAULT_TURN_IDLE_GAP", "AiProxyCoreCodec"]

DEFAULT_TURN_IDLE_GAP = 1.5
_CODEC_KEYS = frozenset({"turn_idle_gap", "trailing_silence"})  # read on this side, never sent
_PCM_FORMATS = frozenset({"pcm16", "pcm", "pcm_s16le", "s16le", "linear16", "l16"})


class AiProxyCoreCodec(Codec):
    """Client codec for ai-proxy-core's ``/api/gemini/ws`` socket."""

    info = ProtocolInfo(
        name="ai_proxy_core",
        title="ai-proxy-core Gemini Live",
        send_rate=SEND_RATE,
        receive_rate=RECEIVE_RATE,
        has_turn_events=False,
        has_interruption=False,
        has_reset=False,
        trailing_silence=1.0,  # no end-of-speech message reaches the model: its VAD needs to hear silence
        turn_idle_gap=DEFAULT_TURN_IDLE_GAP,
        default_path="/api/gemini/ws",
        description="JSON {type, data} frames; no turn events, a turn ends after an idle gap. "
        "Config: turn_idle_gap (seconds); other keys go to the server's config message.",
    )

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(config)
        gap = self.config.get("turn_idle_gap")
        if gap is not None:
            # Per instance: the session reads ``codec.info.turn_idle_gap``.
            self.info = dataclasses.replace(type(self).info, turn_idle_gap=_seconds(gap))

    def open(self) -> list[Frame]:
        data = {key: value for key, value in self.config.items() if key not in _CODEC_KEYS}
        if not data:
            return []
        return [json.dumps({"type": "config", "data": data}, default=str)]

    def encode_audio(self, pcm: bytes) -> list[Frame]:
        if not pcm:
            return []
        return [json.dumps({"type": "audio", "data": base64.b64encode(pcm).decode("ascii")})]

    def encode_text(self, text: str) -> list[Frame]:
        return [json.dumps({"type": "message", "data": {"text": text}})]

    def decode(self, frame: Frame) -> list[Event]:
        try:
            message = load_object(frame, "ai_proxy_core")
        except FrameError as exc:
            return [ProtocolError(f"Malformed ai_proxy_core frame: {exc}", excerpt(frame))]
        try:
            return _decode_message(message, frame)
        except Exception as exc:  # noqa: BLE001 - decode() must never raise; this is a bug if it happens
            return [ProtocolError("Internal error decoding an ai_proxy_core frame "
                                  f"({type(exc).__name__}: {exc})", excerpt(frame))]


def _seconds(value: Any) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if isinstance(value, bool) or not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"ai_proxy_core: turn_idle_gap must be a positive number of seconds, got {value!r}.")
    return seconds


def _decode_message(message: Mapping[str, Any], frame: Frame) -> list[Event]:
    kind = message.get("type")
    if not isinstance(kind, str):
        return [ProtocolError("Malformed ai_proxy_core frame: no string 'type'.", excerpt(frame))]
    if kind == "system":
        text = _words(message.get("data", message.get("message")))
        return [Notice(text)] if text else []
    if kind == "config_success":
        return [Notice(_words(message.get("message")) or "Configuration acknowledged")]
    if kind == "error":
        text = _words(message.get("data", message.get("message")))
        return [ServerError(text or "The server reported an error.")]
    if kind in ("response", "text"):
        text = message.get("text")
        if text is None:
            data = message.get("data")
            text = data.get("text") if isinstance(data, Mapping) else data
        if text is None or text == "":
            return []
        if not isinstance(text, str):
            return [ProtocolError("Malformed ai_proxy_core response: 'text' should be a string.",
                                  excerpt(frame))]
        return [Transcript(Speaker.MODEL, text, True, TextKind.TEXT)]
    if kind == "audio":
        return _audio(message, frame)
    return []  # newer message types: ignored, as unknown fields are


def _audio(message: Mapping[str, Any], frame: Frame) -> list[Event]:
    data = message.get("data")
    fmt = message.get("format")
    rate_value = message.get("sampleRate", message.get("sample_rate", message.get("rate")))
    if isinstance(data, Mapping):  # the shape the server accepts upstream: {"data"|"base64": ..., ...}
        fmt = data.get("format", fmt)
        data = data.get("data", data.get("base64"))
    try:
        if fmt is not None and (not isinstance(fmt, str) or fmt.strip().lower() not in _PCM_FORMATS):
            raise FrameError(f"unsupported audio format {fmt!r} (only PCM16 can be played)")
        rate = RECEIVE_RATE if rate_value is None else parse_rate(rate_value, "sampleRate")
        pcm = decode_base64(data, "data")
    except FrameError as exc:
        return [ProtocolError(f"ai_proxy_core audio was dropped: {exc}.", excerpt(frame))]
    return pcm16_events(pcm, rate)


def _words(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, default=str)


CODEC = AiProxyCoreCodec
