"""The assistant's reply brain: skills first, then a local language model, else an honest fallback.

Pure Python (no Qt, audio or sockets of its own): the offline speech pipeline calls :meth:`Assistant.respond`
for every turn, typed or spoken, speaks the :class:`Reply`'s sentences as they come, and awaits
:meth:`Assistant.next_notice` for timers and reminders that fire later.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from desktop.assistant.llm import Conversation, Generation, GenerationCancelled, LLMUnavailable, LocalModel
from desktop.assistant.skills import Answer
from desktop.assistant.skills.arithmetic import ArithmeticSkill
from desktop.assistant.skills.clock import ClockSkill, say_date
from desktop.assistant.skills.meta import MetaSkill
from desktop.assistant.skills.timers import TimerBook, TimerSkill
from desktop.assistant.skills.units import UnitsSkill
from desktop.assistant.text import normalise

__all__ = ["Assistant", "Reply"]

log = logging.getLogger(__name__)

OFFLINE_SKILLS = "the time and date, timers and reminders, arithmetic and unit conversions"
HOW_TO_CHAT = ("For open conversation, run a local model server such as Ollama, "
               "or add a Gemini key in Settings.")
_LANGUAGES = {"en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian", "pt": "Portuguese",
              "nl": "Dutch", "pl": "Polish", "sv": "Swedish", "da": "Danish", "no": "Norwegian", "fi": "Finnish",
              "cs": "Czech", "tr": "Turkish", "ru": "Russian", "uk": "Ukrainian", "ja": "Japanese", "zh": "Chinese",
              "ko": "Korean", "hi": "Hindi", "ar": "Arabic"}
_MAX_HEARD = 200  # characters of a turn quoted back in the fallback reply
_MAX_SKILL_WORDS = 40  # skills answer short commands; anything longer is a question for the model


@dataclasses.dataclass
class Reply:
    """One reply: who made it, its words one sentence at a time as they are produced, and whether to go quiet.

    ``source`` is "skill:<name>", "llm", "fallback" or "stop". With ``stop`` true there are no sentences:
    the listener should silence what is playing. Iterate ``sentences`` once; leaving early (or cancelling the
    task iterating it) stops an LLM reply being generated.
    """

    source: str
    sentences: AsyncIterator[str]
    stop: bool = False

    async def text(self) -> str:
        """All the sentences joined (for tests and typed-only clients that want the whole reply)."""
        return " ".join([sentence async for sentence in self.sentences])


async def _nothing() -> AsyncIterator[str]:
    return
    yield  # an async generator that yields nothing


def _zone(name: object) -> tzinfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone %r in the assistant's settings; using the system's", name)
        return None


class Assistant:
    """Answers turns; owns its timers and its LLM generation, and cancels both in :meth:`aclose`.

    ``config`` keys (all optional): ``llm_url`` (an OpenAI-compatible base such as http://127.0.0.1:11434/v1),
    ``llm_model``, ``language`` ("en"), ``timezone`` (an IANA name; default the system's zone).
    ``clock`` returns the current moment (aware, or naive in the configured zone); tests inject it.
    """

    def __init__(self, config: Mapping[str, Any] | None = None, *, clock: Callable[[], datetime] | None = None) -> None:
        config = dict(config or {})
        self.language = str(config.get("language") or "en")
        self._clock = clock or (lambda: datetime.now(UTC))
        self._clock_skill = ClockSkill(self._clock, _zone(config.get("timezone")))
        url = str(config.get("llm_url") or "").strip()
        self._llm = LocalModel(url, str(config.get("llm_model") or "") or None) if url else None
        self._conversation = Conversation()
        self._generation: Generation | None = None
        self._closed = False
        self._last_said: tuple[str, ...] = ()
        self._notices: asyncio.Queue[str] = asyncio.Queue(maxsize=64)
        self._timers = TimerBook(self._notify)
        self._skills: list[Callable[[str], Answer | None]] = [
            MetaSkill(lambda: self._last_said, self._help),
            TimerSkill(self._timers, self._clock_skill.local_now),
            self._clock_skill,
            UnitsSkill(),
            ArithmeticSkill(),
        ]

    def __repr__(self) -> str:
        return f"Assistant(llm={self._llm!r})"

    @property
    def llm_url(self) -> str | None:
        """The local model endpoint in use, or None when only the skills answer."""
        return self._llm.url if self._llm else None

    @property
    def generating(self) -> bool:
        """True while the local model is still writing the current reply."""
        generation = self._generation
        return generation is not None and not generation.completed and not generation.task.done()

    def capabilities(self) -> str:
        """One short sentence of what the assistant can do, for "what can you do" and the empty window."""
        can = ("I can tell the time and date, here or in other cities, set timers, reminders and alarms, "
               "do arithmetic and convert units")
        return f"{can}, and chat using the local model." if self._llm else f"{can}."

    def _help(self) -> tuple[str, ...]:
        return (self.capabilities(),) if self._llm else (self.capabilities(), HOW_TO_CHAT)

    async def respond(self, heard: str) -> Reply:
        """The reply to one turn. Cancellable at any await; a new turn stops the previous LLM reply."""
        if self._closed:
            raise RuntimeError("this Assistant has been closed")
        await self._stop_generation()
        text = normalise(heard)
        if not text:
            return self._reply("fallback", heard, ["I didn't catch that."], remember=False)
        for skill in self._skills if len(text.split()) <= _MAX_SKILL_WORDS else ():
            answer = skill(text)
            if answer is not None:
                if answer.stop:
                    return Reply(source="stop", sentences=_nothing(), stop=True)
                return self._reply(answer.source, heard, answer.sentences, remember=answer.source != "skill:repeat")
        if self._llm is not None:
            generation = self._llm.generate(self._conversation.messages(self._system_prompt(), heard.strip()))
            self._generation = generation
            try:
                await generation.started()
            except GenerationCancelled:  # a newer turn took over while this one was connecting
                return Reply(source="llm", sentences=_nothing())
            except LLMUnavailable as error:
                await self._stop_generation(generation)
                return self._reply("fallback", heard, self._fallback(heard, down=str(error)), remember=False)
            except BaseException:  # cancelled (barge-in) while the server was connecting
                await self._stop_generation(generation)
                raise
            written = lambda: generation.text if generation.completed else None  # noqa: E731
            return Reply(source="llm", sentences=self._said(heard, generation.sentences(), remember=True,
                                                            written=written))
        return self._reply("fallback", heard, self._fallback(heard), remember=False)

    async def next_notice(self) -> str:
        """Wait for the next timer or reminder to fire; return the words to say ("Timer: tea, 5 minutes, done.")."""
        notice = await self._notices.get()
        self._last_said = (notice,)
        return notice

    async def aclose(self) -> None:
        """Cancel the reply being generated and every timer; close the connection to the model server."""
        self._closed = True
        await self._stop_generation()
        await self._timers.close()
        if self._llm is not None:
            await self._llm.aclose()

    # -- internals ---------------------------------------------------------------------------------------------

    def _notify(self, notice: str) -> None:
        if self._notices.full():  # nobody has been listening for a long while: the oldest notice goes
            self._notices.get_nowait()
        self._notices.put_nowait(notice)

    def _system_prompt(self) -> str:
        assert self._llm is not None
        # The date only, not the time: a prompt that changes every minute defeats the server's prompt cache.
        prompt = f"{self._llm.system_prompt} Today is {say_date(self._clock_skill.local_now())}."
        language = _LANGUAGES.get(self.language.split("-")[0].lower())
        if language and language != "English":
            prompt += f" Always answer in {language}."
        return prompt

    def _fallback(self, heard: str, *, down: str | None = None) -> list[str]:
        quoted = " ".join(heard.split())[:_MAX_HEARD].rstrip(" .!?")
        sentences = [f"I heard: {quoted}."]
        if down:
            sentences.append(down)
        sentences.append(f"I can only answer questions about {OFFLINE_SKILLS} offline.")
        sentences.append("Start the local model server, or check its address in Settings." if down else HOW_TO_CHAT)
        return sentences

    async def _stop_generation(self, generation: Generation | None = None) -> None:
        """Cancel ``generation`` (default: the current one); forget it if it is the current one."""
        generation = generation or self._generation
        if generation is self._generation:
            self._generation = None
        if generation is not None:
            await generation.cancel()

    def _reply(self, source: str, heard: str, sentences: Iterable[str], *, remember: bool) -> Reply:
        async def iterate() -> AsyncIterator[str]:
            for sentence in sentences:
                yield sentence

        return Reply(source=source, sentences=self._said(heard, iterate(), remember=remember))

    async def _said(self, heard: str, sentences: AsyncIterator[str], *, remember: bool,
                    written: Callable[[], str | None] | None = None) -> AsyncIterator[str]:
        """Pass ``sentences`` through, keeping what was said for "repeat that" and for the model's context.

        A model reply heard to the end goes into the context as the model wrote it (``written``), so the
        server can reuse its computed prompt; a reply cut short goes in as far as it was spoken.
        """
        said: list[str] = []
        heard_to_the_end = False
        try:
            async for sentence in sentences:
                said.append(sentence)
                self._last_said = tuple(said)
                yield sentence
            heard_to_the_end = True
        finally:
            with contextlib.suppress(Exception):
                await sentences.aclose()  # type: ignore[attr-defined]
            if remember and said:
                text = written() if written is not None and heard_to_the_end else None
                self._conversation.add(heard, text or " ".join(said))
