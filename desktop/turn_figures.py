"""The figures of the last turn that the diagnostics panel shows and the log records."""

from __future__ import annotations

import time

__all__ = ["TurnFigures"]


class TurnFigures:
    """Time to first audio of the last turn, and what was lost on the way.

    The wait runs from the release (or the send) to the reply's first audio, or from the press if the reply
    began while the user still talked (an echo does).
    """

    def __init__(self) -> None:
        self._mark: float | None = None
        self.first_audio_ms: float | None = None
        self.frames_dropped = 0

    def mark(self, *, end_of_speech: bool = False) -> None:
        """A turn starts (press, send): its first audio is not known yet. At the release, the wait restarts
        unless the reply already began."""
        if not end_of_speech:
            self.first_audio_ms = None
        if self.first_audio_ms is None:
            self._mark = time.monotonic()

    def audio_arrived(self) -> None:
        if self._mark is not None:
            self.first_audio_ms, self._mark = (time.monotonic() - self._mark) * 1000, None

    def snapshot(self, player, session) -> dict[str, float | int | None]:
        """Keys: see desktop/ui/diagnostics.py; None: not known (no speaker, no session, no reply yet)."""
        round_trip = session.round_trip_s if session is not None else None
        return {
            "first_audio_ms": self.first_audio_ms,
            "round_trip_ms": round_trip * 1000 if round_trip is not None else None,
            "buffered_ms": player.buffered_ms if player is not None else None,
            "target_ms": player.target_ms if player is not None else None,
            "added_latency_ms": player.added_latency_ms if player is not None else None,
            "underruns": player.underruns if player is not None else None,
            "stall_ms": player.stall_ms if player is not None else None,
            "device_underflows": player.device_underflows if player is not None else None,
            "frames_dropped": self.frames_dropped,
        }
