"""The loopback processor: what you type or say comes straight back.

Tests and a user's mic check rely on it: a text turn returns once, as model text
(a typed reply has no speech to transcribe, and clients that render every text
part would show a second copy), then ``generation_complete``; every audio part
returns at once at 24 kHz; mic off ends the spoken turn.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

from desktop.audio.dsp import PCMResampler
from desktop.parts import Part, audio_rate

__all__ = ["EchoProcessor", "create"]

OUTPUT_RATE = 24000


class EchoProcessor:
    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.config = dict(config or {})

    async def __call__(self, parts: AsyncIterable[Part]) -> AsyncIterator[Part]:
        resamplers: dict[int, PCMResampler] = {}
        async for part in parts:
            if part.is_audio and part.data:
                rate = audio_rate(part.mimetype, 16000)
                # Quick quality: soxr's better filters hold back whole blocks, and an echo must be immediate.
                # One stream per rate for the whole turn: a fresh one per chunk would lose the filter state
                # (a click at every 20 ms boundary) and cost more than the resampling itself.
                resampler = resamplers.get(rate)
                if resampler is None:
                    resampler = resamplers[rate] = PCMResampler(rate, OUTPUT_RATE, quality="QQ")
                pcm = resampler.process(part.data)
                if pcm:
                    yield Part.audio(pcm, OUTPUT_RATE)
            elif part.is_audio_stream_end or part.is_activity_end:
                tail = b"".join(r.process(b"", last=True) for r in resamplers.values())
                resamplers.clear()
                if tail:
                    yield Part.audio(tail, OUTPUT_RATE)
                yield Part.generation_complete()
            elif part.is_text and part.text:
                yield Part.model_text(part.text)
                yield Part.generation_complete()


def create(config: dict[str, Any]) -> EchoProcessor:
    return EchoProcessor(config)
