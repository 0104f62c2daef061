"""Numbers and durations in words and digits, as speech recognition writes them."""

from __future__ import annotations

from fractions import Fraction

import pytest

from desktop.assistant.durations import find_duration, say_duration
from desktop.assistant.numbers import ordinal, parse_number, say_number
from desktop.assistant.text import normalise, words


@pytest.mark.parametrize(
    ("said", "value", "used"),
    [
        ("twenty three", 23, 2),
        ("seventeen", 17, 1),
        ("one hundred and five", 105, 4),
        ("a hundred", 100, 2),
        ("two thousand and twenty six", 2026, 5),
        ("three million four hundred thousand", 3_400_000, 5),
        ("5 hundred", 500, 2),
        ("1.5 million", 1_500_000, 2),
        ("three point one four", Fraction("3.14"), 4),
        ("two and a half", Fraction(5, 2), 4),
        ("five six", 5, 1),  # two numbers, not fifty six
        ("twenty twelve", 20, 1),
        ("391", 391, 1),
    ],
)
def test_parse_number(said, value, used):
    assert parse_number(words(said)) == (value, used)


@pytest.mark.parametrize("said", ["hello", "a", "and five", "point five"])
def test_not_a_number(said):
    assert parse_number(words(said)) is None


@pytest.mark.parametrize(
    ("value", "spoken"),
    [(391, "391"), (Fraction(1, 3), "0.33"), (3.10686, "3.11"), (0.0022046, "0.0022"), (-4, "minus 4"),
     (1.2e20, "1.2 times 10 to the power of 20"), (Fraction(30), "30"), (0, "0")],
)
def test_say_number(value, spoken):
    assert say_number(value) == spoken


def test_ordinals():
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st"]


@pytest.mark.parametrize(
    ("heard", "normal"),
    [
        ("What's the time?", "what is the time"),
        ("5 + 3", "5 plus 3"),
        ("20% of 1,500", "20 percent of 1500"),
        ("5km in miles", "5 km in miles"),
        ("Twenty-three × 17", "twenty three times 17"),
        ("10/4", "10 divided by 4"),
        ("3.5 - 1", "3.5 minus 1"),
        ("Is it 3:30?", "is it 3:30"),
    ],
)
def test_normalise(heard, normal):
    assert normalise(heard) == normal


@pytest.mark.parametrize(
    ("said", "seconds"),
    [("5 minutes", 300), ("five minutes", 300), ("an hour and a half", 5400), ("half an hour", 1800),
     ("1 hour 30 minutes", 5400), ("1 hour and 30 minutes", 5400), ("two and a half minutes", 150),
     ("0.2 seconds", Fraction(1, 5)), ("a minute", 60), ("90 seconds", 90), ("ten mins", 600)],
)
def test_durations(said, seconds):
    found = find_duration(words(f"set a timer for {said} please"))
    assert found is not None and found[0] == seconds


@pytest.mark.parametrize(
    ("seconds", "spoken"),
    [(300, "5 minutes"), (5400, "1 hour and 30 minutes"), (0.2, "0.2 seconds"), (90, "1 minute and 30 seconds"),
     (3661, "1 hour, 1 minute and 1 second"), (1, "1 second")],
)
def test_say_duration(seconds, spoken):
    assert say_duration(seconds) == spoken


def test_times_of_day_are_the_next_moment_they_name():
    from datetime import UTC, datetime

    from desktop.assistant.durations import find_clock_time

    now = datetime(2026, 12, 1, 15, 5, tzinfo=UTC)

    def when(said: str):
        found = find_clock_time(words(said), now)
        return found and (found[0].day, found[0].hour, found[0].minute)

    assert when("remind me at 5 pm to go") == (1, 17, 0)
    assert when("at 5:30 p.m.") == (1, 17, 30)
    assert when("at 17:45") == (1, 17, 45)
    assert when("at five thirty") == (1, 17, 30)
    assert when("at 3") == (2, 3, 0)  # 3 PM has passed; 3 AM tomorrow comes first
    assert when("at 3:06") == (1, 15, 6)
    assert when("at 9 in the evening") == (1, 21, 0)
    assert when("at noon") == (2, 12, 0) and when("at midnight") == (2, 0, 0)
    assert when("for 5 minutes") is None and when("5 pm") is None and when("at 25 pm") is None
