"""Helpers shared by the JSON codecs: strict frame loading, liberal base64, rate checks.

One place for the rules every codec applies to what it receives, so a bad
frame is described the same way whichever protocol it came in on.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from typing import Any

# orjson/pybase64 are the server's per-frame cost (bench/): each is tried first and any input it refuses falls back to
# the standard library, so what is accepted, and every error message, stays the standard library's.
import orjson
import pybase64

from .base import Frame
from .events import Audio, Event, ProtocolError

__all__ = [
    "MAX_RATE",
    "MIN_RATE",
    "FrameError",
    "decode_base64",
    "dumps",
    "dumps_bytes",
    "encode_base64",
    "excerpt",
    "is_true",
    "load_object",
    "mimetype_rate",
    "parse_rate",
    "pcm16_events",
]

MIN_RATE = 4000
MAX_RATE = 384000
_EXCERPT_CHARS = 120


class FrameError(ValueError):
    """A frame (or a field of one) that cannot be understood; the text says why."""


def excerpt(frame: Frame) -> str:
    """A short printable prefix of ``frame`` for error reports."""
    text = frame if isinstance(frame, str) else repr(bytes(frame[:_EXCERPT_CHARS]))
    return text if len(text) <= _EXCERPT_CHARS else text[:_EXCERPT_CHARS] + "…"


def load_object(frame: Frame, protocol: str) -> dict[str, Any]:
    """Parse a frame that must hold one JSON object (binary frames must be UTF-8 JSON)."""
    if isinstance(frame, (bytes, bytearray, memoryview)):
        try:
            frame = bytes(frame).decode("utf-8")
        except UnicodeDecodeError:
            raise FrameError(f"binary frame is not UTF-8 JSON ({protocol} sends JSON text frames)") from None
    if not isinstance(frame, str):
        raise FrameError(f"frame of type {type(frame).__name__} is neither text nor bytes")
    try:
        message = orjson.loads(frame)
    except orjson.JSONDecodeError:  # NaN, >64-bit ints, lone surrogates, deep nesting, or truly bad JSON
        message = _stdlib_loads(frame)
    if not isinstance(message, dict):
        raise FrameError(f"frame is JSON {type(message).__name__}, expected an object")
    return message


def _stdlib_loads(frame: str) -> Any:
    try:
        return json.loads(frame)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, huge ints, deep nesting
        raise FrameError(f"frame is not valid JSON: {exc}") from None


def decode_base64(data: Any, field: str) -> bytes:
    """Standard or URL-safe base64, with or without padding; whitespace is ignored."""
    if not isinstance(data, str):
        raise FrameError(f"{field!r} should be a base64 string, got {type(data).__name__}")
    try:  # the common case: standard alphabet, padded, no whitespace; the cleaning below would change nothing
        return pybase64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        pass
    cleaned = "".join(data.split()).rstrip("=").translate(_URLSAFE)
    if len(cleaned) % 4 == 1:
        raise FrameError(f"{field!r} is not valid base64 (truncated: {len(cleaned)} characters)")
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FrameError(f"{field!r} is not valid base64: {exc}") from None


_URLSAFE = str.maketrans("-_", "+/")


def encode_base64(data: bytes) -> str:
    """Standard padded base64 as text (what every protocol here sends)."""
    return pybase64.b64encode(data).decode("ascii")


# Types orjson would write differently from ``json.dumps(default=str)``: hand them to ``default`` instead.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME


def dumps_bytes(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON; anything unknown becomes ``str(x)``, like ``json.dumps(default=str)``."""
    try:
        return orjson.dumps(value, default=str, option=_ORJSON_OPTIONS)
    except TypeError:  # non-string keys, >64-bit ints, deep nesting: the standard library copes
        return json.dumps(value, default=str, separators=(",", ":")).encode("ascii")


def dumps(value: Any) -> str:
    """:func:`dumps_bytes` as text, for text frames sent through a str API."""
    return dumps_bytes(value).decode("utf-8")


def parse_rate(value: Any, what: str = "sample rate") -> int:
    """A sample rate from a JSON value (int, integral float or digit string), range-checked."""
    rate: int | None = None
    if isinstance(value, bool):
        rate = None
    elif isinstance(value, int):
        rate = value
    elif isinstance(value, float) and value.is_integer():
        rate = int(value)
    elif isinstance(value, str) and value.strip().isdigit() and value.strip().isascii() and len(value.strip()) < 10:
        rate = int(value.strip())  # the length bound keeps int() clear of Python's digit limit
    if rate is None or not MIN_RATE <= rate <= MAX_RATE:
        raise FrameError(f"unusable {what} {value!r} (expected {MIN_RATE} to {MAX_RATE} Hz)")
    return rate


@functools.lru_cache(maxsize=256)  # a stream repeats one mimetype 50 times a second; errors are not cached
def mimetype_rate(mimetype: str, default: int) -> int:
    """The ``rate=`` parameter of an audio mimetype, ``default`` when absent; invalid -> FrameError."""
    for param in mimetype.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "rate":
            return parse_rate(value.strip(), f"rate in {mimetype!r}")
    return default


def pcm16_events(pcm: bytes, rate: int) -> list[Event]:
    """``Audio`` for whole PCM16 samples, plus a ProtocolError when a stray byte had to go."""
    events: list[Event] = []
    if len(pcm) % 2:
        events.append(ProtocolError(f"Audio of {len(pcm)} bytes is not whole PCM16 samples; "
                                    "the last byte was dropped."))
        pcm = pcm[:-1]
    if pcm:
        events.insert(0, Audio(pcm, rate))
    return events


def is_true(value: Any) -> bool:
    """JSON ``true`` (and nothing else: ``"false"`` or ``1`` are not flags)."""
    return value is True
