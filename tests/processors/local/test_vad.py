"""Voice activity detection on real speech: where utterances start and end."""

from __future__ import annotations

from desktop.processors.local.vad import NoSpeech, Segmenter, SpeechStarted, Utterance

from .conftest import RATE, silence

STEP = 640  # 20 ms, as the client sends it


def feed_in_steps(segmenter: Segmenter, pcm: bytes) -> list:
    events = []
    for offset in range(0, len(pcm), STEP):
        events.extend(segmenter.feed(pcm[offset:offset + STEP]))
    return events


def test_two_phrases_apart_are_two_utterances(offline_models, say):
    first, second = say("What time is it?"), say("Twenty three times seventeen.")
    stream = silence(0.5) + first + silence(1.2) + second + silence(1.2)
    events = feed_in_steps(Segmenter(offline_models.new_detector()), stream)

    starts = [e for e in events if isinstance(e, SpeechStarted)]
    utterances = [e for e in events if isinstance(e, Utterance)]
    assert len(starts) == 2 and [u.reason for u in utterances] == ["silence", "silence"]
    # Each cut holds its phrase: about as long as the phrase, not the silence around it.
    for utterance, phrase in zip(utterances, (first, second), strict=True):
        assert abs(utterance.seconds - len(phrase) / 2 / RATE) < 0.6, utterance.seconds
    assert [e.utterance for e in starts] == [u.utterance for u in utterances] == [1, 2]


def test_mic_off_ends_the_utterance_at_once(offline_models, say):
    phrase = say("Twenty three times seventeen.")
    segmenter = Segmenter(offline_models.new_detector())
    events = feed_in_steps(segmenter, silence(0.3) + phrase)  # no trailing silence: VAD alone would wait
    assert any(isinstance(e, SpeechStarted) for e in events)
    assert not any(isinstance(e, Utterance) for e in events)
    (utterance,) = segmenter.flush()
    assert isinstance(utterance, Utterance) and utterance.reason == "mic_off"
    assert utterance.seconds > 0.8 * len(phrase) / 2 / RATE


def test_silence_is_no_speech(offline_models):
    segmenter = Segmenter(offline_models.new_detector())
    assert feed_in_steps(segmenter, silence(1.5)) == []
    assert segmenter.flush() == [NoSpeech(1.5)]
    assert segmenter.flush() == [NoSpeech(0.0)]  # a fresh turn after each flush


def test_a_mic_off_after_a_finished_utterance_adds_nothing(offline_models, say):
    segmenter = Segmenter(offline_models.new_detector())
    events = feed_in_steps(segmenter, say("What time is it?") + silence(1.0))
    assert sum(isinstance(e, Utterance) for e in events) == 1
    assert segmenter.flush() == []
