"""The codec interface every wire protocol implements.

A codec is *sans-I/O*: it turns what the application wants to say into frames
(``str`` for WebSocket text frames, ``bytes`` for binary ones) and turns
received frames into typed :mod:`~desktop.protocols.events`. It never touches a
socket, a clock or Qt, so it can be tested and fuzzed on plain values.

Call order, as the session does it::

    codec = SomeCodec(config)
    url = codec.url(user_url, token=...)           # before connecting
    headers = codec.headers(token=...)
    send(codec.open())                              # right after the handshake
    send(codec.encode_audio(pcm16_at_codec_send_rate))  # repeatedly
    send(codec.encode_audio_end())                  # push-to-talk released
    events = codec.decode(frame)                    # for every received frame

Every ``encode_*`` returns a list of frames, possibly empty when the protocol
has no way to say that thing (e.g. no reset message).
"""

from __future__ import annotations

import abc
import dataclasses
import urllib.parse
from collections.abc import Mapping
from typing import Any, ClassVar

from desktop.errors import InvalidEndpoint

from .events import Event

__all__ = ["Codec", "Frame", "ProtocolInfo", "split_ws_url"]

Frame = str | bytes


@dataclasses.dataclass(frozen=True, slots=True)
class ProtocolInfo:
    """What a protocol can do, for the Settings dialog and ``--list-protocols``."""

    name: str
    title: str
    send_rate: int = 16000  # Hz of the PCM16 mono audio ``encode_audio`` takes
    receive_rate: int = 24000  # Hz of received audio when a frame does not say
    has_turn_events: bool = True  # False: a turn ends after ``turn_idle_gap`` seconds of quiet
    has_interruption: bool = True
    has_reset: bool = False
    turn_idle_gap: float | None = None
    #: Seconds of silence to send after push-to-talk release where the protocol has no end-of-speech
    #: message: the server's voice activity detection ends the turn only after it hears silence.
    trailing_silence: float = 0.0
    #: Where a token goes: an ``Authorization: Bearer`` header (proxies log URLs, not headers),
    #: and also ``?token=`` for servers that only read the query (Voice Desktop's own server).
    token_in_query: bool = False
    default_path: str = "/"
    description: str = ""


class Codec(abc.ABC):
    """One wire protocol: build the URL, encode intents, decode frames."""

    info: ClassVar[ProtocolInfo]

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        #: Processor/session options sent to servers that take them (voice, model, ...).
        self.config: dict[str, Any] = dict(config or {})

    # -- connection ----------------------------------------------------------

    def url(self, base: str, *, token: str | None = None) -> str:
        """The URL to open for ``base``.

        ``base`` may be a bare server (``ws://host:port``), to which the protocol
        adds its own path and query, or a full URL with a path, used as given.
        A token, when given, is added as ``?token=`` (unless already present) only for
        protocols whose servers read it there (``info.token_in_query``); otherwise it goes
        in a header (:meth:`headers`).
        """
        scheme, netloc, path, query = split_ws_url(base)
        if path in ("", "/"):
            path = self.default_path()
            extra = self.default_query()
        else:
            extra = {}
        params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        for key, value in extra.items():
            params.setdefault(key, value)
        if token and self.info.token_in_query and "token" not in params:
            params["token"] = token
        return urllib.parse.urlunsplit((scheme, netloc, path, urllib.parse.urlencode(params), ""))

    def default_path(self) -> str:
        return self.info.default_path

    def default_query(self) -> dict[str, str]:
        return {}

    def headers(self, *, token: str | None = None) -> dict[str, str]:
        """Extra HTTP headers for the handshake: the token as ``Authorization: Bearer``."""
        return {"Authorization": f"Bearer {token}"} if token else {}

    def close_meaning(self, code: int | None, reason: str) -> tuple[bool, str] | None:
        """What a close code means for this protocol, as ``(retry, reason in words)``; None: the generic meaning.

        Override for a protocol's own 4xxx codes; the session stops retrying when ``retry`` is False.
        """
        return None

    def open(self) -> list[Frame]:
        """Frames to send right after connecting (and after every reconnect)."""
        return []

    # -- client -> server ----------------------------------------------------

    @abc.abstractmethod
    def encode_audio(self, pcm: bytes) -> list[Frame]:
        """PCM16 mono little-endian at ``info.send_rate`` Hz -> frames."""

    @abc.abstractmethod
    def encode_text(self, text: str) -> list[Frame]:
        """A typed user turn."""

    def encode_audio_end(self) -> list[Frame]:
        """The user stopped talking (push-to-talk released, mic off)."""
        return []

    def encode_activity_start(self) -> list[Frame]:
        """The user started talking (push-to-talk pressed)."""
        return []

    def encode_reset(self) -> list[Frame]:
        """Start the conversation afresh, where the protocol can say so."""
        return []

    # -- server -> client ----------------------------------------------------

    @abc.abstractmethod
    def decode(self, frame: Frame) -> list[Event]:
        """One received frame -> events. Never raises on bad input: returns a ProtocolError."""


def split_ws_url(url: str) -> tuple[str, str, str, str]:
    """Validate a WebSocket URL and split it into (scheme, netloc, path, query).

    ``http``/``https`` are accepted as spellings of ``ws``/``wss``.
    Raises :class:`InvalidEndpoint` with a readable reason otherwise.
    """
    text = (url or "").strip()
    if not text:
        raise InvalidEndpoint("The server URL is empty.")
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port  # raises ValueError on a bad port
    except ValueError as exc:
        raise InvalidEndpoint(f"{text!r} is not a valid URL: {exc}.") from None
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme.lower(), parts.scheme.lower())
    if scheme not in ("ws", "wss"):
        shown = parts.scheme or "(none)"
        raise InvalidEndpoint(f"Unsupported scheme {shown!r}: use ws:// or wss://, e.g. ws://127.0.0.1:8765.")
    if not parts.hostname:
        raise InvalidEndpoint(f"{text!r} has no host name.")
    del port
    return scheme, parts.netloc, parts.path, parts.query
