"""Speech to text on real speech: the phrase comes back, finals and partials go out as transcripts."""

from __future__ import annotations

import numpy as np

from desktop.parts import Part
from desktop.processors.local.stage import HEARD_NOTHING, UTTERANCE, is_marker, marker
from desktop.processors.local.stt import SttStage

from ..helpers import Feed, take_all, take_until
from .conftest import silence, words


def test_the_phrase_is_transcribed(offline_models, say):
    assert words(offline_models.transcriber.transcribe(say("What time is it?"))) == "what time is it"
    heard = words(offline_models.transcriber.transcribe(say("What is twenty three times seventeen?")))
    assert heard.replace("23", "twenty three").replace("17", "seventeen") == "what is twenty three times seventeen"


def test_silence_and_hum_transcribe_to_nothing(offline_models):
    assert offline_models.transcriber.transcribe(silence(1.0)) == ""
    hum = (np.sin(2 * np.pi * 50 * np.arange(16000) / 16000) * 300).astype("<i2").tobytes()
    assert offline_models.transcriber.transcribe(hum) == ""


async def test_final_utterance_becomes_a_final_input_transcription(offline_models, say, feed: Feed):
    stage = SttStage(offline_models.transcriber)
    feed.send(marker(UTTERANCE, data=say("What time is it?"), utterance=1, final=True),
              Part.model_text("passes through"))
    feed.end()
    heard, passed = await take_all(stage(feed), timeout=60)
    assert heard.substream_name == "input_transcription" and heard.role == "user"
    assert heard.metadata["is_final"] is True and words(heard.text or "") == "what time is it"
    assert passed == Part.model_text("passes through")


async def test_a_snapshot_gets_a_tentative_transcript_before_the_final(offline_models, say, feed: Feed):
    phrase = say("What is twenty three times seventeen?")
    stage = SttStage(offline_models.transcriber)
    out = stage(feed)
    feed.send(marker(UTTERANCE, data=phrase[: len(phrase) // 2], utterance=7, final=False))
    (partial,) = await take_until(out, lambda p: p.substream_name == "input_transcription", timeout=60)
    assert partial.metadata["is_final"] is False and "what" in words(partial.text or "")
    feed.send(marker(UTTERANCE, data=phrase, utterance=7, final=True))
    (final,) = await take_until(out, lambda p: p.substream_name == "input_transcription", timeout=60)
    assert final.metadata["is_final"] is True and "seventeen" in words(final.text or "").replace("17", "seventeen")
    feed.end()
    assert await take_all(out, timeout=60) == []


async def test_an_utterance_with_no_words_is_heard_nothing(offline_models, feed: Feed):
    feed.send(marker(UTTERANCE, data=silence(1.0), utterance=1, final=True))
    feed.end()
    (part,) = await take_all(SttStage(offline_models.transcriber)(feed), timeout=60)
    assert is_marker(part, HEARD_NOTHING) and part.metadata["seconds"] == 1.0
