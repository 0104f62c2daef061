"""Arithmetic in words and digits, parsed (never evaluated as code)."""

from __future__ import annotations

import pytest

from desktop.assistant.skills.arithmetic import ArithmeticSkill
from desktop.assistant.text import normalise


def answer(heard: str) -> str | None:
    found = ArithmeticSkill()(normalise(heard))
    return " ".join(found.sentences) if found else None


@pytest.mark.parametrize(
    ("heard", "reply"),
    [
        ("what is twenty three times seventeen", "23 times 17 is 391."),
        ("What's 23 x 17?", "23 times 17 is 391."),
        ("whats 5 + 3", "5 plus 3 is 8."),
        ("calculate 3 minus 10", "3 minus 10 is minus 7."),
        ("one hundred divided by eight", "100 divided by 8 is 12.5."),
        ("100 / 7", "100 divided by 7 is 14.29."),
        ("what is 20 percent of 150", "20 percent of 150 is 30."),
        ("15% of eighty", "15 percent of 80 is 12."),
        ("seven squared", "7 squared is 49."),
        ("two cubed", "2 cubed is 8."),
        ("what is the square root of 144", "The square root of 144 is 12."),
        ("square root of 2", "The square root of 2 is 1.41."),
        ("2 to the power of 10", "2 to the power of 10 is 1024."),
        ("three squared plus four squared", "3 squared plus 4 squared is 25."),
        ("2 plus 3 times 4", "2 plus 3 times 4 is 14."),  # precedence
        ("minus 5 times 3", "Minus 5 times 3 is minus 15."),
        ("add 5 to 3", "5 plus 3 is 8."),
        ("subtract 3 from 10", "10 minus 3 is 7."),
        ("multiply 4 by 5", "4 times 5 is 20."),
        ("half of 9", "Half of 9 is 4.5."),
        ("what is one point five times four", "1.5 times 4 is 6."),
    ],
)
def test_answers(heard, reply):
    assert answer(heard) == reply


@pytest.mark.parametrize(
    ("heard", "reply"),
    [
        ("10 divided by 0", "You can't divide by zero."),
        ("9 to the power of 9999", "That number is too big for me to say."),
        ("square root of minus 4", "A negative number has no real square root."),
    ],
)
def test_no_answer_said_in_words(heard, reply):
    assert answer(heard) == reply


@pytest.mark.parametrize(
    "heard",
    ["what is the capital of france", "what is 5", "what is love", "times", "2 plus", "plus plus 3",
     "__import__('os').system('true')", "what time is it", "tell me about 5 plus things"],
)
def test_passes_what_is_not_arithmetic(heard):
    assert answer(heard) is None
