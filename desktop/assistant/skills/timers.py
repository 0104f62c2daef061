"""Timers, reminders and alarms that fire later in the session: "set a timer for 5 minutes for tea",
"remind me in 10 minutes to call mum", "remind me at 5 pm to ...", "set an alarm for 7 am",
"cancel the tea timer", "what timers do I have".

Each timer is an asyncio task owned by the :class:`TimerBook` (cancelled by :meth:`TimerBook.close`); when it
fires, its notice ("Timer: tea, 5 minutes, done.") goes to a callback the Assistant queues for the speaker.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import re
from collections.abc import Callable
from datetime import datetime
from fractions import Fraction

from desktop.assistant.durations import find_clock_time, find_duration, say_duration
from desktop.assistant.skills import Answer
from desktop.assistant.skills.clock import say_time

__all__ = ["Timer", "TimerBook", "TimerSkill"]

SOURCE = "skill:timer"
MAX_TIMERS = 20
MAX_SECONDS = 24 * 3600

_SET_FILLER = {"set", "start", "create", "make", "put", "on", "up", "a", "an", "the", "me", "please", "can", "you",
               "could", "would", "new", "hey", "ok", "okay", "timer", "for", "my", "countdown", "of", "and", "just"}
_REMIND = re.compile(
    r"(?:^|\b)(?:(?:hey|ok|okay|please|can you|could you|would you)\s+)*"
    r"(?:remind me|(?:set|create|make|add) (?:a |me a )?reminder|reminder)\b\s*"
)
_LIST = re.compile(
    r"\b(?:(?:list|show|check)(?: me)?(?: all)? (?:my |the )?(?:timers?|reminders?)|what (?:timers|reminders)"
    r"|any (?:timers|reminders)|how (?:long|much time|much longer)(?: is)? (?:left|remaining|to go)"
    r"|how long (?:until|till|on) (?:the|my)|time left|(?:timers?|reminders?) (?:left|running|set)"
    r"|do i have (?:any )?(?:timers|reminders)|what are (?:my|the) (?:timers|reminders)"
    r"|^(?:my )?timers$|^(?:my )?reminders$)"
)
_CANCEL = re.compile(
    r"^(?:(?:hey|ok|okay|please|can you|could you)\s+)*(?:cancel|stop|delete|remove|clear|end|turn off|dismiss)"
    r"\s+(?P<what>.*?)\b(?P<kind>timers?|reminders?|alarms?|countdowns?)\b(?P<after>.*)$"
)
_ALARM = re.compile(r"\b(?:alarms?|wake me(?: up)?)\b")
_PRONOUNS = {"my": "your", "me": "you", "i": "you", "myself": "yourself", "mine": "yours", "am": "are",
             "i'm": "you're"}


@dataclasses.dataclass
class Timer:
    """One running timer or reminder."""

    number: int
    seconds: Fraction
    label: str  # "tea" for a timer, "call your mum" for a reminder; may be empty for a timer
    reminder: bool
    due: float  # loop time
    at: str = ""  # the time of day it was set for ("7 AM"), if it was
    alarm: bool = False
    task: asyncio.Task[None] | None = None

    def notice(self) -> str:
        if self.alarm:
            return f"Alarm: it's {self.at}." if self.at else "Alarm: time's up."
        if self.reminder:
            return f"Reminder: {self.label}."
        if self.label:
            return f"Timer: {self.label}, {say_duration(self.seconds)}, done."
        return f"Timer: {say_duration(self.seconds)}, done."

    def name(self) -> str:
        if self.alarm:
            return f"the {self.at} alarm" if self.at else "the alarm"
        if self.reminder:
            return f"the reminder to {self.label}"
        return f"the {self.label} timer" if self.label else f"the timer for {say_duration(self.seconds)}"


class TimerBook:
    """The session's timers. ``fired(text)`` is called with the notice of each timer as it fires."""

    def __init__(self, fired: Callable[[str], None]) -> None:
        self._fired = fired
        self._timers: dict[int, Timer] = {}
        self._numbers = itertools.count(1)

    def add(self, seconds: Fraction, label: str, *, reminder: bool, at: str = "", alarm: bool = False) -> Timer:
        loop = asyncio.get_running_loop()
        timer = Timer(next(self._numbers), seconds, label, reminder, loop.time() + float(seconds), at, alarm)
        timer.task = loop.create_task(self._run(timer), name=f"assistant-timer-{timer.number}")
        self._timers[timer.number] = timer
        return timer

    async def _run(self, timer: Timer) -> None:
        try:
            await asyncio.sleep(float(timer.seconds))
        finally:
            self._timers.pop(timer.number, None)
        self._fired(timer.notice())

    def running(self) -> list[Timer]:
        """Timers not yet fired, soonest first."""
        return sorted(self._timers.values(), key=lambda t: t.due)

    def left(self, timer: Timer) -> float:
        return max(0.0, timer.due - asyncio.get_running_loop().time())

    def cancel(self, timer: Timer) -> None:
        self._timers.pop(timer.number, None)
        if timer.task is not None:
            timer.task.cancel()

    async def close(self) -> None:
        """Cancel every timer and wait until their tasks have ended."""
        tasks = [t.task for t in self._timers.values() if t.task is not None]
        self._timers.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _you(words: list[str]) -> str:
    """A reminder in the second person: "call my mum" -> "call your mum"."""
    return " ".join(_PRONOUNS.get(word, word) for word in words)


