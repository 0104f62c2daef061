"""The echo processor: text back as text and transcript, audio back at 24 kHz, mic off ends the turn."""

from __future__ import annotations

import numpy as np

from desktop.parts import Part
from desktop.processors import get_factory
from desktop.processors.echo import OUTPUT_RATE, create
from tests.gemini_double import tone_pcm16

from .helpers import Feed, take_all

MIC_OFF = Part(text="", role="user", substream_name="realtime", metadata={"audio_stream_end": True})


def _mic(pcm: bytes, rate: int) -> Part:
    return Part(data=pcm, mimetype=f"audio/pcm;rate={rate}", role="user", substream_name="realtime")


def test_registered_by_name() -> None:
    assert get_factory("echo") is create


async def test_text_turn_comes_back_once_as_model_text(feed: Feed) -> None:
    feed.send(Part(text="hello", role="user", metadata={"turn_complete": True}))
    feed.end()
    parts = await take_all(create({})(feed))
    # Said once on the wire: no output_transcription copy of a reply nobody spoke.
    assert parts == [Part.model_text("hello"), Part.generation_complete()]


async def test_audio_turn_comes_back_at_24k(feed: Feed) -> None:
    chunks = [tone_pcm16(20, rate=16000, start_sample=i * 320) for i in range(25)]  # 0.5 s at 16 kHz
    feed.send(*[_mic(c, 16000) for c in chunks], MIC_OFF)
    feed.end()
    parts = await take_all(create({})(feed))

    assert parts[-1] == Part.generation_complete()
    audio = [p for p in parts if p.is_audio]
    assert audio and all(p.mimetype == f"audio/pcm;rate={OUTPUT_RATE}" and p.role == "model" for p in audio)
    samples = np.frombuffer(b"".join(p.data or b"" for p in audio), "<i2")
    assert abs(len(samples) - 12000) <= 48  # 0.5 s at 24 kHz, give or take the resampler's edges
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    assert abs(np.argmax(spectrum) * OUTPUT_RATE / len(samples) - 440.0) < 5.0  # same pitch: no chipmunk


async def test_24k_audio_passes_through_unchanged(feed: Feed) -> None:
    pcm = tone_pcm16(40, rate=24000)
    feed.send(_mic(pcm, 24000), MIC_OFF)
    feed.end()
    parts = await take_all(create({})(feed))
    assert parts == [Part.audio(pcm, 24000), Part.generation_complete()]


async def test_mic_off_alone_completes_the_turn(feed: Feed) -> None:
    feed.send(MIC_OFF)
    feed.end()
    assert await take_all(create({})(feed)) == [Part.generation_complete()]
