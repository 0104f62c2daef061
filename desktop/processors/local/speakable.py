"""Written text → what the voice should say: "3:05 PM" → "three oh five PM", "21°C" → "twenty one degrees Celsius".

Piper phonemises with espeak-ng, which reads "3:05 PM" as "three zero five PM", "3,703,701" in pieces and
"5 km" letter by letter. The TTS stage passes each piece of a reply through :func:`speakable` just before
synthesis; the transcript keeps the written form. Pure and small on purpose: only forms the skills and
a chatty model produce (clock times, degrees, common unit abbreviations after a number, percentages,
amounts of money, decimals, numbers with thousands separators). Plain integers are left to espeak, which reads them well
(and reads "2026" as a year, which a number-to-words pass would spoil).
"""

from __future__ import annotations

import re

__all__ = ["number_words", "speakable"]

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
         "seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))

# (abbreviation, singular, plural); matched only right after a number, case-sensitively ("5 m", not "5 M").
_UNITS = (
    ("km/h", "kilometre per hour", "kilometres per hour"), ("kph", "kilometre per hour", "kilometres per hour"),
    ("mph", "mile per hour", "miles per hour"), ("km", "kilometre", "kilometres"), ("cm", "centimetre", "centimetres"),
    ("mm", "millimetre", "millimetres"), ("m", "metre", "metres"), ("kg", "kilogram", "kilograms"),
    ("mg", "milligram", "milligrams"), ("g", "gram", "grams"), ("lbs", "pound", "pounds"), ("lb", "pound", "pounds"),
    ("oz", "ounce", "ounces"), ("mi", "mile", "miles"), ("ft", "foot", "feet"), ("ml", "millilitre", "millilitres"),
    ("mL", "millilitre", "millilitres"), ("L", "litre", "litres"), ("l", "litre", "litres"),
    ("kWh", "kilowatt hour", "kilowatt hours"), ("kW", "kilowatt", "kilowatts"), ("W", "watt", "watts"),
    ("GB", "gigabyte", "gigabytes"), ("MB", "megabyte", "megabytes"),
)
_UNIT_NAMES = {abbreviation: (one, many) for abbreviation, one, many in _UNITS}

# A number as written: not part of a word or of another number ("A4", "3-5" is "3" and "5", not "minus 5").
_NUMBER = r"(?<![\w.,$£€])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_TIME = re.compile(r"(?<![\w:])([01]?\d|2[0-3]):([0-5]\d)(?![\d:])(?:\s?(?:([AaPp])[Mm]\b|([AaPp])\.\s?[Mm]\.))?")
_DEGREES = re.compile(rf"({_NUMBER})\s*°\s*([CF])?\b|({_NUMBER})\s*°")
_PERCENT = re.compile(rf"({_NUMBER})\s*%")
_UNIT = re.compile(rf"({_NUMBER})\s?({'|'.join(re.escape(u) for u, _, _ in _UNITS)})(?![\w/])")
_MONEY = re.compile(r"([$£€])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d\d))?(?![\d.,]\d)")
_CURRENCIES = {"$": ("dollar", "dollars", "cent", "cents"), "£": ("pound", "pounds", "penny", "pence"),
               "€": ("euro", "euros", "cent", "cents")}
_GROUPED_OR_DECIMAL = re.compile(r"(?<![\w.,$£€])-?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+)(?![\d,]|\.\d)")


def number_words(n: int) -> str:
    """A whole number in words: 3703701 → "three million seven hundred three thousand seven hundred one"."""
    if n < 0:
        return f"minus {number_words(-n)}"
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] if ones == 0 else f"{_TENS[tens]} {_ONES[ones]}"
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {number_words(rest)}" if rest else "")
    for scale, name in _SCALES:
        if n >= scale:
            high, rest = divmod(n, scale)
            return f"{number_words(high)} {name}" + (f" {number_words(rest)}" if rest else "")
    raise AssertionError("unreachable")


def _say_number(written: str) -> str:
    """"3,703,701" / "-3.5" / "0.45" in words (decimals digit by digit: "zero point four five")."""
    written = written.replace(",", "")
    negative = written.startswith("-")
    whole, _, fraction = written.lstrip("-").partition(".")
    said = number_words(int(whole or "0"))
    if fraction:
        said += " point " + " ".join(_ONES[int(d)] for d in fraction)
    return f"minus {said}" if negative else said


def _is_one(written: str) -> bool:
    return written.replace(",", "") in ("1", "1.0", "-1")


def _time(match: re.Match[str]) -> str:
    hour, minute, half = int(match.group(1)), int(match.group(2)), match.group(3) or match.group(4)
    suffix = f" {half.upper()}M" if half else ""
    if minute == 0:
        return f"{number_words(hour)} o'clock" if not half else f"{number_words(hour)}{suffix}"
    minutes = f"oh {_ONES[minute]}" if minute < 10 else number_words(minute)
    return f"{number_words(hour)} {minutes}{suffix}"


def _degrees(match: re.Match[str]) -> str:
    written = match.group(1) or match.group(3)
    scale = {"C": " Celsius", "F": " Fahrenheit"}.get(match.group(2) or "", "")
    return f"{_say_number(written)} {'degree' if _is_one(written) else 'degrees'}{scale}"


def _unit(match: re.Match[str]) -> str:
    written, abbreviation = match.group(1), match.group(2)
    one, many = _UNIT_NAMES[abbreviation]
    return f"{_say_number(written)} {one if _is_one(written) else many}"


def _money(match: re.Match[str]) -> str:
    one, many, small_one, small_many = _CURRENCIES[match.group(1)]
    whole, cents = int(match.group(2).replace(",", "")), int(match.group(3) or 0)
    said = f"{number_words(whole)} {one if whole == 1 else many}"
    if cents:
        said += f" {number_words(cents)} {small_one if cents == 1 else small_many}"
    return said


def speakable(text: str) -> str:
    """``text`` as it should be spoken (times, degrees, units, percentages, decimals, grouped numbers in words)."""
    text = _TIME.sub(_time, text)
    text = _MONEY.sub(_money, text)
    text = _DEGREES.sub(_degrees, text)
    text = _PERCENT.sub(lambda m: f"{_say_number(m.group(1))} percent", text)
    text = _UNIT.sub(_unit, text)
    return _GROUPED_OR_DECIMAL.sub(lambda m: _say_number(m.group(0)), text)
