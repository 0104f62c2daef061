"""Unit conversions: "convert 5 km to miles", "how many feet in a mile", "100 fahrenheit in celsius".

Length, mass, temperature, volume (US measures, with imperial gallons and pints by name), speed and time.
Factors are to the SI unit of each kind; temperatures convert through kelvin.
"""

from __future__ import annotations

import dataclasses
import re
from fractions import Fraction

from desktop.assistant.numbers import Number, parse_number, say_number
from desktop.assistant.skills import Answer

__all__ = ["UnitsSkill", "convert"]

SOURCE = "skill:units"


@dataclasses.dataclass(frozen=True)
class Unit:
    singular: str
    plural: str
    kind: str
    factor: Fraction  # how many SI units one of this is (unused for temperature)

    def name(self, value: Number) -> str:
        return self.singular if value == 1 else self.plural


def _f(text: str) -> Fraction:
    return Fraction(text)


# (singular, plural, kind, factor, other names)
_TABLE: list[tuple[str, str, str, str, tuple[str, ...]]] = [
    ("metre", "metres", "length", "1", ("meter", "meters", "m")),
    ("kilometre", "kilometres", "length", "1000", ("kilometer", "kilometers", "km", "kms", "k")),
    ("centimetre", "centimetres", "length", "0.01", ("centimeter", "centimeters", "cm", "cms")),
    ("millimetre", "millimetres", "length", "0.001", ("millimeter", "millimeters", "mm")),
    ("mile", "miles", "length", "1609.344", ("mi",)),
    ("yard", "yards", "length", "0.9144", ("yd", "yds")),
    ("foot", "feet", "length", "0.3048", ("ft", "foots")),
    ("inch", "inches", "length", "0.0254", ("inchs",)),
    ("nautical mile", "nautical miles", "length", "1852", ()),
    ("kilogram", "kilograms", "mass", "1", ("kilo", "kilos", "kg", "kgs")),
    ("gram", "grams", "mass", "0.001", ("g", "gramme", "grammes", "gm")),
    ("milligram", "milligrams", "mass", "0.000001", ("mg",)),
    ("tonne", "tonnes", "mass", "1000", ("metric ton", "metric tons", "t")),
    ("pound", "pounds", "mass", "0.45359237", ("lb", "lbs")),
    ("ounce", "ounces", "mass", "0.028349523125", ("oz",)),
    ("stone", "stone", "mass", "6.35029318", ("stones", "st")),
    ("litre", "litres", "volume", "0.001", ("liter", "liters", "l")),
    ("millilitre", "millilitres", "volume", "0.000001", ("milliliter", "milliliters", "ml", "mls")),
    ("centilitre", "centilitres", "volume", "0.00001", ("centiliter", "centiliters", "cl")),
    ("cubic metre", "cubic metres", "volume", "1", ("cubic meter", "cubic meters")),
    ("gallon", "gallons", "volume", "0.003785411784", ("us gallon", "us gallons", "gal")),
    ("imperial gallon", "imperial gallons", "volume", "0.00454609", ("uk gallon", "uk gallons")),
    ("quart", "quarts", "volume", "0.000946352946", ("qt",)),
    ("pint", "pints", "volume", "0.000473176473", ("us pint", "us pints", "pt")),
    ("imperial pint", "imperial pints", "volume", "0.00056826125", ("uk pint", "uk pints")),
    ("cup", "cups", "volume", "0.0002365882365", ()),
    ("fluid ounce", "fluid ounces", "volume", "0.0000295735295625", ("fl oz",)),
    ("tablespoon", "tablespoons", "volume", "0.00001478676478125", ("tbsp",)),
    ("teaspoon", "teaspoons", "volume", "0.00000492892159375", ("tsp",)),
    ("metre per second", "metres per second", "speed", "1", ("meter per second", "meters per second")),
    ("kilometre per hour", "kilometres per hour", "speed", "5/18",
     ("kilometer per hour", "kilometers per hour", "kilometres an hour", "kilometers an hour", "kph", "kmh",
      "km per hour", "km an hour", "k per hour")),
    ("mile per hour", "miles per hour", "speed", "0.44704", ("miles an hour", "mph", "mile an hour")),
    ("knot", "knots", "speed", "463/900", ("kt", "kts")),
    ("foot per second", "feet per second", "speed", "0.3048", ("fps",)),
    ("second", "seconds", "time", "1", ("sec", "secs")),
    ("minute", "minutes", "time", "60", ("min", "mins")),
    ("hour", "hours", "time", "3600", ("hr", "hrs")),
    ("day", "days", "time", "86400", ()),
    ("week", "weeks", "time", "604800", ()),
    ("year", "years", "time", "31557600", ()),  # Julian year: 365.25 days
    ("degree celsius", "degrees celsius", "temperature", "1",
     ("celsius", "centigrade", "degree centigrade", "degrees centigrade", "c", "degrees c", "degree c")),
    ("degree fahrenheit", "degrees fahrenheit", "temperature", "1",
     ("fahrenheit", "f", "degrees f", "degree f")),
    ("kelvin", "kelvin", "temperature", "1", ("kelvins", "k degrees", "degrees kelvin")),
]


