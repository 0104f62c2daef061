"""Turn what speech recognition (or a person typing) produced into plain lowercase words.

Every skill matches against :func:`normalise`'s output, so they all tolerate the same things: capitals,
punctuation or none, contractions ("what's"), symbols typed instead of said ("5 + 3", "20%", "5km"), and
numbers written with separators ("1,000").
"""

from __future__ import annotations

import re

__all__ = ["normalise", "words"]

_CONTRACTIONS = {
    "what's": "what is", "whats": "what is", "it's": "it is", "that's": "that is", "how's": "how is",
    "where's": "where is", "who's": "who is", "there's": "there is", "i'm": "i am", "i'd": "i would",
    "i'll": "i will", "you're": "you are", "can't": "cannot", "don't": "do not", "doesn't": "does not",
    "isn't": "is not", "let's": "let us", "today's": "todays", "o'clock": "oclock",
}

_SYMBOLS = [
    (re.compile(r"(?<=\d),(?=\d{3}\b)"), ""),  # 1,000 -> 1000
    (re.compile(r"(\d)\s*%"), r"\1 percent "),
    (re.compile(r"°\s*([cfk])\b", re.I), r" degrees \1 "),
    (re.compile(r"°"), " degrees "),
    (re.compile(r"\bkm\s*/\s*h\b|\bkph\b|\bkmh\b", re.I), " kilometres per hour "),
    (re.compile(r"\bm\s*/\s*s\b", re.I), " metres per second "),
    (re.compile(r"(?<=\d)\s*\+\s*(?=[\d.a-z])"), " plus "),
    (re.compile(r"(?<=\d)\s*[*×x]\s*(?=[\d.])"), " times "),
    (re.compile(r"(?<=\d)\s*[/÷]\s*(?=[\d.])"), " divided by "),
    (re.compile(r"×"), " times "),
    (re.compile(r"÷"), " divided by "),
    (re.compile(r"(?<=\d)\s*\^\s*(?=[\d.])"), " to the power of "),
    (re.compile(r"(?<=\d)\s+-\s*(?=[\d.])|(?<=\d)-(?=\d)"), " minus "),
    (re.compile(r"(?<![\w.])-(?=\d)"), " minus "),
    (re.compile(r"(?<=\d)(?=[a-z])|(?<=[a-z])(?=\d)", re.I), " "),  # 5km -> 5 km
]

_DROP = re.compile(r"[^\w\s.'\-:]")  # keep decimal points, apostrophes, hyphens and clock colons for now
_SENTENCE_DOT = re.compile(r"(?<!\d)\.|\.(?!\d)")  # a dot that is not between digits


def normalise(heard: str) -> str:
    """Lowercase, punctuation-free words with contractions expanded and symbols spelled out."""
    text = heard.strip().lower().replace("’", "'").replace("‘", "'")
    for pattern, replacement in _SYMBOLS:
        text = pattern.sub(replacement, text)
    text = _DROP.sub(" ", text)
    text = _SENTENCE_DOT.sub(" ", text)
    text = re.sub(r"(?<!\d):|:(?!\d)", " ", text)
    text = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", text)  # twenty-three -> twenty three
    text = text.replace("-", " ")
    out = []
    for word in text.split():
        word = word.strip("'")
        out.append(_CONTRACTIONS.get(word, word.replace("'s", "s") if word.endswith("'s") else word))
    return " ".join(out)


def words(heard: str) -> list[str]:
    """The normalised words of ``heard``, as a list."""
    return normalise(heard).split()
