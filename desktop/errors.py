"""The one exception tree of Voice Desktop.

Every error carries a message written for the person using the app: what went
wrong and, where there is one, what to do about it.
"""

from __future__ import annotations

__all__ = [
    "AudioDeviceError",
    "AudioFormatError",
    "AuthRefused",
    "ConnectFailed",
    "InvalidEndpoint",
    "UnknownProtocol",
    "VoiceDesktopError",
]


class VoiceDesktopError(Exception):
    """Base class of every error this package raises on purpose."""


class UnknownProtocol(VoiceDesktopError, LookupError):
    """No protocol (built-in or plugin) has the requested name."""


class InvalidEndpoint(VoiceDesktopError, ValueError):
    """A server URL that cannot be used: bad syntax, unknown scheme, missing host."""


class ConnectFailed(VoiceDesktopError, ConnectionError):
    """The server could not be reached or refused the WebSocket handshake."""


class AuthRefused(ConnectFailed):
    """The server refused the handshake because of a missing or wrong token (HTTP 401/403)."""


class AudioDeviceError(VoiceDesktopError, OSError):
    """An audio device is missing, busy, or failed while streaming."""


class AudioFormatError(VoiceDesktopError, ValueError):
    """Audio in a form we cannot use: not PCM16, a bad rate, an unreadable WAV file."""
