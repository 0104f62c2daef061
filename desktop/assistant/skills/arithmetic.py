"""Arithmetic said or typed: "what is twenty three times seventeen" -> "23 times 17 is 391."

The words are lexed into numbers and operators and parsed by a small recursive-descent parser; nothing is
ever evaluated as code. A turn is only answered when the whole of it (after "what is", "calculate" ...) is
an expression with at least one operator, so "what is the capital of France" passes to the next skill.
"""

from __future__ import annotations

import math
from fractions import Fraction

from desktop.assistant.numbers import Number, parse_number, say_number
from desktop.assistant.skills import Answer

__all__ = ["ArithmeticSkill", "evaluate"]

SOURCE = "skill:arithmetic"

# Operator phrases, longest first; each maps to a token the parser knows.
_PHRASES: list[tuple[tuple[str, ...], str]] = sorted(
    [
        (("plus",), "+"), (("add",), "+"), (("and",), "+"),
        (("minus",), "-"), (("take", "away"), "-"), (("less",), "-"),
        (("times",), "*"), (("multiplied", "by"), "*"), (("x",), "*"), (("of",), "*"),
        (("divided", "by"), "/"), (("over",), "/"),
        (("to", "the", "power", "of"), "^"), (("to", "the", "power"), "^"), (("raised", "to"), "^"),
        (("raised", "to", "the", "power", "of"), "^"), (("to", "the"), "^"),
        (("squared",), "sq"), (("cubed",), "cube"), (("percent",), "%"), (("per", "cent"), "%"),
        (("square", "root", "of"), "sqrt"), (("the", "square", "root", "of"), "sqrt"), (("root", "of"), "sqrt"),
        (("cube", "root", "of"), "cbrt"), (("the", "cube", "root", "of"), "cbrt"),
        (("half", "of"), "half"), (("a", "half", "of"), "half"), (("double",), "double"),
        (("negative",), "neg"),
    ],
    key=lambda item: -len(item[0]),
)
_SPOKEN = {"+": "plus", "-": "minus", "*": "times", "/": "divided by", "^": "to the power of", "sq": "squared",
           "cube": "cubed", "%": "percent", "sqrt": "the square root of", "cbrt": "the cube root of",
           "half": "half of", "double": "double", "neg": "minus"}
_LEADING = [("what", "is"), ("how", "much", "is"), ("calculate",), ("compute",), ("work", "out"), ("solve",),
            ("tell", "me"), ("can", "you", "tell", "me"), ("please",), ("what", "does"), ("what", "do"),
            ("hey",), ("ok",), ("okay",)]
_TRAILING = [("please",), ("equal",), ("equals",), ("make",), ("is",), ("are",)]
_MAX_MAGNITUDE = 10**100


class ArithmeticError_(ValueError):
    """An expression that parses but has no answer; the message is the spoken reply."""


Token = tuple[str, object, str]  # ("num", Fraction, spoken) or ("op", op, spoken)


def _strip(words: list[str]) -> list[str]:
    changed = True
    while changed and words:
        changed = False
        for phrase in _LEADING:
            if tuple(words[: len(phrase)]) == phrase:
                words, changed = words[len(phrase):], True
        for phrase in _TRAILING:
            if len(words) > len(phrase) and tuple(words[-len(phrase):]) == phrase:
                words, changed = words[: -len(phrase)], True
    return words


_VERBS = {"add": ("to", "plus", False), "subtract": ("from", "minus", True), "multiply": ("by", "times", False),
          "divide": ("by", "divided by", False)}


def _verb_form(words: list[str]) -> list[str]:
    """"add 5 to 3" -> "5 plus 3", "subtract 3 from 10" -> "10 minus 3"; other words unchanged."""
    if not words or words[0] not in _VERBS:
        return words
    connector, operator, swapped = _VERBS[words[0]]
    rest = words[1:]
    if connector not in rest:
        if words[0] == "add" and "and" in rest:
            connector = "and"
        else:
            return words
    cut = rest.index(connector)
    left, right = rest[:cut], rest[cut + 1:]
    if swapped:
        left, right = right, left
    return [*left, *operator.split(), *right]


def _lex(words: list[str]) -> list[Token] | None:
    tokens: list[Token] = []
    i = 0
    while i < len(words):
        number = parse_number(words, i)
        if number is not None:
            tokens.append(("num", number[0], say_number(number[0])))
            i = number[1]
            continue
        for phrase, op in _PHRASES:
            if tuple(words[i: i + len(phrase)]) == phrase:
                tokens.append(("op", op, " ".join(phrase) if op in ("*", "/") and phrase != ("x",) else _SPOKEN[op]))
                i += len(phrase)
                break
        else:
            return None
    return tokens


