"""The time and the date, here or in a city: "what's the time in Tokyo" -> "In Tokyo, it's 9:05 AM on Wednesday."

The clock is injected (a callable returning a datetime) so tests can fix the moment; cities resolve through
:mod:`desktop.assistant.cities` to IANA zones, and the conversion is zoneinfo's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from desktop.assistant.cities import find_place
from desktop.assistant.numbers import ordinal
from desktop.assistant.skills import Answer

__all__ = ["ClockSkill", "say_date", "say_time"]

_LEAD = (r"(?:(?:hey|hi|ok|okay|so|um|uh|please|excuse me|sorry|and|assistant)\s+)*"
         r"(?:(?:can|could|would|will) you (?:please )?)?"
         r"(?:(?:tell|give) me |do you know |i want to know |i would like to know |i need )?")
_TIME = (r"(?:what is |whats )?(?:the )?(?:current |local |exact )?time(?: is it| it is)?"
         r"|what time(?: is it| it is)?|what hour is it|how late is it")
_DATE = (r"(?:what is |whats )?(?:the )?(?:current )?date(?: is it| it is)?|what is todays date|todays date"
         r"|what is the day|(?:what|which) day(?: of the week)?(?: is it| it is| is today)?|what is today"
         r"|what month is it|what year is it")
_TAIL = r"(?: (?:right now|now|today|please|currently|at the moment|there|here))*"
_PLACE = r"(?: (?:in|at|for) (?P<place>[a-z0-9 /_]+?))?"


def _pattern(core: str) -> re.Pattern[str]:
    return re.compile(rf"^{_LEAD}(?:{core}){_TAIL}{_PLACE}{_TAIL}$")


_TIME_RE = _pattern(_TIME)
_DATE_RE = _pattern(_DATE)
_PLACE_TIME_RE = re.compile(rf"^{_LEAD}(?:what is )?(?:the )?(?:current )?(?P<place>[a-z ]+?) time{_TAIL}$")

SOURCE_TIME = "skill:time"
SOURCE_DATE = "skill:date"


def say_time(moment: datetime) -> str:
    """"3:05 PM", "3 PM", "noon", "midnight": a time as it is read aloud."""
    if moment.minute == 0:
        if moment.hour == 0:
            return "midnight"
        if moment.hour == 12:
            return "noon"
    hour = moment.hour % 12 or 12
    half = "AM" if moment.hour < 12 else "PM"
    return f"{hour} {half}" if moment.minute == 0 else f"{hour}:{moment.minute:02d} {half}"


def say_date(moment: datetime) -> str:
    """"Tuesday, December 1st, 2026"."""
    return f"{moment:%A}, {moment:%B} {ordinal(moment.day)}, {moment.year}"


class ClockSkill:
    """Answers "what time is it", "what's the date", and both "in <city>"."""

    def __init__(self, now: Callable[[], datetime], zone: tzinfo | None = None) -> None:
        self._now = now
        self._zone = zone

    def local_now(self) -> datetime:
        """Now in the assistant's zone: the configured one, else the system's."""
        moment = self._now()
        if moment.tzinfo is None:
            return moment.replace(tzinfo=self._zone) if self._zone else moment.astimezone()
        return moment.astimezone(self._zone) if self._zone else moment.astimezone()

    def __call__(self, text: str) -> Answer | None:
        for regex, source in ((_TIME_RE, SOURCE_TIME), (_DATE_RE, SOURCE_DATE), (_PLACE_TIME_RE, SOURCE_TIME)):
            match = regex.match(text)
            if match:
                return self._answer(source, match.group("place"), strict=regex is _PLACE_TIME_RE)
        return None

    def _answer(self, source: str, place_words: str | None, *, strict: bool) -> Answer | None:
        here = self.local_now()
        if not place_words:
            if source == SOURCE_TIME:
                return Answer.say(source, f"It's {say_time(here)}.")
            return Answer.say(source, f"Today is {say_date(here)}.")
        place = find_place(place_words, exact=strict)
        if place is None:
            if strict:  # "dinner time" is not a place
                return None
            return Answer.say(source, f"I don't know the time zone of {place_words.title()}.")
        there = here.astimezone(ZoneInfo(place.zone))
        if source == SOURCE_TIME:
            return Answer.say(source, f"In {place.name}, it's {say_time(there)} on {there:%A}.")
        return Answer.say(source, f"In {place.name}, it's {say_date(there)}.")
