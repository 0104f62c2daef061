"""The session with a voice server: a pure core (:mod:`.state`) under a thin asyncio shell (:mod:`.client`)."""

from .client import Session
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
