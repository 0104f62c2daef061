"""Spans of time in words: "five minutes", "an hour and a half", "1 hour 30 minutes" <-> seconds;
and times of day ("at 5 pm", "at 17:30", "at noon") as the next moment they name."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from fractions import Fraction

from desktop.assistant.numbers import parse_number, say_number

__all__ = ["find_clock_time", "find_duration", "parse_duration", "say_duration"]

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


_MERIDIEM = {("am",): "am", ("a", "m"): "am", ("pm",): "pm", ("p", "m"): "pm", ("in", "the", "morning"): "am",
             ("in", "the", "afternoon"): "pm", ("in", "the", "evening"): "pm", ("at", "night"): "pm",
             ("tonight",): "pm", ("this", "evening"): "pm", ("this", "afternoon"): "pm"}


def _clock_time_at(words: list[str], i: int) -> tuple[int, int, str | None, int] | None:
    """(hour, minute, "am"/"pm"/None, index after) for "5 pm", "5:30", "five thirty p m", "17:45", "noon"."""
    if words[i] in ("noon", "midday"):
        return 12, 0, "pm", i + 1
    if words[i] == "midnight":
        return 0, 0, "am", i + 1
    if re.fullmatch(r"\d{1,2}:\d{2}", words[i]):
        hour, minute = (int(part) for part in words[i].split(":"))
        j = i + 1
    else:
        parsed = parse_number(words, i)
        if parsed is None or parsed[0].denominator != 1:
            return None
        hour, j = int(parsed[0]), parsed[1]
        minute = 0
        if j < len(words) and words[j] not in ("and",):
            more = parse_number(words, j)
            if more is not None and more[0].denominator == 1 and 0 <= more[0] < 60:
                minute, j = int(more[0]), more[1]
            elif words[j] == "oh" and j + 1 < len(words):  # "five oh five"
                more = parse_number(words, j + 1)
                if more is not None and more[0] < 10:
                    minute, j = int(more[0]), more[1]
    if j < len(words) and words[j] == "oclock":
        j += 1
    meridiem = None
    for phrase, which in _MERIDIEM.items():
        if tuple(words[j:j + len(phrase)]) == phrase:
            meridiem, j = which, j + len(phrase)
            break
    if not (0 <= hour <= 23 and 0 <= minute <= 59) or (meridiem and not 1 <= hour <= 12):
        return None
    if j < len(words) and words[j] in _UNIT_SECONDS:
        return None  # "for 5 minutes" is a duration
    if meridiem is None and j - i == 1 and not re.fullmatch(r"\d{1,2}:\d{2}", words[i]) \
            and words[i - 1] not in ("at", "for"):
        return None  # a bare number is a time of day only after "at" or "for"
    return hour, minute, meridiem, j


def find_clock_time(words: list[str], now: datetime) -> tuple[datetime, int, int] | None:
    """The next moment named by "at 5 pm", "at 17:30", "for 7 am", "at noon" in ``words``: (when, start, end).

    ``now`` is aware; a time without am/pm is the next one to come (5 -> 5 AM or 5 PM, whichever is sooner).
    """
    for start in range(1, len(words)):
        if words[start - 1] not in ("at", "for", "until", "till"):
            continue
        found = _clock_time_at(words, start)
        if found is None:
            continue
        hour, minute, meridiem, end = found
        if meridiem == "pm" and hour < 12:
            hour += 12
        elif meridiem == "am" and hour == 12:
            hour = 0
        candidates = [hour] if meridiem or hour >= 13 or hour == 0 else [hour % 12, hour % 12 + 12]
        moments = []
        for h in candidates:
            moment = now.replace(hour=h, minute=minute, second=0, microsecond=0)
            if moment <= now:
                moment += timedelta(days=1)
            moments.append(moment)
        return min(moments), start - 1, end
    return None
