"""The session with a voice server: a pure core (:mod:`.state`) under a thin asyncio shell (:mod:`.client`)."""

from typing import TYPE_CHECKING

from .state import (
    AudioDropped,
    Backoff,
    ConnectionState,
    ConnectionStatus,
    SessionCore,
    TextAnswered,
    TextDelivered,
    TextNotAnswered,
)

if TYPE_CHECKING:
    from .client import Session


def __getattr__(name: str):
    # The shell imports websockets (~0.1 s): loaded when a session is first made, not before the window shows.
    if name == "Session":
        from .client import Session

        return Session
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AudioDropped",
    "Backoff",
    "ConnectionState",
    "ConnectionStatus",
    "Session",
    "SessionCore",
    "TextAnswered",
    "TextDelivered",
    "TextNotAnswered",
]
