"""Step 1: voice activity detection — where an utterance starts and ends in the incoming 16 kHz audio.

:class:`Segmenter` is the pure part: PCM16 in, events out (speech started, a snapshot for a partial
transcript, the finished utterance, or "nothing was said"). It asks a :class:`Detector` (Silero) for
the probability of speech in each 32 ms chunk and applies hysteresis: speech starts after ~100 ms
above the threshold and ends after :attr:`Segmenter.end_silence` seconds below it; mic off or
activity end ends it at once. :class:`VadStage` runs it over the Part stream, off the event loop.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
from collections.abc import Callable
from typing import Protocol

from desktop.audio.dsp import PCMResampler
from desktop.parts import Part, audio_rate

from .stage import HEARD_NOTHING, IDLE_TURN_END, SPEECH_START, UTTERANCE, Stage, marker

__all__ = ["Detector", "NoSpeech", "Segmenter", "Snapshot", "SpeechStarted", "Utterance", "VadStage"]

RATE = 16000
CHUNK_SAMPLES = 512  # Silero's fixed window at 16 kHz
CHUNK_BYTES = CHUNK_SAMPLES * 2
CHUNK_SECONDS = CHUNK_SAMPLES / RATE
HEARD_NOTHING_MIN_SECONDS = 0.3  # shorter than this, a mic press with no speech is a slip, not a question


class Detector(Protocol):
    """Silero's interface: the probability of speech in one chunk of 512 PCM16 samples."""

    def process_chunk(self, audio: bytes) -> float: ...

    def reset(self) -> None: ...


@dataclasses.dataclass(frozen=True, slots=True)
class SpeechStarted:
    utterance: int


@dataclasses.dataclass(frozen=True, slots=True)
class Snapshot:
    """The current utterance's audio so far, for a partial transcript."""

    utterance: int
    pcm: bytes


@dataclasses.dataclass(frozen=True, slots=True)
class Utterance:
    """A finished utterance: ``reason`` is "silence", "mic_off" or "max_length"."""

    utterance: int
    pcm: bytes
    reason: str

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / RATE


@dataclasses.dataclass(frozen=True, slots=True)
class NoSpeech:
    """The mic went off and nothing in this spoken turn sounded like speech."""

    seconds: float


Event = SpeechStarted | Snapshot | Utterance | NoSpeech


class Segmenter:
    """Cuts a PCM16 16 kHz stream into utterances. Not thread-safe: feed it from one place at a time."""

    def __init__(self, detector: Detector, *, threshold: float = 0.5, release: float = 0.35,
                 onset_seconds: float = 0.09, end_silence: float = 0.6, pre_roll: float = 0.3,
                 tail: float = 0.2, max_seconds: float = 29.0, snapshot_every: float = 1.0) -> None:
        self.detector = detector
        self.threshold, self.release = threshold, release
        self.onset_chunks = max(1, round(onset_seconds / CHUNK_SECONDS))
        self.end_silence = end_silence
        self._end_chunks = max(1, round(end_silence / CHUNK_SECONDS))
        self._tail_bytes = round(tail / CHUNK_SECONDS) * CHUNK_BYTES
        self._max_bytes = round(max_seconds / CHUNK_SECONDS) * CHUNK_BYTES  # Whisper hears 30 s at most
        self._snapshot_chunks = max(1, round(snapshot_every / CHUNK_SECONDS))
        self._pending = bytearray()
        self._pre_roll: collections.deque[bytes] = collections.deque(maxlen=max(1, round(pre_roll / CHUNK_SECONDS)))
        self._speech: bytearray | None = None
        self._run = 0  # consecutive chunks of speech before an onset
        self._silence = 0  # chunks of silence inside an utterance
        self._since_snapshot = 0
        self._heard_bytes = 0  # audio since the last flush
        self._utterances_since_flush = 0
        self._next_id = 1

    @property
    def in_speech(self) -> bool:
        return self._speech is not None

    def feed(self, pcm: bytes) -> list[Event]:
        """Events for this audio (PCM16 mono 16 kHz; any length)."""
        self._pending += pcm
        self._heard_bytes += len(pcm)
        events: list[Event] = []
        while len(self._pending) >= CHUNK_BYTES:
            chunk = bytes(self._pending[:CHUNK_BYTES])
            del self._pending[:CHUNK_BYTES]
            self._chunk(chunk, events)
        return events

    def flush(self) -> list[Event]:
        """Mic off / activity end: the utterance (if any) ends now; the next turn starts afresh."""
        events: list[Event] = []
        if self._speech is not None:
            events.append(self._finish(bytes(self._speech + self._pending), "mic_off"))
        elif self._utterances_since_flush == 0:
            events.append(NoSpeech(self._heard_bytes / 2 / RATE))
        self._pending.clear()
        self._pre_roll.clear()
        self._run = 0
        self._heard_bytes = 0
        self._utterances_since_flush = 0
        self.detector.reset()
        return events

    def _chunk(self, chunk: bytes, events: list[Event]) -> None:
        probability = self.detector.process_chunk(chunk)
        if self._speech is None:
            self._pre_roll.append(chunk)
            if probability >= self.threshold:
                self._run += 1
            elif probability < self.release:
                self._run = 0
            if self._run >= self.onset_chunks:
                self._speech = bytearray(b"".join(self._pre_roll))
                self._pre_roll.clear()
                self._silence = self._since_snapshot = self._run = 0
                events.append(SpeechStarted(self._next_id))
            return
        self._speech += chunk
        if probability < self.release:
            self._silence += 1
        elif probability >= self.threshold:
            self._silence = 0
        if self._silence >= self._end_chunks:
            keep = len(self._speech) - self._silence * CHUNK_BYTES + self._tail_bytes
            events.append(self._finish(bytes(self._speech[:keep]), "silence"))
        elif len(self._speech) >= self._max_bytes:
            events.append(self._finish(bytes(self._speech), "max_length"))
        else:
            self._since_snapshot += 1
            # Not in a pause: the utterance may be ending, and a partial then only delays the final.
            if self._since_snapshot >= self._snapshot_chunks and self._silence == 0:
                self._since_snapshot = 0
                events.append(Snapshot(self._next_id, bytes(self._speech)))

    def _finish(self, pcm: bytes, reason: str) -> Utterance:
        utterance = Utterance(self._next_id, pcm, reason)
        self._next_id += 1
        self._utterances_since_flush += 1
        self._speech = None
        self._silence = self._run = 0
        return utterance


