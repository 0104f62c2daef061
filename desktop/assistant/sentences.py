"""Cut a stream of model tokens into sentences a voice can speak, as soon as each one is complete.

Text-to-speech can start on the first sentence while the model is still writing the next ones, so the
splitter emits a sentence the moment its end is seen (". " / "! " / "? " / a line break), keeps
"Dr. Smith" and "3.5" whole, splits over-long sentences at a comma, and strips markdown a model may
write despite being asked not to (bullets, headings, **bold**, `code`, [links](...)).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator

__all__ = ["SentenceSplitter", "clean_for_speech", "split_sentences"]

_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "prof", "st", "sr", "jr", "vs", "etc", "eg", "ie", "e.g", "i.e", "no",
                  "mt", "approx", "inc", "ltd", "co", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
                  "sept", "oct", "nov", "dec", "fig", "u.s", "a.m", "p.m"}
_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)|\n+")
_LONG = 160  # a sentence longer than this is spoken in clauses
_CLAUSE = re.compile(r"[,;:—–](?=\s)")

_MARKDOWN = [
    (re.compile(r"```[a-z]*"), ""),
    (re.compile(r"!?\[([^\]]*)\]\([^)]*\)"), r"\1"),  # [text](url) -> text
    (re.compile(r"^\s*(?:#{1,6}\s+|>\s*|[-*+•]\s+|\d{1,2}[.)]\s+)"), ""),  # headings, quotes, bullets, numbered items
    (re.compile(r"(\*\*|__|\*|`|~~)"), ""),
    (re.compile(r"\s+"), " "),
]
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f]")


def clean_for_speech(text: str) -> str:
    """``text`` without markdown or emoji, whitespace collapsed."""
    for pattern, replacement in _MARKDOWN:
        text = pattern.sub(replacement, text)
    return _EMOJI.sub("", text).strip()


class SentenceSplitter:
    """Feed text as it arrives; get back the sentences completed so far. ``flush()`` returns the rest."""

    def __init__(self) -> None:
        self._buffer = ""

    def feed(self, text: str) -> list[str]:
        self._buffer += text
        out: list[str] = []
        start = 0
        for match in _END.finditer(self._buffer):
            end = match.end()
            before = self._buffer[start:match.start()]
            if match.group().startswith(".") and (self._is_abbreviation(before) or before.strip().isdigit()):
                continue  # "Dr. Smith", or the "1." of a numbered list
            out.extend(self._emit(self._buffer[start:end]))
            start = end
        self._buffer = self._buffer[start:]
        if len(self._buffer) > _LONG:
            out.extend(self._split_long())
        return out

    def flush(self) -> list[str]:
        rest, self._buffer = self._buffer, ""
        return self._emit(rest)

    @staticmethod
    def _is_abbreviation(before: str) -> bool:
        word = before.rsplit(None, 1)[-1].lower() if before.split() else ""
        word = word.lstrip("(\"'")
        return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())  # "J. R. R. Tolkien"

    def _split_long(self) -> list[str]:
        cuts = [m.end() for m in _CLAUSE.finditer(self._buffer) if m.end() >= 40]
        if not cuts:
            if len(self._buffer) < 2 * _LONG:
                return []
            cut = self._buffer.rfind(" ", 0, _LONG)  # a run-on with no commas: cut at a space
            if cut <= 0:
                return []
            cuts = [cut]
        cut = cuts[-1]
        head, self._buffer = self._buffer[:cut], self._buffer[cut:]
        return self._emit(head)

    @staticmethod
    def _emit(chunk: str) -> list[str]:
        cleaned = clean_for_speech(chunk)
        return [cleaned] if any(ch.isalnum() for ch in cleaned) else []


async def split_sentences(tokens: AsyncIterable[str]) -> AsyncIterator[str]:
    """Sentences from a token stream, each yielded as soon as it is complete."""
    splitter = SentenceSplitter()
    async for token in tokens:
        for sentence in splitter.feed(token):
            yield sentence
    for sentence in splitter.flush():
        yield sentence
