"""Step 2: speech to text — Whisper tiny.en (faster-whisper) on each utterance the VAD cut.

The final transcript of an utterance goes out as a final ``input_transcription``; while the user is
still speaking, snapshots of the utterance get tentative transcripts (``is_final`` false) when the
machine can afford them: never two transcriptions at once, and less often when each one is slow.
An utterance with nothing recognisable becomes a "heard nothing" marker (the reply says so honestly).
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import numpy as np

from desktop.parts import Part

from .stage import HEARD_NOTHING, IDLE_TURN_END, UTTERANCE, Stage, cancel_and_wait, is_marker, marker

__all__ = ["SttStage", "Transcriber"]

RATE = 16000
# Whisper's own "this was not speech" signal, as faster-whisper's transcribe() uses it.
NO_SPEECH_PROBABILITY = 0.6
LOW_LOG_PROBABILITY = -1.0


class Transcriber:
    """A loaded Whisper model shared by every connection; one transcription at a time (2 cores)."""

    def __init__(self, model: Any, *, language: str = "en") -> None:
        self.model = model
        self.language = language
        self._lock = threading.Lock()
        self.last_seconds = 0.0  # how long the last transcription took: the machine's current pace

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    def transcribe(self, pcm: bytes) -> str:
        """The words in PCM16 mono 16 kHz audio, or "" when there are none. Blocks: call in a thread."""
        audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        if audio.size < RATE // 10:
            return ""
        with self._lock:
            started = time.perf_counter()
            segments, _info = self.model.transcribe(
                audio, language=self.language, beam_size=1, without_timestamps=True,
                condition_on_previous_text=False, vad_filter=False)
            words = [s.text.strip() for s in segments
                     if not (s.no_speech_prob > NO_SPEECH_PROBABILITY and s.avg_logprob < LOW_LOG_PROBABILITY)]
            self.last_seconds = time.perf_counter() - started
        return " ".join(w for w in words if w)

    def warm_up(self) -> None:
        """One throw-away run, so the first real question does not pay for the first allocation."""
        noise = (np.random.default_rng(0).standard_normal(RATE // 2) * 30).astype("<i2")
        self.transcribe(noise.tobytes())


class SttStage(Stage):
    """Utterance markers in; ``input_transcription`` parts (or "heard nothing") out; the rest passes."""

    def __init__(self, transcriber: Transcriber | None, *, unavailable: str = "") -> None:
        super().__init__()
        self.transcriber = transcriber
        self.unavailable = unavailable
        self._partial: asyncio.Task[None] | None = None
        self._partial_bytes = 0  # audio length of the last snapshot transcribed
        self._finished: set[int] = set()

    async def on_part(self, part: Part) -> None:
        if not is_marker(part, UTTERANCE):
            await self.emit(part)
        elif part.metadata.get("final"):
            await self._final(part)
        else:
            self._maybe_partial(part)

    def _maybe_partial(self, part: Part) -> None:
        transcriber, pcm = self.transcriber, part.data or b""
        if transcriber is None or transcriber.busy or (self._partial is not None and not self._partial.done()):
            return  # behind already: skip this snapshot, the next one has more words anyway
        if len(pcm) < self._partial_bytes:
            self._partial_bytes = 0  # a new utterance
        new_seconds = (len(pcm) - self._partial_bytes) / 2 / RATE
        if self._partial_bytes and new_seconds < max(1.0, 1.5 * transcriber.last_seconds):
            return  # each transcription is slow right now: space them out
        self._partial_bytes = len(pcm)
        self._partial = self.spawn(self._transcribe_partial(part.metadata.get("utterance"), pcm),
                                   name="partial transcription")

    async def _transcribe_partial(self, utterance: Any, pcm: bytes) -> None:
        assert self.transcriber is not None
        text = await asyncio.to_thread(self.transcriber.transcribe, pcm)
        if text and utterance not in self._finished:
            await self.emit(Part.transcription(text, user=True, final=False))

    async def _final(self, part: Part) -> None:
        utterance = part.metadata.get("utterance")
        self._finished.add(utterance)
        if len(self._finished) > 16:
            self._finished = {utterance}
        await cancel_and_wait(self._partial)
        self._partial, self._partial_bytes = None, 0
        pcm = part.data or b""
        if self.transcriber is None:
            await self.emit(Part.error(self.unavailable))
            await self.emit(marker(IDLE_TURN_END))
            return
        text = await asyncio.to_thread(self.transcriber.transcribe, pcm)
        if text:
            await self.emit(Part.transcription(text, user=True, final=True))
        else:
            await self.emit(marker(HEARD_NOTHING, seconds=round(len(pcm) / 2 / RATE, 2)))
