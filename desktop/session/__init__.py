"""The WebSocket connection to a voice server: connect, reconnect, send and receive."""

from .client import Backoff, ConnectionState, ConnectionStatus, Session, TextDelivered

__all__ = ["Backoff", "ConnectionState", "ConnectionStatus", "Session", "TextDelivered"]
