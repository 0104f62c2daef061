"""The unit of content that processors consume and produce.

A :class:`Part` mirrors genai-processors' ``ProcessorPart`` closely enough that
the embedded server can speak that project's ``live_server`` wire protocol
without depending on it: a payload (text or bytes) plus ``mimetype``, ``role``,
``substream_name`` and free-form ``metadata``.

Control meaning (turn ends, interruptions, mic off) travels in metadata, as in
genai-processors. The helpers below are the one place that spells those keys, so
processors never repeat the strings.
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = [
    "STATE_MIMETYPE",
    "Part",
    "audio_rate",
    "is_audio",
]

STATE_MIMETYPE = "application/x-state"
TEXT_MIMETYPE = "text/plain"

# Substreams with a meaning of their own on the wire.
REALTIME = "realtime"
INPUT_TRANSCRIPTION = "input_transcription"
OUTPUT_TRANSCRIPTION = "output_transcription"


@dataclasses.dataclass(slots=True)
class Part:
    """One piece of content: text *or* bytes, with its routing and metadata."""

    text: str | None = None
    data: bytes | None = None
    mimetype: str = TEXT_MIMETYPE
    role: str = ""
    substream_name: str = ""
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)

    # -- constructors -------------------------------------------------------

    @classmethod
    def audio(cls, pcm: bytes, rate: int, *, role: str = "model", substream_name: str = "") -> Part:
        """A PCM16 mono little-endian audio part at ``rate`` Hz."""
        return cls(data=pcm, mimetype=f"audio/pcm;rate={rate}", role=role, substream_name=substream_name)

    @classmethod
    def model_text(cls, text: str, **metadata: Any) -> Part:
        return cls(text=text, role="model", metadata=dict(metadata))

    @classmethod
    def transcription(cls, text: str, *, user: bool, final: bool) -> Part:
        """A transcript of what the user said (``user=True``) or the model says."""
        return cls(
            text=text,
            role="user" if user else "model",
            substream_name=INPUT_TRANSCRIPTION if user else OUTPUT_TRANSCRIPTION,
            metadata={"is_final": final},
        )

    @classmethod
    def state(cls, **metadata: Any) -> Part:
        """An empty control part, e.g. ``Part.state(generation_complete=True)``."""
        return cls(text="", mimetype=STATE_MIMETYPE, role="model", metadata=dict(metadata))

    @classmethod
    def control(cls, **metadata: Any) -> Part:
        """An empty ``text/plain`` part carrying control metadata (turn_complete, go_away, ...)."""
        return cls(text="", role="model", metadata=dict(metadata))

    @classmethod
    def generation_complete(cls) -> Part:
        return cls.state(generation_complete=True)

    @classmethod
    def interrupted(cls) -> Part:
        return cls.state(interrupted=True)

    @classmethod
    def error(cls, message: str) -> Part:
        """A user-readable error the client shows; the connection stays open."""
        return cls.state(error=message)

    @classmethod
    def health_check(cls) -> Part:
        return cls(text="", metadata={"health_check": True})

    # -- predicates used by processors ---------------------------------------

    @property
    def is_audio(self) -> bool:
        return is_audio(self.mimetype)

    @property
    def is_audio_stream_end(self) -> bool:
        """The user turned the mic off: the end of their spoken turn."""
        return bool(self.metadata.get("audio_stream_end"))

    @property
    def is_activity_start(self) -> bool:
        return bool(self.metadata.get("activity_start"))

    @property
    def is_activity_end(self) -> bool:
        return bool(self.metadata.get("activity_end"))

    @property
    def is_turn_complete(self) -> bool:
        return bool(self.metadata.get("turn_complete"))

    @property
    def is_text(self) -> bool:
        return self.data is None and self.mimetype.startswith("text/")


def is_audio(mimetype: str) -> bool:
    return mimetype.lower().startswith("audio/")


def audio_rate(mimetype: str, default: int | None = None) -> int | None:
    """The ``rate=`` parameter of an audio mimetype, e.g. ``audio/pcm;rate=24000`` -> 24000.

    Returns ``default`` when the mimetype has no (valid) rate.
    """
    for param in mimetype.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "rate":
            try:
                rate = int(value.strip())
            except ValueError:
                return default
            return rate if rate > 0 else default
    return default
