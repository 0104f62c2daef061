"""Unit conversions of length, mass, temperature, volume, speed and time."""

from __future__ import annotations

import pytest

from desktop.assistant import Assistant
from desktop.assistant.skills.units import UnitsSkill
from desktop.assistant.text import normalise


def answer(heard: str) -> str | None:
    found = UnitsSkill()(normalise(heard))
    return " ".join(found.sentences) if found else None


@pytest.mark.parametrize(
    ("heard", "reply"),
    [
        ("convert 5 km to miles", "5 kilometres is 3.11 miles."),
        ("How many feet in a mile?", "1 mile is 5280 feet."),
        ("what is 1 inch in cm", "1 inch is 2.54 centimetres."),
        ("ten kilometers in miles", "10 kilometres is 6.21 miles."),
        ("how many grams are in 3 pounds", "3 pounds is 1360.78 grams."),
        ("how many ounces in a pound", "1 pound is 16 ounces."),
        ("convert 70 kg to stone", "70 kilograms is 11.02 stone."),
        ("what is 100 fahrenheit in celsius", "100 degrees fahrenheit is 37.78 degrees celsius."),
        ("100°F in °C", "100 degrees fahrenheit is 37.78 degrees celsius."),
        ("minus 40 celsius to fahrenheit", "Minus 40 degrees celsius is minus 40 degrees fahrenheit."),
        ("what is 0 kelvin in celsius", "0 kelvin is minus 273.15 degrees celsius."),
        ("30 degrees c in f", "30 degrees celsius is 86 degrees fahrenheit."),
        ("how many litres in a gallon", "1 gallon is 3.79 litres."),
        ("2 cups in ml", "2 cups is 473.18 millilitres."),
        ("a pint in imperial pints", "1 pint is 0.83 imperial pints."),
        ("60 mph in km/h", "60 miles per hour is 96.56 kilometres per hour."),
        ("100 kilometres per hour in miles per hour", "100 kilometres per hour is 62.14 miles per hour."),
        ("10 knots to metres per second", "10 knots is 5.14 metres per second."),
        ("how many seconds in a day", "1 day is 86400 seconds."),
    ],
)
def test_conversions(heard, reply):
    assert answer(heard) == reply


def test_different_kinds_are_refused_in_words():
    assert answer("5 miles in kilograms") == (
        "I can't convert miles to kilograms: one is a length and the other a mass.")


@pytest.mark.parametrize(
    "heard", ["what is 5 plus 3", "how many people live in london", "set a timer for 5 minutes", "5 miles",
              "convert this to that", "how many miles"],
)
def test_passes_other_turns(heard):
    assert answer(heard) is None


async def test_routed_before_arithmetic_and_after_timers():
    assistant = Assistant()
    reply = await assistant.respond("what is 5 km in miles")
    assert (reply.source, await reply.text()) == ("skill:units", "5 kilometres is 3.11 miles.")
    reply = await assistant.respond("set a timer for 5 minutes")
    assert reply.source == "skill:timer"
    await assistant.aclose()
