"""Step 4: text to speech — each reply sentence through Piper, sent as it is made, paced at real time.

:class:`SpeakStage` turns the reply markers into what the client gets: per sentence its words
(``output_transcription`` for a spoken turn, model text for a typed one — never both) and its audio
in parts of at most 100 ms at 24 kHz, then ``generation_complete`` and ``turn_complete``. The audio is made
from the words' :func:`~.speakable.speakable` form ("3:05 PM" said as "three oh five PM"). Sentence
*n + 1* is synthesised while sentence *n* plays, and a long sentence is made clause by clause, so its first
words play while the rest are made. Audio is sent at most :data:`LEAD_SECONDS` ahead of
real time, so a barge-in finds little queued at the client and the rest is dropped here: a barge-in
cancels synthesis, empties the queues and sends one ``interrupted`` part.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import re
import threading
from typing import Any

from desktop.audio.dsp import resample_pcm16
from desktop.parts import Part

from .speakable import speakable
from .stage import BARGE_IN, IDLE_TURN_END, REPLY_END, REPLY_START, SENTENCE, Stage, cancel_and_wait, marker_kind

__all__ = ["CHUNK_SECONDS", "LEAD_SECONDS", "OUTPUT_RATE", "SpeakStage", "Synthesizer", "clauses", "split_chunks"]

log = logging.getLogger(__name__)

OUTPUT_RATE = 24000  # what live_server clients (and Gemini) expect
CHUNK_SECONDS = 0.1
CHUNK_BYTES = int(OUTPUT_RATE * CHUNK_SECONDS) * 2
LEAD_SECONDS = 0.5  # how far ahead of the listener's ear audio is sent
MAX_QUEUED_ITEMS = 512  # reply markers waiting for synthesis; a reply longer than this loses its tail
SYNTHESISED_AHEAD = 4  # clauses synthesised but not yet sent
LONG_SENTENCE = 60  # characters; longer sentences are synthesised clause by clause
MIN_CLAUSE = 24
_AUDIO = "audio"


class Synthesizer:
    """A loaded Piper voice shared by every connection; one synthesis at a time (espeak is global state)."""

    def __init__(self, voice: Any) -> None:
        self.voice = voice
        self.rate = int(voice.config.sample_rate)
        self._lock = threading.Lock()

    def synthesize(self, text: str) -> bytes:
        """``text`` spoken, as PCM16 mono at :data:`OUTPUT_RATE`. Blocks: call in a thread."""
        with self._lock:
            pcm = b"".join(chunk.audio_int16_bytes for chunk in self.voice.synthesize(text))
        return resample_pcm16(pcm, self.rate, OUTPUT_RATE)


def split_chunks(pcm: bytes, size: int = CHUNK_BYTES) -> list[bytes]:
    return [pcm[i:i + size] for i in range(0, len(pcm), size)]


def clauses(sentence: str) -> list[str]:
    """A long sentence cut after its commas (each piece long enough to sound natural); short ones whole."""
    if len(sentence) <= LONG_SENTENCE:
        return [sentence]
    pieces, current = [], ""
    for piece in re.split(r"(?<=[,;:])\s+", sentence):
        current = f"{current} {piece}" if current else piece
        if len(current) >= MIN_CLAUSE:
            pieces.append(current)
            current = ""
    if current:
        if pieces and len(current) < MIN_CLAUSE:
            pieces[-1] = f"{pieces[-1]} {current}"
        else:
            pieces.append(current)
    return pieces


class SpeakStage(Stage):
    """Reply markers in, words + audio + turn ends out. With no voice, replies go out as words only."""

    def __init__(self, synthesizer: Synthesizer | None) -> None:
        super().__init__()
        self.synthesizer = synthesizer
        self._queue: collections.deque[Part] = collections.deque()
        self._queued = asyncio.Event()
        self._play: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue(SYNTHESISED_AHEAD)
        self._replies_open = 0  # started and not yet finished playing
        self._idle = asyncio.Event()
        self._idle.set()
        self._play_end = 0.0  # loop time at which the listener will have heard everything sent
        self._workers: list[asyncio.Task[None]] = []

    async def on_part(self, part: Part) -> None:
        kind = marker_kind(part)
        if kind in (REPLY_START, SENTENCE, REPLY_END):
            self._enqueue(part)
        elif kind == BARGE_IN:
            await self._barge_in(bool(part.metadata.get("cancelled")))
        elif kind == IDLE_TURN_END:
            if self._replies_open == 0:
                await self._end_turn()
        elif kind is None:
            await self.emit(part)

    async def on_end(self) -> None:
        await self._idle.wait()
        for worker in self._workers:
            await cancel_and_wait(worker)

    # -- queueing and barge-in -------------------------------------------------------------------

    def _enqueue(self, part: Part) -> None:
        if len(self._queue) >= MAX_QUEUED_ITEMS and marker_kind(part) == SENTENCE:
            log.warning("Reply too long to queue; a sentence was dropped")
            return
        if marker_kind(part) == REPLY_START:
            self._replies_open += 1
            self._idle.clear()
        self._queue.append(part)
        self._queued.set()
        if not self._workers:
            self._start_workers()

    def _start_workers(self) -> None:
        self._workers = [self.spawn(self._synthesise(), name="speech synthesis", daemon=True),
                         self.spawn(self._player(), name="audio sender", daemon=True)]

    async def _barge_in(self, cancelled_generation: bool) -> None:
        loop = asyncio.get_running_loop()
        audible = loop.time() < self._play_end
        active = cancelled_generation or audible or self._replies_open > 0
        for worker in self._workers:
            await cancel_and_wait(worker)
        self._workers = []
        self._queue.clear()
        while not self._play.empty():
            self._play.get_nowait()
        self._replies_open = 0
        self._idle.set()
        self._play_end = loop.time()
        if active:
            await self.emit(Part.interrupted())

    async def _end_turn(self) -> None:
        await self.emit(Part.generation_complete())
        await self.emit(Part.control(turn_complete=True))

    # -- workers -------------------------------------------------------------------------------------

    async def _synthesise(self) -> None:
        while True:
            while not self._queue:
                self._queued.clear()
                await self._queued.wait()
            part = self._queue.popleft()
            kind = marker_kind(part)
            if kind != SENTENCE:
                await self._play.put((kind, part.metadata))
                continue
            text = part.text or ""
            await self._play.put((SENTENCE, part.metadata, text))
            for clause in clauses(text):  # a long sentence starts playing after its first clause is made
                # The voice says "three oh five PM" for "3:05 PM"; the words sent above keep the written form.
                await self._play.put((_AUDIO, part.metadata, await self._audio(speakable(clause))))

    async def _audio(self, text: str) -> list[bytes]:
        if self.synthesizer is None or not text.strip():
            return []
        try:
            return split_chunks(await asyncio.to_thread(self.synthesizer.synthesize, text))
        except Exception:  # one unspeakable sentence still shows as words
            log.exception("Could not synthesise %r", text[:80])
            return []

    async def _player(self) -> None:
        spoken, first = True, True
        while True:
            kind, metadata, *rest = await self._play.get()
            if kind == REPLY_START:
                spoken, first = bool(metadata.get("spoken", True)), True
            elif kind == SENTENCE:
                words = rest[0] if first else f" {rest[0]}"  # transcript pieces are joined as they are
                first = False
                await self.emit(Part.transcription(words, user=False, final=True) if spoken
                                else Part.model_text(words))
            elif kind == _AUDIO:
                for chunk in rest[0]:
                    await self._pace()
                    await self.emit(Part.audio(chunk, OUTPUT_RATE))
                    self._play_end += len(chunk) / 2 / OUTPUT_RATE
            elif kind == REPLY_END:
                await self._end_turn()
                self._replies_open = max(0, self._replies_open - 1)
                if self._replies_open == 0:
                    self._idle.set()

    async def _pace(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._play_end = max(self._play_end, now)
        if (wait := self._play_end - LEAD_SECONDS - now) > 0:
            await asyncio.sleep(wait)
