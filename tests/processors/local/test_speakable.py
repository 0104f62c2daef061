"""Speakable text: what the voice says for times, degrees, units, percentages, money and long numbers."""

from __future__ import annotations

import re

import pytest

from desktop.audio.dsp import resample_pcm16
from desktop.parts import Part
from desktop.processors.local.speakable import number_words, speakable
from desktop.processors.local.stage import REPLY_END, REPLY_START, SENTENCE, marker
from desktop.processors.local.tts import OUTPUT_RATE, SpeakStage

from ..helpers import Feed, take_all


@pytest.mark.parametrize(("written", "said"), [
    ("It's 3:05 PM.", "It's three oh five PM."),
    ("It's 3:45 pm.", "It's three forty five PM."),
    ("at 10:30 p.m. today", "at ten thirty PM today"),
    ("9:00", "nine o'clock"),
    ("9:00 AM", "nine AM"),
    ("15:20", "fifteen twenty"),
    ("It is 21°C, or 70°F.", "It is twenty one degrees Celsius, or seventy degrees Fahrenheit."),
    ("a 1°C rise", "a one degree Celsius rise"),
    ("-5 °C", "minus five degrees Celsius"),
    ("an angle of 90°", "an angle of ninety degrees"),
    ("5 km is 3.11 miles.", "five kilometres is three point one one miles."),
    ("1 kg", "one kilogram"),
    ("12.5 kg and 30 mph", "twelve point five kilograms and thirty miles per hour"),
    ("100 km/h", "one hundred kilometres per hour"),
    ("6 ft tall, 2 lbs", "six feet tall, two pounds"),
    ("15% of 80", "fifteen percent of 80"),
    ("3,703,701 people", "three million seven hundred three thousand seven hundred one people"),
    ("It is 1,000.", "It is one thousand."),
    ("0.45 kilograms", "zero point four five kilograms"),
    ("It costs $3.50, or £1.", "It costs three dollars fifty cents, or one pound."),
])
def test_written_forms_become_words(written, said):
    assert speakable(written) == said


@pytest.mark.parametrize("text", [
    "In 2026 there were 17 of them.",  # plain integers and years: espeak reads them well
    "version 1.2.3", "A4 paper", "5 minutes", "John has 3 apples.", "Hello there.", "",
])
def test_what_espeak_already_reads_well_is_left_alone(text):
    assert speakable(text) == text


def test_number_words():
    assert [number_words(n) for n in (0, 7, 13, 20, 42, 100, 101, 999, 1000, 1_000_001, -12)] == [
        "zero", "seven", "thirteen", "twenty", "forty two", "one hundred", "one hundred one",
        "nine hundred ninety nine", "one thousand", "one million one", "minus twelve"]


async def test_the_transcript_keeps_the_written_form_and_the_voice_says_the_hour(offline_models, feed: Feed):
    feed.send(marker(REPLY_START, id=1, spoken=True), marker(SENTENCE, text="It's 3:05 PM.", id=1),
              marker(REPLY_END, id=1))
    feed.end()
    parts = await take_all(SpeakStage(offline_models.synthesizer)(feed), timeout=60)
    assert [p for p in parts if p.is_text and p.text] == [Part.transcription("It's 3:05 PM.", user=False, final=True)]
    pcm = b"".join(p.data or b"" for p in parts if p.is_audio)
    heard = offline_models.transcriber.transcribe(resample_pcm16(pcm, OUTPUT_RATE, 16000))
    # Read as written, the voice says "three zero five", which Whisper writes as "3 0 5"; "three oh five" it
    # writes as "3:05", "3.05" or "305".
    assert re.search(r"\b3[:.]?05(?!\d)|\bthree oh five\b", heard, re.IGNORECASE), heard
