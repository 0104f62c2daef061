"""Helpers for driving the offline processor: turns as a client sends them, replies as it reads them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

from desktop.parts import Part

__all__ = ["MIC_OFF", "audio_parts", "hour_heard", "hour_named", "input_text", "output_text", "spoken", "typed"]

MIC_OFF = Part(text="", role="user", substream_name="realtime", metadata={"audio_stream_end": True})
STEP = 640  # 20 ms at 16 kHz


def audio_parts(pcm: bytes, rate: int = 16000, *, step: int = STEP) -> list[Part]:
    return [Part(data=pcm[i:i + step], mimetype=f"audio/pcm;rate={rate}", role="user", substream_name="realtime")
            for i in range(0, len(pcm), step)]


def spoken(pcm: bytes) -> list[Part]:
    """A push-to-talk turn: the audio, then mic off."""
    return [*audio_parts(pcm), MIC_OFF]


def typed(text: str) -> Part:
    return Part(text=text, role="user", metadata={"turn_complete": True})


def input_text(parts: Iterable[Part], *, final: bool = True) -> str:
    return "".join(p.text or "" for p in parts
                   if p.substream_name == "input_transcription" and p.metadata.get("is_final") is final)


def output_text(parts: Iterable[Part]) -> str:
    return "".join(p.text or "" for p in parts if p.substream_name == "output_transcription")


def model_text(parts: Iterable[Part]) -> str:
    return "".join(p.text or "" for p in parts
                   if p.is_text and p.role == "model" and p.substream_name == "" and p.mimetype == "text/plain")


def hour_named(text: str, moments: Iterable[datetime]) -> bool:
    """Does ``text`` say the hour of one of ``moments`` ("9:05 AM", "9 AM", "noon", "midnight")?"""
    for moment in moments:
        hour, half = moment.hour % 12 or 12, "AM" if moment.hour < 12 else "PM"
        if re.search(rf"\b{hour}(:\d\d)? ?{half}\b", text) or (moment.minute == 0 and re.search(
                {0: r"\bmidnight\b", 12: r"\bnoon\b"}.get(moment.hour, "$^"), text)):
            return True
    return False


#: How Whisper may write an hour it hears spoken: the word, or a word that sounds the same ("It's for 52PM."
#: for "It's 4:52 PM." was seen).
_HOUR_SPOKEN = {1: ("one", "won"), 2: ("two", "to", "too"), 3: ("three",), 4: ("four", "for"), 5: ("five",),
                6: ("six",), 7: ("seven",), 8: ("eight", "ate"), 9: ("nine",), 10: ("ten",), 11: ("eleven",),
                12: ("twelve", "noon", "midnight")}


def hour_heard(heard: str, moments: Iterable[datetime]) -> bool:
    """Does a transcript of the spoken reply name the hour of one of ``moments``: as digits ("4:52", "452"),
    or as the word Whisper wrote for its sound?"""
    tokens = re.sub(r"[^a-z0-9]+", " ", heard.lower()).split()
    for moment in moments:
        hour = moment.hour % 12 or 12
        if str(hour) in heard or any(word in tokens for word in _HOUR_SPOKEN[hour]):
            return True
    return False


def utc_now() -> datetime:
    return datetime.now(UTC)
