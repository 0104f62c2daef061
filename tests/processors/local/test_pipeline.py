"""The offline processor end to end over Parts: real speech in, the real Assistant, real speech out."""

from __future__ import annotations

import asyncio
import gc

from desktop.audio.dsp import resample_pcm16
from desktop.parts import Part
from desktop.processors import PROCESSORS, get_factory
from desktop.processors.local import create
from desktop.processors.local.tts import CHUNK_BYTES, OUTPUT_RATE

from ..helpers import Feed, take_all, take_until
from .conftest import silence, words
from .turns import MIC_OFF, audio_parts, hour_named, input_text, model_text, output_text, spoken, typed, utc_now

CONFIG = {"timezone": "UTC"}
LONG_QUESTION = "Tell me a long story about a dragon who lived under the old bridge by the river"


def is_turn_complete(part: Part) -> bool:
    return bool(part.metadata.get("turn_complete"))


def test_registered_as_the_offline_assistant():
    assert get_factory("local") is create
    assert PROCESSORS["local"][1] == "Offline assistant"


async def test_what_time_is_it_spoken_gets_the_hour_in_words_and_speech(offline_models, say, feed: Feed):
    before = utc_now()
    feed.send(*spoken(say("What time is it?")))
    feed.end()
    parts = await take_all(create(CONFIG)(feed), timeout=90)

    assert words(input_text(parts)) == "what time is it"
    said = output_text(parts)
    assert hour_named(said, (before, utc_now())), said
    assert model_text(parts) == ""  # a spoken reply's words go out once, as its transcription
    audio = [p for p in parts if p.is_audio]
    assert sum(len(p.data or b"") for p in audio) / 2 / OUTPUT_RATE > 0.5
    assert all(len(p.data or b"") <= CHUNK_BYTES and p.mimetype == f"audio/pcm;rate={OUTPUT_RATE}" for p in audio)
    heard_at = parts.index(next(p for p in parts if p.substream_name == "input_transcription"))
    assert heard_at < parts.index(audio[0])
    assert parts[-2:] == [Part.generation_complete(), Part.control(turn_complete=True)]
    assert not any(p.metadata.get("error") for p in parts)


async def test_arithmetic_spoken_without_mic_off_ends_on_silence(offline_models, say, feed: Feed):
    feed.send(*spoken(say("What is twenty three times seventeen?") + silence(1.0))[:-1])  # VAD ends it
    out = create(CONFIG)(feed)
    parts = await take_until(out, is_turn_complete, timeout=90)
    assert "seventeen" in words(input_text(parts)).replace("17", "seventeen")
    assert "391" in output_text(parts)
    feed.end()
    assert await take_all(out, timeout=30) == []


async def test_typed_turn_is_answered_once_as_model_text_with_speech(offline_models, feed: Feed):
    feed.send(typed("what is twenty three times seventeen"))
    feed.end()
    parts = await take_all(create(CONFIG)(feed), timeout=90)
    assert "391" in model_text(parts)
    assert output_text(parts) == "" and input_text(parts) == ""  # never both; the client shows what it typed
    assert any(p.is_audio for p in parts) and is_turn_complete(parts[-1])


async def test_silence_spoken_gets_an_honest_reply_and_no_made_up_transcript(offline_models, feed: Feed):
    feed.send(*spoken(silence(1.5)))
    feed.end()
    parts = await take_all(create(CONFIG)(feed), timeout=90)
    assert input_text(parts) == "" and input_text(parts, final=False) == ""
    assert "catch that" in output_text(parts)
    assert is_turn_complete(parts[-1])


async def test_speech_barges_in_on_a_long_reply(offline_models, say, feed: Feed):
    out = create(CONFIG)(feed)
    feed.send(typed(LONG_QUESTION))
    await take_until(out, lambda p: p.is_audio, timeout=90)
    before = utc_now()
    feed.send(*spoken(say("What time is it?")))
    parts = await take_until(out, is_turn_complete, timeout=90)

    interrupted = parts.index(Part.interrupted())
    # The interruption comes before the new question's transcript, and nothing of the old reply follows it.
    assert interrupted < parts.index(next(p for p in parts if p.substream_name == "input_transcription"))
    assert not any(p.metadata.get("generation_complete") for p in parts[:interrupted])
    assert hour_named(output_text(parts[interrupted:]), (before, utc_now())), output_text(parts)
    feed.end()
    await take_all(out, timeout=30)


async def test_a_typed_turn_barges_in_and_stop_goes_quiet(offline_models, feed: Feed):
    out = create(CONFIG)(feed)
    feed.send(typed(LONG_QUESTION))
    await take_until(out, lambda p: p.is_audio, timeout=90)
    feed.send(typed("stop"))
    parts = await take_until(out, is_turn_complete, timeout=90)
    assert parts.count(Part.interrupted()) == 1
    after = parts[parts.index(Part.interrupted()) + 1:]
    assert not any(p.is_audio or (p.is_text and p.text) for p in after)  # stop says nothing
    feed.end()
    assert await take_all(out, timeout=30) == []


async def test_a_timer_fires_with_a_spoken_notice(offline_models, feed: Feed):
    out = create(CONFIG)(feed)
    feed.send(typed("set a timer for 2 seconds for tea"))
    first = await take_until(out, is_turn_complete, timeout=90)
    assert "timer" in model_text(first).lower()
    notice = await take_until(out, is_turn_complete, timeout=90)
    assert "tea" in output_text(notice).lower() and "done" in output_text(notice).lower()
    assert any(p.is_audio for p in notice)
    feed.end()
    await take_all(out, timeout=30)


async def test_closing_mid_reply_leaves_no_task_behind(offline_models, feed: Feed, recwarn):
    out = create(CONFIG)(feed)
    feed.send(typed("set a timer for one hour"), typed(LONG_QUESTION))
    await take_until(out, lambda p: p.is_audio, timeout=90)
    await out.aclose()  # the server cancels a run like this on reset or disconnect
    # Nothing left behind: no stage task, no synthesis, no timer, no notice waiter.
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()] == []
    gc.collect()  # a reply cancelled before it started must not be a coroutine "never awaited"
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


async def test_audio_at_another_rate_is_heard_the_same(offline_models, say, feed: Feed):
    pcm48 = resample_pcm16(say("What time is it?"), 16000, 48000)
    feed.send(*audio_parts(pcm48, 48000, step=1920), MIC_OFF)
    feed.end()
    parts = await take_all(create(CONFIG)(feed), timeout=90)
    assert words(input_text(parts)) == "what time is it"
