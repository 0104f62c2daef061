"""Typed events a codec decodes from the wire.

Everything above ``desktop.protocols`` sees these values, never mimetypes or
metadata keys. They are frozen so they can be shared between the UI, the
player and the transcript log without copying.
"""

from __future__ import annotations

import dataclasses
import enum

__all__ = [
    "Audio",
    "Event",
    "Health",
    "Interrupted",
    "Notice",
    "ProtocolError",
    "ServerError",
    "SessionUpdate",
    "Speaker",
    "TextKind",
    "Transcript",
    "TurnComplete",
]


class Speaker(enum.Enum):
    USER = "user"
    MODEL = "model"


class TextKind(enum.Enum):
    TEXT = "text"  # the model's written reply (or a user's typed turn echoed back)
    TRANSCRIPTION = "transcription"  # speech recognised from audio


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    """Base class of every decoded event."""


@dataclasses.dataclass(frozen=True, slots=True)
class Transcript(Event):
    """A piece of text to show in the transcript.

    ``final=False`` marks tentative text that a later piece may revise;
    consecutive pieces of one turn are appended.
    """

    speaker: Speaker
    text: str
    final: bool = True
    kind: TextKind = TextKind.TEXT


@dataclasses.dataclass(frozen=True, slots=True)
class Audio(Event):
    """PCM16 little-endian audio to play at ``rate`` Hz with ``channels`` interleaved channels."""

    pcm: bytes
    rate: int
    channels: int = 1

    @property
    def duration(self) -> float:
        return len(self.pcm) / (2 * self.channels * self.rate)


@dataclasses.dataclass(frozen=True, slots=True)
class TurnComplete(Event):
    """The model has finished its reply (live_server's ``generation_complete``)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Interrupted(Event):
    """The model's reply was cut short: drop queued audio now.

    ``connection_lost`` tells a reply cut off by the connection dropping from
    one the server interrupted (usually because the user spoke).
    """

    connection_lost: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Health(Event):
    """The server (re)started its processor and is ready."""


@dataclasses.dataclass(frozen=True, slots=True)
class ServerError(Event):
    """The server reported an error in words meant for the user."""

    message: str


@dataclasses.dataclass(frozen=True, slots=True)
class ProtocolError(Event):
    """A frame that could not be understood. The connection stays up."""

    message: str
    excerpt: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Notice(Event):
    """An informational message from the server (e.g. ai-proxy-core's ``system``)."""

    message: str


@dataclasses.dataclass(frozen=True, slots=True)
class SessionUpdate(Event):
    """Session-level control the client acts on but never shows as text.

    ``going_away`` is set when the server announced it will close soon
    (``time_left`` seconds, when it said); ``resumption_handle`` is the latest
    handle to resume with.
    """

    going_away: bool = False
    time_left: float | None = None
    resumption_handle: str | None = None
    usage: dict | None = None
