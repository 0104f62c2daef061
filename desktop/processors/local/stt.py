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
MIN_SECONDS = 10.0  # shorter utterances are padded with silence to this (see Transcriber)
MAX_SECONDS = 30  # Whisper hears 30 s at most
# Whisper's own "this was not speech" signal, as faster-whisper's transcribe() uses it; above SURELY_SILENCE
# the words are Whisper's habit on silence ("you"), whatever their probability (short real words stay < 0.5).
NO_SPEECH_PROBABILITY = 0.6
LOW_LOG_PROBABILITY = -1.0
SURELY_SILENCE = 0.8


class Transcriber:
    """A loaded Whisper model shared by every connection; one transcription at a time (2 cores).

    Whisper's encoder is built for 30 s windows and faster-whisper pads every clip to 30 s, three times
    the work a short question needs. Here each utterance is padded with silence to :data:`MIN_SECONDS`
    only, and CTranslate2 encodes just that. Measured on 30 phrases (espeak-ng and Piper): 8.2 % WER
    against 8.7 % at 30 s, in a sixth of the time; at 5 s Whisper starts repeating itself. Where the
    model is not faster-whisper's usual shape, its own ``transcribe()`` is used.
    """

    def __init__(self, model: Any, *, language: str = "en") -> None:
        self.model = model
        self.language = language
        self._lock = threading.Lock()
        self.last_seconds = 0.0  # how long the last transcription took: the machine's current pace
        self._tokenizer, self._prompt = _direct_decoding(model, language)

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
            text = self._decode(audio) if self._tokenizer is not None else self._transcribe(audio)
            self.last_seconds = time.perf_counter() - started
        return text

    def _decode(self, audio: np.ndarray) -> str:
        import ctranslate2

        padded = np.pad(audio[: MAX_SECONDS * RATE], (0, max(0, int(MIN_SECONDS * RATE) - audio.size)))
        features = self.model.feature_extractor(padded)[:, :-1]  # faster-whisper drops the last frame too
        seconds = audio.size / RATE
        (result,) = self.model.model.generate(
            ctranslate2.StorageView.from_array(np.ascontiguousarray(features[np.newaxis], dtype=np.float32)),
            [self._prompt], beam_size=1, max_length=min(224, 40 + int(12 * seconds)),
            return_scores=True, return_no_speech_prob=True)
        tokens = result.sequences_ids[0]
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1) if result.scores else 0.0
        if result.no_speech_prob > SURELY_SILENCE or (
                result.no_speech_prob > NO_SPEECH_PROBABILITY and avg_logprob < LOW_LOG_PROBABILITY):
            return ""
        return self._tokenizer.decode(tokens).strip()

    def _transcribe(self, audio: np.ndarray) -> str:
        segments, _info = self.model.transcribe(
            audio, language=self.language, beam_size=1, without_timestamps=True,
            condition_on_previous_text=False, vad_filter=False)
        words = [s.text.strip() for s in segments
                 if not (s.no_speech_prob > NO_SPEECH_PROBABILITY and s.avg_logprob < LOW_LOG_PROBABILITY)]
        return " ".join(w for w in words if w)

    def warm_up(self) -> None:
        """One throw-away run, so the first real question does not pay for the first allocation."""
        noise = (np.random.default_rng(0).standard_normal(RATE // 2) * 30).astype("<i2")
        self.transcribe(noise.tobytes())


def _direct_decoding(model: Any, language: str) -> tuple[Any, list[int]]:
    """faster-whisper's tokenizer and prompt, to run CTranslate2 directly; (None, []) if the model differs."""
    try:
        from faster_whisper.tokenizer import Tokenizer

        multilingual = bool(model.model.is_multilingual)
        tokenizer = Tokenizer(model.hf_tokenizer, multilingual, task="transcribe",
                              language=language if multilingual else None)
        model.feature_extractor  # noqa: B018 - present, or fall back below
        return tokenizer, [*tokenizer.sot_sequence, tokenizer.no_timestamps]
    except (AttributeError, ImportError, ValueError):
        return None, []


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