def _left(seconds: float) -> str:
    return say_duration(Fraction(max(1, round(seconds))))


class TimerSkill:
    """Sets, lists and cancels timers and reminders in a :class:`TimerBook`."""

    def __init__(self, book: TimerBook, now: Callable[[], datetime]) -> None:
        self.book = book
        self._now = now  # aware local time, for "at 5 pm"

    def __call__(self, text: str) -> Answer | None:
        cancel = _CANCEL.match(text)
        if cancel:
            return self._cancel(cancel.group("what").split() + cancel.group("after").split(), cancel.group("kind"))
        if _LIST.search(text):
            return self._list()
        if _REMIND.search(text):
            return self._remind(text)
        if _ALARM.search(text):
            return self._set_alarm(text.split())
        words = text.split()
        if "timer" in words or "countdown" in words:
            return self._set_timer(words)
        return None

    def _set_timer(self, words: list[str]) -> Answer | None:
        found = find_duration(words)
        if found is None:
            if {"set", "start"} & set(words):
                return Answer.say(SOURCE, "For how long? Say, for example, set a timer for 5 minutes.")
            return None
        seconds, start, end = found
        before, after = words[:start], words[end:]
        label_words = [w for w in before if w not in _SET_FILLER]
        if after and after[0] in ("for", "called", "named", "labelled", "labeled", "to"):
            label_words = [w for w in after[1:] if w not in ("please", "timer")] or label_words
        elif after:
            label_words += [w for w in after if w not in _SET_FILLER]
        return self._add(seconds, " ".join(label_words), reminder=False)

    def _when(self, words: list[str]) -> tuple[Fraction, int, int, str] | None:
        """A delay in ``words``: (seconds, start, end, the time of day said back or "")."""
        found = find_duration(words)
        if found is not None:
            seconds, start, end = found
            if start > 0 and words[start - 1] in ("in", "for", "after"):
                start -= 1
            return seconds, start, end, ""
        now = self._now()
        at = find_clock_time(words, now)
        if at is None:
            return None
        when, start, end = at
        spoken = say_time(when) + ("" if when.date() == now.date() else " tomorrow")
        return Fraction(round((when - now).total_seconds(), 3)).limit_denominator(1000), start, end, spoken

    def _set_alarm(self, words: list[str]) -> Answer | None:
        found = self._when(words)
        if found is None:
            if {"set", "start", "wake"} & set(words):
                return Answer.say(SOURCE, "For what time? Say, for example, set an alarm for 7 AM.")
            return None
        seconds, _, _, spoken = found
        if not spoken:  # "wake me up in 20 minutes"
            return self._add(seconds, "", reminder=False, alarm=True)
        return self._add(seconds, "", reminder=False, alarm=True, at=spoken.removesuffix(" tomorrow"),
                         said=f"Alarm set for {spoken}.")

    def _remind(self, text: str) -> Answer:
        rest = _REMIND.sub(" ", text, count=1).split()
        found = self._when(rest)
        if found is None:
            return Answer.say(SOURCE, "When should I remind you?",
                              "Say, for example, remind me in 10 minutes to call mum.")
        seconds, start, end, spoken = found
        task = rest[:start] + rest[end:]
        while task and task[0] in ("to", "about", "that", "of", "me", "i", "need", "have", "should", "must"):
            task = task[1:]
        while task and task[-1] in ("please", "in", "then"):
            task = task[:-1]
        if not task:
            return Answer.say(SOURCE, "What should I remind you about?")
        label = _you(task)
        if spoken:
            return self._add(seconds, label, reminder=True, at=spoken,
                             said=f"OK, at {spoken} I'll remind you to {label}.")
        return self._add(seconds, label, reminder=True)

    def _add(self, seconds: Fraction, label: str, *, reminder: bool, alarm: bool = False, at: str = "",
             said: str = "") -> Answer:
        if seconds <= 0:
            return Answer.say(SOURCE, "That timer would already be done.")
        if seconds > MAX_SECONDS:
            return Answer.say(SOURCE, "I can only set timers and reminders up to 24 hours ahead.")
        if len(self.book.running()) >= MAX_TIMERS:
            return Answer.say(SOURCE, f"You already have {MAX_TIMERS} timers running. Cancel one first.")
        timer = self.book.add(seconds, label, reminder=reminder, at=at, alarm=alarm)
        if said:
            return Answer.say(SOURCE, said)
        if alarm:
            return Answer.say(SOURCE, f"Alarm set for {say_duration(seconds)} from now.")
        if reminder:
            return Answer.say(SOURCE, f"OK, in {say_duration(seconds)} I'll remind you to {timer.label}.")
        if label:
            return Answer.say(SOURCE, f"Timer set: {label}, {say_duration(seconds)}.")
        return Answer.say(SOURCE, f"Timer set for {say_duration(seconds)}.")

    def _describe(self, timer: Timer) -> str:
        name = timer.name()
        return f"{name[0].upper()}{name[1:]}, {_left(self.book.left(timer))} left."

    def _list(self) -> Answer:
        running = self.book.running()
        if not running:
            return Answer.say(SOURCE, "You have no timers or reminders running.")
        if len(running) == 1:
            return Answer.say(SOURCE, f"You have one. {self._describe(running[0])}")
        return Answer.say(SOURCE, f"You have {len(running)}.", *(self._describe(t) for t in running))

    def _cancel(self, words: list[str], kind: str) -> Answer:
        running = self.book.running()
        if not running:
            return Answer.say(SOURCE, "You have no timers or reminders to cancel.")
        words = [w for w in words if w not in ("the", "my", "a", "that", "this", "please", "to", "for", "about")]
        wanted_kind = (kind.startswith("alarm"), kind.startswith("reminder"))
        of_kind = [t for t in running if (t.alarm, t.reminder) == wanted_kind] or running
        everything = words[:1] in (["all"], ["every"], ["both"], ["everything"]) or (kind.endswith("s") and not words)
        if everything:
            specific = kind.startswith(("reminder", "alarm"))
            chosen = of_kind if specific else running
            for timer in chosen:
                self.book.cancel(timer)
            if len(chosen) == 1:
                return Answer.say(SOURCE, f"Cancelled {chosen[0].name()}.")
            what = ("reminders" if kind.startswith("reminder") else "alarms") if specific else "timers and reminders"
            count = "both" if len(chosen) == 2 else f"all {len(chosen)}"
            return Answer.say(SOURCE, f"Cancelled {count} {what}.")
        if words:
            wanted = set(_you(words).split())
            duration = find_duration(words)
            matches = [t for t in of_kind if wanted & set(t.label.split())] or [
                t for t in of_kind if t.at and set(t.at.lower().split()) <= set(words)] or [
                t for t in of_kind if duration is not None and t.seconds == duration[0]]
        else:
            matches = of_kind if len(of_kind) == 1 else []
        if len(matches) == 1:
            self.book.cancel(matches[0])
            return Answer.say(SOURCE, f"Cancelled {matches[0].name()}.")
        names = ", ".join(t.name().removeprefix("the ") for t in of_kind)
        return Answer.say(SOURCE, f"Which one? You have {names}. Or say cancel all timers.")
