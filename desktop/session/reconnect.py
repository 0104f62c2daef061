"""Reconnect policy as values: the backoff curve and what a close code means.

Pure and clock-free; :class:`~desktop.session.state.SessionCore` applies them with the time it is given.
"""

from __future__ import annotations

import dataclasses
import random

__all__ = ["Backoff", "CloseVerdict", "describe_close"]


@dataclasses.dataclass(slots=True)
class Backoff:
    """Exponential backoff with full jitter, capped."""

    initial: float = 0.5
    factor: float = 2.0
    cap: float = 30.0
    rng: random.Random = dataclasses.field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        ceiling = min(self.cap, self.initial * self.factor ** max(0, attempt - 1))
        return self.rng.uniform(ceiling / 2, ceiling)


@dataclasses.dataclass(frozen=True, slots=True)
class CloseVerdict:
    """What a close means: ``retry`` or not, and the reason in words."""

    retry: bool
    reason: str


def describe_close(code: int | None, reason: str = "") -> CloseVerdict:
    """The generic meaning of a WebSocket close code; codecs refine it with ``Codec.close_meaning``."""
    said = f": {reason}" if reason else ""
    if code is None or code == 1006:
        return CloseVerdict(True, "Connection lost (the server went away)")
    if code == 1000:
        return CloseVerdict(True, "The server closed the connection" + said)
    if code == 1001:
        return CloseVerdict(True, "The server is going away" + said)
    if code == 1008:
        return CloseVerdict(False, "The server refused this session (policy violation, code 1008)" + said
                            + ". Check the token and settings, then retry.")
    if code == 1003:
        return CloseVerdict(False, "The server does not accept what this client sends (code 1003)" + said
                            + ". Check the protocol in Settings.")
    if code == 1009:
        return CloseVerdict(True, "A message was larger than the server accepts (1009)")
    if code == 1011 and "keepalive" in reason:
        return CloseVerdict(True, "The server stopped answering (no reply to keepalive pings)")
    if code in (4001, 4003, 4401, 4403):
        return CloseVerdict(False, f"The server refused the token (code {code})" + said
                            + ". Check the token or API key in Settings.")
    return CloseVerdict(True, f"The connection closed (code {code}{said})")
