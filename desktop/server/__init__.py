"""The embedded live_server-compatible WebSocket server."""

from .live_server import LiveServer

__all__ = ["LiveServer"]