class VadStage(Stage):
    """Audio and mic events in; speech-start and utterance markers out; every other part passes.

    With no detector (offline speech missing), spoken turns get ``unavailable`` as an error part.
    """

    def __init__(self, detector: Detector | None, *, unavailable: str = "",
                 segmenter: Callable[[Detector], Segmenter] = Segmenter) -> None:
        super().__init__()
        self.segmenter = segmenter(detector) if detector is not None else None
        self.unavailable = unavailable
        self._resamplers: dict[int, PCMResampler] = {}
        self._deaf_audio = False

    async def on_part(self, part: Part) -> None:
        if part.is_audio:
            if part.data:
                await self._audio(part)
        elif part.is_audio_stream_end or part.is_activity_end:
            await self._end_of_turn()
        elif part.is_activity_start:
            pass  # the audio itself says when speech starts
        else:
            await self.emit(part)

    async def _audio(self, part: Part) -> None:
        if self.segmenter is None:
            self._deaf_audio = True
            return
        rate = audio_rate(part.mimetype, RATE) or RATE
        pcm = part.data or b""
        if rate != RATE:
            if rate not in self._resamplers:
                self._resamplers = {rate: PCMResampler(rate, RATE, quality="QQ")}  # one: a client picks the rates
            pcm = self._resamplers[rate].process(pcm)
        await self._events(await asyncio.to_thread(self.segmenter.feed, pcm))

    async def _end_of_turn(self) -> None:
        if self.segmenter is None:
            if self._deaf_audio:
                await self.emit(Part.error(self.unavailable))
            self._deaf_audio = False
            await self.emit(marker(IDLE_TURN_END))
            return
        tail = b"".join(r.process(b"", last=True) for r in self._resamplers.values())
        self._resamplers = {}
        events = await asyncio.to_thread(lambda: self.segmenter.feed(tail) + self.segmenter.flush())
        await self._events(events)

    async def _events(self, events: list[Event]) -> None:
        for event in events:
            match event:
                case SpeechStarted(utterance=number):
                    await self.emit(marker(SPEECH_START, utterance=number))
                case Snapshot(utterance=number, pcm=pcm):
                    await self.emit(marker(UTTERANCE, data=pcm, utterance=number, final=False))
                case Utterance(utterance=number, pcm=pcm, reason=reason):
                    await self.emit(marker(UTTERANCE, data=pcm, utterance=number, final=True, reason=reason))
                case NoSpeech(seconds=seconds):
                    if seconds >= HEARD_NOTHING_MIN_SECONDS:
                        await self.emit(marker(HEARD_NOTHING, seconds=round(seconds, 2)))
                    else:
                        await self.emit(marker(IDLE_TURN_END))