class _Parser:
    """expr := term (+|- term)*; term := unary (*|/ unary)*; unary := (-|sqrt|half ...) unary | power;
    power := postfix (^ unary)?; postfix := number (squared|cubed|percent)*."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.operators = 0

    def peek(self) -> str | None:
        if self.i < len(self.tokens) and self.tokens[self.i][0] == "op":
            return str(self.tokens[self.i][1])
        return None

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        if token[0] == "op":
            self.operators += 1
        return token

    def parse(self) -> Number:
        value = self.expr()
        if self.i != len(self.tokens):
            raise SyntaxError("trailing tokens")
        return value

    def expr(self) -> Number:
        value = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()[1]
            right = self.term()
            value = _check(value + right if op == "+" else value - right)
        return value

    def term(self) -> Number:
        value = self.unary()
        while self.peek() in ("*", "/"):
            op = self.take()[1]
            right = self.unary()
            if op == "*":
                value = _check(value * right)
            else:
                if right == 0:
                    raise ArithmeticError_("You can't divide by zero.")
                value = _check(value / right)
        return value

    def unary(self) -> Number:
        op = self.peek()
        if op in ("-", "neg"):
            self.take()
            return -self.unary()
        if op in ("sqrt", "cbrt", "half", "double"):
            self.take()
            value = self.unary()
            if op == "half":
                return value / 2
            if op == "double":
                return value * 2
            if op == "sqrt":
                if value < 0:
                    raise ArithmeticError_("A negative number has no real square root.")
                return _exact_root(value, 2)
            return _exact_root(value, 3)
        return self.power()

    def power(self) -> Number:
        base = self.postfix()
        if self.peek() == "^":
            self.take()
            exponent = self.unary()
            return _power(base, exponent)
        return base

    def postfix(self) -> Number:
        if self.i >= len(self.tokens) or self.tokens[self.i][0] != "num":
            raise SyntaxError("number expected")
        value: Number = self.take()[1]  # type: ignore[assignment]
        while self.peek() in ("sq", "cube", "%"):
            op = self.take()[1]
            value = _power(value, Fraction(2)) if op == "sq" else _power(value, Fraction(3)) if op == "cube" \
                else value / 100
        return value


def _check(value: Number) -> Number:
    if isinstance(value, float) and not math.isfinite(value) or abs(value) > _MAX_MAGNITUDE:
        raise ArithmeticError_("That number is too big for me to say.")
    return value


def _exact_root(value: Number, degree: int) -> Number:
    if value < 0 and degree == 3:
        return -_exact_root(-value, 3)
    root = float(value) ** (1 / degree)
    nearest = round(root)
    if Fraction(nearest) ** degree == value:
        return Fraction(nearest)
    return root


def _power(base: Number, exponent: Number) -> Number:
    if abs(exponent) > 1000:
        raise ArithmeticError_("That number is too big for me to say.")
    if isinstance(exponent, Fraction) and exponent.denominator == 1 and isinstance(base, Fraction):
        if base == 0 and exponent < 0:
            raise ArithmeticError_("You can't divide by zero.")
        if abs(base) > 1 and abs(exponent) * math.log10(abs(base)) > 100:
            raise ArithmeticError_("That number is too big for me to say.")
        return base ** int(exponent)
    if base < 0:
        raise ArithmeticError_("That power of a negative number is not a real number.")
    try:
        return _check(float(base) ** float(exponent))
    except OverflowError:
        raise ArithmeticError_("That number is too big for me to say.") from None


def _spoken(tokens: list[Token]) -> str:
    return " ".join(spoken for _, _, spoken in tokens)


def evaluate(text: str) -> tuple[str, Number] | None:
    """Parse normalised ``text`` as arithmetic: (the expression as it will be said, its value), or None.

    Raises :class:`ArithmeticError_` (with a spoken message) for expressions that have no answer.
    """
    words = _verb_form(_strip(text.split()))
    tokens = _lex(words)
    if not tokens or all(kind == "num" for kind, _, _ in tokens):
        return None
    parser = _Parser(tokens)
    try:
        value = parser.parse()
    except SyntaxError:
        return None
    except ZeroDivisionError:
        raise ArithmeticError_("You can't divide by zero.") from None
    if parser.operators == 0:
        return None
    return _spoken(tokens), value


class ArithmeticSkill:
    """Answers "what is 23 times 17", "15% of 80", "square root of 144", "2 to the power of 10"."""

    def __call__(self, text: str) -> Answer | None:
        try:
            found = evaluate(text)
        except ArithmeticError_ as error:
            return Answer.say(SOURCE, str(error))
        if found is None:
            return None
        expression, value = found
        result = say_number(value)
        sentence = f"{expression[0].upper()}{expression[1:]} is {result}."
        return Answer.say(SOURCE, sentence)
