"""Spans of time in words: "five minutes", "an hour and a half", "1 hour 30 minutes" <-> seconds."""

from __future__ import annotations

from fractions import Fraction

from desktop.assistant.numbers import parse_number, say_number

__all__ = ["find_duration", "parse_duration", "say_duration"]

_UNIT_SECONDS = {
    "second": 1, "seconds": 1, "sec": 1, "secs": 1, "s": 1,
    "minute": 60, "minutes": 60, "min": 60, "mins": 60,
    "hour": 3600, "hours": 3600, "hr": 3600, "hrs": 3600, "h": 3600,
    "day": 86400, "days": 86400,
}


def _one_amount(words: list[str], i: int) -> tuple[Fraction, int] | None:
    """"5 minutes", "an hour", "half an hour", "a minute and a half", "two and a half hours"."""
    n = len(words)
    if i + 2 < n and words[i] == "half" and words[i + 1] in ("a", "an") and words[i + 2] in _UNIT_SECONDS:
        return Fraction(_UNIT_SECONDS[words[i + 2]], 2), i + 3
    if i + 3 < n and words[i] in ("a", "one") and words[i + 1] == "quarter" and words[i + 2] in ("of",) \
            and words[i + 3] in ("a", "an") and i + 4 < n and words[i + 4] in _UNIT_SECONDS:
        return Fraction(_UNIT_SECONDS[words[i + 4]], 4), i + 5
    if i + 1 < n and words[i] in ("a", "an") and words[i + 1] in _UNIT_SECONDS:
        amount, j = Fraction(1), i + 1
    else:
        parsed = parse_number(words, i)
        if parsed is None or parsed[1] >= n or words[parsed[1]] not in _UNIT_SECONDS:
            return None
        amount, j = parsed
    seconds = amount * _UNIT_SECONDS[words[j]]
    j += 1
    if j + 2 < n + 0 and words[j] == "and" and words[j + 1] in ("a", "an") and words[j + 2] == "half":
        seconds += Fraction(_UNIT_SECONDS[words[j - 1]], 2)
        j += 3
    return seconds, j


def parse_duration(words: list[str], start: int = 0) -> tuple[Fraction, int] | None:
    """Read a duration at ``words[start]``: (seconds, index after it) or None. Joins "1 hour (and) 30 minutes"."""
    first = _one_amount(words, start)
    if first is None:
        return None
    seconds, i = first
    while True:
        j = i + 1 if i < len(words) and words[i] == "and" else i
        more = _one_amount(words, j)
        if more is None:
            return seconds, i
        seconds += more[0]
        i = more[1]


def find_duration(words: list[str]) -> tuple[Fraction, int, int] | None:
    """The first duration anywhere in ``words``: (seconds, start, end), or None."""
    for start in range(len(words)):
        found = parse_duration(words, start)
        if found is not None:
            return found[0], start, found[1]
    return None


def say_duration(seconds: float | Fraction) -> str:
    """Seconds as a speaker would say them: "5 minutes", "1 hour and 30 minutes", "0.2 seconds"."""
    seconds = Fraction(seconds).limit_denominator(1000)
    if seconds < 60 and seconds.denominator != 1:
        return f"{say_number(seconds)} seconds"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    for amount, unit in ((hours, "hour"), (minutes, "minute"), (secs, "second")):
        if amount:
            parts.append(f"{amount} {unit}" + ("" if amount == 1 else "s"))
    if not parts:
        return "0 seconds"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
