"""Step 3: the reply — what was heard (or typed) goes to the Assistant; its sentences go on to be spoken.

The Assistant (:mod:`desktop.assistant`: skills, then a local language model, then an honest fallback)
answers one turn at a time. A new turn or the start of user speech cancels the reply being made and
sends a barge-in down the chain; ``Reply.stop`` ends the turn silently. Timer and reminder notices
from ``next_notice()`` are spoken between turns, never over the user.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import logging
from typing import Any

from desktop.parts import INPUT_TRANSCRIPTION, Part

from .stage import (
    BARGE_IN,
    HEARD_NOTHING,
    IDLE_TURN_END,
    REPLY_END,
    REPLY_START,
    SENTENCE,
    SPEECH_START,
    Stage,
    cancel_and_wait,
    is_marker,
    marker,
)

__all__ = ["DIDNT_CATCH", "ReplyStage"]

log = logging.getLogger(__name__)

DIDNT_CATCH = "Sorry, I didn't catch that."
MAX_PENDING_NOTICES = 16


def is_typed_turn(part: Part) -> bool:
    return (part.is_text and bool(part.text and part.text.strip()) and part.role == "user"
            and part.substream_name == "" and part.mimetype == "text/plain")


def is_heard(part: Part) -> bool:
    return (part.substream_name == INPUT_TRANSCRIPTION and part.is_text and bool(part.text)
            and part.metadata.get("is_final") is not False)


class ReplyStage(Stage):
    """Turns in, reply markers out (``reply_start``, ``sentence``…, ``reply_end``, ``barge_in``)."""

    def __init__(self, assistant: Any) -> None:
        super().__init__()
        self.assistant = assistant
        self._job: asyncio.Task[None] | None = None
        self._listening = False  # the user is mid-utterance: hold notices
        self._notices: collections.deque[str] = collections.deque(maxlen=MAX_PENDING_NOTICES)
        self._next_id = 1
        self._notice_task: asyncio.Task[None] | None = None

    async def on_part(self, part: Part) -> None:
        if self._notice_task is None:
            self._notice_task = self.spawn(self._wait_for_notices(), name="timer notices", daemon=True)
        if is_marker(part, SPEECH_START):
            self._listening = True
            await self._barge_in()
        elif is_heard(part):
            self._listening = False
            await self.emit(part)
            await self._start(part.text or "", spoken=True)
        elif is_marker(part, HEARD_NOTHING):
            self._listening = False
            await self._start(None, spoken=True)
        elif is_typed_turn(part):
            await self._start((part.text or "").strip(), spoken=False)
        elif is_marker(part, IDLE_TURN_END):
            self._listening = False
            await self.emit(part)
            self._speak_notices()
        else:
            await self.emit(part)

    async def on_end(self) -> None:
        while self._job is not None and not self._job.done():
            await asyncio.wait({self._job})

    # -- replies -------------------------------------------------------------------------------

    async def _barge_in(self) -> None:
        cancelled = self._job is not None and not self._job.done()
        await cancel_and_wait(self._job)
        self._job = None
        await self.emit(marker(BARGE_IN, cancelled=cancelled))

    async def _start(self, heard: str | None, *, spoken: bool) -> None:
        await self._barge_in()
        self._job = self.spawn(self._reply(heard, spoken), name="reply")

    async def _reply(self, heard: str | None, spoken: bool) -> None:
        reply_id, started, sentences = self._take_id(), False, None
        try:
            if heard is None:
                sentences, stop = _one(DIDNT_CATCH), False
            else:
                reply = await self.assistant.respond(heard)
                sentences, stop = reply.sentences, bool(reply.stop)
            await self.emit(marker(REPLY_START, id=reply_id, spoken=spoken))
            started = True
            if not stop:  # "stop" has already silenced what was playing (the turn barged in)
                async for sentence in sentences:
                    if sentence and sentence.strip():
                        await self.emit(marker(SENTENCE, text=sentence.strip(), id=reply_id))
        except Exception as exc:  # the Assistant failing must cost this turn, not the session
            log.exception("The assistant failed on %r", heard)
            await self.emit(Part.error(f"The offline assistant could not answer: {exc}"))
        finally:
            await _aclose(sentences)  # on cancellation too: stops the model generating
        await self.emit(marker(REPLY_END, id=reply_id) if started else marker(IDLE_TURN_END))
        self._job = None
        self._speak_notices()

    def _take_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    # -- notices --------------------------------------------------------------------------------

    async def _wait_for_notices(self) -> None:
        while True:
            notice = await self.assistant.next_notice()
            if notice:
                self._notices.append(notice)
                self._speak_notices()

    def _speak_notices(self) -> None:
        """Say waiting notices now if nobody is talking and nothing is being answered."""
        if self._notices and not self._listening and (self._job is None or self._job.done()):
            self._job = self.spawn(self._say_notices(), name="notice")

    async def _say_notices(self) -> None:
        while self._notices:
            reply_id = self._take_id()
            await self.emit(marker(REPLY_START, id=reply_id, spoken=True, notice=True))
            await self.emit(marker(SENTENCE, text=self._notices.popleft(), id=reply_id))
            await self.emit(marker(REPLY_END, id=reply_id))
        self._job = None


async def _one(sentence: str):  # noqa: ANN202 - an async iterator of one sentence
    yield sentence


async def _aclose(iterator: Any) -> None:
    closer = getattr(iterator, "aclose", None)
    if closer is not None:
        result = closer()
        if inspect.isawaitable(result):
            await result
