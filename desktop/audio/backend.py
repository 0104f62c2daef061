"""The seam between the controller and the audio devices: builds the capture and playback objects."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["SPEAKER_IDLE_S", "AudioBackend"]

SPEAKER_IDLE_S = 4.0


class AudioBackend:
    """Builds the capture and playback objects; a seam so the app can run without devices."""

    def __init__(self, input_device: str | None = None, output_device: str | None = None,
                 jitter_ms: int = 60) -> None:
        self.input_device = input_device or None
        self.output_device = output_device or None
        self.jitter_ms = jitter_ms

    def capture(self, *, on_error: Callable[[str], None]):
        from desktop.audio.capture import Capture

        return Capture(self.input_device, on_error=on_error)

    def player(self, *, on_error: Callable[[str], None], latency: float | str = "low"):
        from desktop.audio.playback import Player

        # The speaker closes after a few quiet seconds (idle: no device open) and reopens on the next reply.
        return Player(self.output_device, jitter_ms=self.jitter_ms, on_error=on_error, idle_close_s=SPEAKER_IDLE_S,
                      latency=latency)


