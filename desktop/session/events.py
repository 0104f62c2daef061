"""What a session reports besides the protocol's own events: connection status and typed-text/audio outcomes.

Plain frozen values, produced by :class:`~desktop.session.state.SessionCore` and passed on unchanged by the
shell to ``on_status`` / ``on_event``.
"""

from __future__ import annotations

import dataclasses
import enum

from desktop.protocols.events import Event

__all__ = [
    "AudioDropped",
    "ConnectionState",
    "ConnectionStatus",
    "TextAnswered",
    "TextDelivered",
    "TextNotAnswered",
]


class ConnectionState(enum.Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"  # waiting out a backoff delay
    DISCONNECTED = "disconnected"  # closed for good (by us, or reconnecting is off)
    ERROR = "error"  # will not retry: the user must change something


@dataclasses.dataclass(frozen=True, slots=True)
class ConnectionStatus:
    state: ConnectionState
    reason: str = ""
    retry_in: float | None = None  # seconds until the next attempt, while RECONNECTING
    attempt: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class TextDelivered(Event):
    """A typed turn queued with ``send_text`` has been handed to the socket (again, after a resend)."""

    message_id: int


@dataclasses.dataclass(frozen=True, slots=True)
class TextAnswered(Event):
    """The server began the reply to this typed turn. Reported once per text."""

    message_id: int


@dataclasses.dataclass(frozen=True, slots=True)
class TextNotAnswered(Event):
    """The session ended (closed, reset) before this typed turn was answered; ``written`` if it left."""

    message_id: int
    text: str
    written: bool


@dataclasses.dataclass(frozen=True, slots=True)
class AudioDropped(Event):
    """``frames`` parts of the user's audio were not sent, and why (not connected, backlog, connection lost)."""

    frames: int
    reason: str
