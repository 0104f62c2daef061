"""Time and date, here and in cities, against zoneinfo at a fixed, injected moment."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from desktop.assistant.cities import find_place, place_count
from desktop.assistant.skills.clock import ClockSkill, say_time
from desktop.assistant.text import normalise

MOMENT = datetime(2026, 12, 1, 15, 5, tzinfo=UTC)  # a Tuesday


def ask(heard: str, moment: datetime = MOMENT, zone: str = "Europe/London") -> str | None:
    found = ClockSkill(lambda: moment, ZoneInfo(zone))(normalise(heard))
    return " ".join(found.sentences) if found else None


@pytest.mark.parametrize(
    "heard",
    ["What time is it?", "whats the time", "what's the time now", "can you tell me the time please",
     "do you know what time it is", "time", "what is the current time", "Tell me the time."],
)
def test_local_time(heard):
    assert ask(heard) == "It's 3:05 PM."


def test_local_zone_is_the_configured_one():
    assert ask("what time is it", zone="America/New_York") == "It's 10:05 AM."


@pytest.mark.parametrize(
    ("heard", "city", "zone"),
    [("what time is it in tokyo", "Tokyo", "Asia/Tokyo"),
     ("What is the time in New York right now?", "New York", "America/New_York"),
     ("time in sydney", "Sydney", "Australia/Sydney"),
     ("tokyo time", "Tokyo", "Asia/Tokyo"),
     ("whats the time in buenos aires", "Buenos Aires", "America/Argentina/Buenos_Aires"),
     ("what time is it in kathmandu", "Kathmandu", "Asia/Kathmandu"),  # a :45 offset
     ("what time is it in mumbai", "Mumbai", "Asia/Kolkata")],
)
def test_time_in_a_city_matches_zoneinfo(heard, city, zone):
    there = MOMENT.astimezone(ZoneInfo(zone))
    assert ask(heard) == f"In {city}, it's {say_time(there)} on {there:%A}."


def test_time_in_cities_across_the_year():
    """Daylight saving both sides of the world, via zoneinfo, not a fixed offset."""
    for month in (1, 4, 7, 10):
        moment = datetime(2026, month, 15, 12, 30, tzinfo=UTC)
        for city, zone in (("London", "Europe/London"), ("Sydney", "Australia/Sydney"),
                           ("Los Angeles", "America/Los_Angeles")):
            there = moment.astimezone(ZoneInfo(zone))
            expected = f"In {city}, it's {say_time(there)} on {there:%A}."
            assert ask(f"what time is it in {city.lower()}", moment) == expected


@pytest.mark.parametrize("heard", ["what is the date", "what's today's date", "what day is it today", "what is today"])
def test_date(heard):
    assert ask(heard) == "Today is Tuesday, December 1st, 2026."


def test_date_in_a_city_across_the_date_line():
    assert ask("whats the date in auckland") == "In Auckland, it's Wednesday, December 2nd, 2026."


def test_unknown_place_is_said():
    assert ask("what time is it in narnia") == "I don't know the time zone of Narnia."


@pytest.mark.parametrize("heard", ["what time does the shop open", "dinner time", "time flies", "what is the timer"])
def test_passes_other_questions(heard):
    assert ask(heard) is None


@pytest.mark.parametrize(
    ("hour", "minute", "spoken"),
    [(0, 0, "midnight"), (12, 0, "noon"), (9, 0, "9 AM"), (21, 7, "9:07 PM"), (0, 30, "12:30 AM")],
)
def test_say_time(hour, minute, spoken):
    assert say_time(datetime(2026, 1, 1, hour, minute)) == spoken


def test_city_table():
    assert place_count() >= 300
    assert find_place("paris france").zone == "Europe/Paris"
    assert find_place("the hague").zone == "Europe/Amsterdam"
    assert find_place("Europe/Lisbon").zone == "Europe/Lisbon"
    assert find_place("nowhere at all") is None
    for name in ("london", "tokyo", "delhi", "sao paulo", "lagos", "cairo", "beijing", "mexico city", "honolulu"):
        ZoneInfo(find_place(name).zone)  # every zone the table names exists


@pytest.mark.parametrize("heard", ["york hundred many hundred to time", "paris three time", "big apple time"])
def test_place_time_needs_a_place_by_its_name(heard):
    assert ask(heard) is None
