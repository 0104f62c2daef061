"""Built-in skills: each looks at the normalised words of a turn and either answers or passes.

A skill is a callable ``(text: str) -> Answer | None`` where ``text`` is :func:`desktop.assistant.text.normalise`'s
output. Skills are tried in order by :class:`desktop.assistant.core.Assistant`; the first that answers wins, so
a skill only answers when it is sure (an arithmetic expression it parsed completely, a city it knows).
"""

from __future__ import annotations

import dataclasses

__all__ = ["Answer"]


@dataclasses.dataclass(frozen=True)
class Answer:
    """What a skill says: its name (``skill:<name>``) and the reply, one sentence per item, written for speaking."""

    source: str
    sentences: tuple[str, ...]
    stop: bool = False

    @classmethod
    def say(cls, source: str, *sentences: str) -> Answer:
        return cls(source=source, sentences=tuple(s for s in sentences if s))
