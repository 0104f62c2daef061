"""Numbers in words and digits, both ways: "twenty three" -> 23 and 391.0 -> "391".

Parsing works on normalised words (see :mod:`desktop.assistant.text`) and returns exact
:class:`~fractions.Fraction` values, so "twenty percent of 150" is 30, not 30.000000000000004.
Formatting writes numbers the way a text-to-speech voice reads them well: digits, a few decimals,
"minus" rather than a dash, and no scientific notation.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

__all__ = ["Number", "parse_number", "say_number", "ordinal"]

Number = Fraction | float

SMALL = {
    "zero": 0, "nought": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}
SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}
_FRACTIONS = {"half": Fraction(1, 2), "quarter": Fraction(1, 4), "third": Fraction(1, 3)}
_DIGITS = re.compile(r"^\d+(?:\.\d+)?$|^\.\d+$")


def _is_number_word(word: str) -> bool:
    return word in SMALL or word in TENS or word in SCALES or word == "hundred" or bool(_DIGITS.match(word))


def parse_number(words: list[str], start: int = 0) -> tuple[Fraction, int] | None:
    """Read one number starting at ``words[start]``; return (value, index after it), or None if none starts there.

    Understands digits ("23", "3.5"), words ("twenty three", "one hundred and five", "two thousand"),
    "a hundred"/"a million", mixed forms ("5 hundred", "1.5 million"), decimals ("three point one four")
    and trailing halves and quarters ("two and a half"). Stops before anything else, so "five six" is 5.
    """
    n = len(words)
    i = start
    total = Fraction(0)
    group = Fraction(0)
    last: str | None = None  # kind of the previous word: "small", "tens", "digits", "hundred", "scale"
    if i < n and words[i] in ("a", "an") and i + 1 < n and (words[i + 1] == "hundred" or words[i + 1] in SCALES):
        group, last, i = Fraction(1), "small", i + 1
    while i < n:
        word = words[i]
        if _DIGITS.match(word):
            if last is not None and last not in ("hundred", "scale"):
                break
            group += Fraction(word)
            last = "digits"
        elif word in SMALL:
            if last in ("small", "digits") or (last == "tens" and (SMALL[word] >= 10 or SMALL[word] == 0)):
                break
            group += SMALL[word]
            last = "small"
        elif word in TENS:
            if last in ("small", "tens", "digits"):
                break
            group += TENS[word]
            last = "tens"
        elif word == "hundred":
            if last not in ("small", "digits") or group >= 100 and last != "digits":
                break
            group *= 100
            last = "hundred"
        elif word in SCALES:
            if last is None or last == "scale":
                break
            total += group * SCALES[word]
            group = Fraction(0)
            last = "scale"
        elif word == "and" and last in ("hundred", "scale") and i + 1 < n and (
            words[i + 1] in SMALL or words[i + 1] in TENS or _DIGITS.match(words[i + 1])
        ):
            i += 1
            continue
        else:
            break
        i += 1
    if last is None:
        return None
    value = total + group
    # "three point one four"
    if i + 1 < n and words[i] == "point" and last in ("small", "tens", "digits", "hundred", "scale"):
        digits = []
        j = i + 1
        while j < n and (words[j] in SMALL and SMALL[words[j]] < 10 or re.fullmatch(r"\d+", words[j])):
            digits.append(str(SMALL[words[j]]) if words[j] in SMALL else words[j])
            j += 1
        if digits:
            value += Fraction("0." + "".join(digits))
            i = j
    # "two and a half", "one and three quarters"
    if i + 2 < n and words[i] == "and" and words[i + 1] in ("a", "an", "one") and words[i + 2] in _FRACTIONS:
        value += _FRACTIONS[words[i + 2]]
        i += 3
    return value, i


def _to_fraction(value: Number) -> Fraction | None:
    if isinstance(value, Fraction):
        return value
    if math.isfinite(value):
        return Fraction(value)
    return None


def say_number(value: Number, *, decimals: int = 2) -> str:
    """Write ``value`` for speaking: "391", "3.11", "0.0022", "minus 4", "1.2 times 10 to the power of 20".

    Whole numbers are exact; others keep ``decimals`` places (more for small numbers, so that 0.0022 is not 0).
    """
    if isinstance(value, float) and math.isnan(value):
        return "not a number"
    if isinstance(value, float) and math.isinf(value):
        return "infinity" if value > 0 else "minus infinity"
    if value < 0:
        return "minus " + say_number(-value, decimals=decimals)
    exact = _to_fraction(value)
    if exact is not None and exact.denominator == 1 and exact < 10**15:
        return str(exact.numerator)
    as_float = float(value)
    if as_float >= 1e15:
        exponent = math.floor(math.log10(as_float))
        mantissa = round(as_float / 10**exponent, 2)
        return f"{say_number(Fraction(str(mantissa)))} times 10 to the power of {exponent}"
    if as_float == 0:
        return "0"
    places = decimals
    if as_float < 1:  # keep two significant figures of small numbers
        places = max(decimals, -math.floor(math.log10(as_float)) + 1)
    text = f"{as_float:.{places}f}".rstrip("0").rstrip(".")
    return text if text not in ("", "0") or as_float == 0 else f"{as_float:.2g}"


def ordinal(n: int) -> str:
    """1 -> "1st", 22 -> "22nd", 13 -> "13th": how dates are said."""
    if 10 <= n % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