def _build() -> dict[tuple[str, ...], Unit]:
    names: dict[tuple[str, ...], Unit] = {}
    for singular, plural, kind, factor, others in _TABLE:
        unit = Unit(singular, plural, kind, _f(factor))
        for name in (singular, plural, *others):
            names[tuple(name.split())] = unit
    return names


_NAMES = _build()
_LONGEST = max(len(key) for key in _NAMES)


def _unit_at(words: list[str], i: int, *, allow_short: bool = True) -> tuple[Unit, int] | None:
    for length in range(min(_LONGEST, len(words) - i), 0, -1):
        key = tuple(words[i:i + length])
        if key in _NAMES and (allow_short or len(key) > 1 or len(key[0]) > 2):
            return _NAMES[key], i + length
    return None


def _to_kelvin(value: Number, unit: Unit) -> Number:
    if unit.singular == "degree celsius":
        return value + Fraction("273.15")
    if unit.singular == "degree fahrenheit":
        return (value - 32) * Fraction(5, 9) + Fraction("273.15")
    return value


def _from_kelvin(value: Number, unit: Unit) -> Number:
    if unit.singular == "degree celsius":
        return value - Fraction("273.15")
    if unit.singular == "degree fahrenheit":
        return (value - Fraction("273.15")) * Fraction(9, 5) + 32
    return value


def convert(value: Number, source: Unit, target: Unit) -> Number:
    """``value`` in ``source`` units, expressed in ``target`` units (same kind)."""
    if source.kind == "temperature":
        return _from_kelvin(_to_kelvin(value, source), target)
    return value * source.factor / target.factor


_LEAD = re.compile(r"^(?:(?:hey|ok|okay|please|so)\s+)*(?:(?:can|could) you )?(?:please )?"
                   r"(?:convert |what is |how much is |how many |how much |tell me |change |turn )?")
_CONNECT = ("to", "in", "into", "as", "is", "are", "make", "makes", "equals")


def _amount_and_unit(words: list[str], i: int) -> tuple[Number, Unit, int] | None:
    """"5 km", "a mile", "one hundred degrees fahrenheit", "minus 40 celsius"."""
    sign = 1
    if i < len(words) and words[i] in ("minus", "negative"):
        sign, i = -1, i + 1
    if i < len(words) and words[i] in ("a", "an", "one"):
        parsed = parse_number(words, i) if words[i] == "one" else None
        value, j = (parsed if parsed else (Fraction(1), i + 1))
    else:
        parsed = parse_number(words, i)
        if parsed is None:
            return None
        value, j = parsed
    if j < len(words) and words[j] == "degrees" and _unit_at(words, j + 1) is not None:
        j += 1  # "100 degrees fahrenheit"
    found = _unit_at(words, j)
    if found is None:
        return None
    return sign * value, found[0], found[1]


def _parse(words: list[str]) -> tuple[Number, Unit, Unit] | None:
    # "5 km to miles", "100 fahrenheit in celsius", "what is 3 feet in cm"
    amount = _amount_and_unit(words, 0)
    if amount is not None:
        value, source, j = amount
        if j < len(words) and words[j] in _CONNECT:
            j += 1
            while j < len(words) and words[j] in ("how", "many", "much", "in", "to", "degrees", "the"):
                j += 1
            target = _unit_at(words, j)
            if target is not None and target[1] == len(words):
                return value, source, target[0]
        return None
    # "how many feet in a mile", "how many grams are in 3 pounds"
    target = _unit_at(words, 0, allow_short=False) or _unit_at(words, 0)
    if target is None:
        return None
    j = target[1]
    while j < len(words) and words[j] in ("are", "is", "there", "in", "make", "makes", "to", "does", "do", "per"):
        j += 1
    amount = _amount_and_unit(words, j)
    if amount is None or amount[2] != len(words) and words[amount[2]:] not in (["make"], ["have"]):
        return None
    return amount[0], amount[1], target[0]


class UnitsSkill:
    """Converts between units of one kind; says so when the kinds differ ("miles to kilograms")."""

    def __call__(self, text: str) -> Answer | None:
        words = _LEAD.sub("", text).split()
        while words and words[-1] in ("please", "exactly", "approximately", "roughly"):
            words = words[:-1]
        parsed = _parse(words)
        if parsed is None:
            return None
        value, source, target = parsed
        if source.kind != target.kind:
            return Answer.say(SOURCE, f"I can't convert {source.plural} to {target.plural}: "
                                      f"one is a {source.kind} and the other a {target.kind}.")
        result = convert(value, source, target)
        spoken = say_number(result, decimals=2)
        sentence = f"{say_number(value)} {source.name(value)} is {spoken} {target.name(result)}."
        return Answer.say(SOURCE, sentence[0].upper() + sentence[1:])
