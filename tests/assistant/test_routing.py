"""Turns as speech recognition (Whisper) and people typing write them, routed to the right skill."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from desktop.assistant import Assistant

MOMENT = datetime(2026, 12, 1, 15, 5, tzinfo=UTC)


@pytest.fixture
async def assistant():
    assistant = Assistant({"timezone": "UTC"}, clock=lambda: MOMENT)
    yield assistant
    await assistant.aclose()


@pytest.mark.parametrize(
    ("heard", "source", "reply"),
    [
        (" What time is it?", "skill:time", "It's 3:05 PM."),
        ("what time is it", "skill:time", "It's 3:05 PM."),
        ("Okay, what's the time?", "skill:time", "It's 3:05 PM."),
        ("What's the time in New York?", "skill:time", "In New York, it's 10:05 AM on Tuesday."),
        ("What time is it in Paris, France?", "skill:time", "In Paris, it's 4:05 PM on Tuesday."),
        ("What is 23 times 17?", "skill:arithmetic", "23 times 17 is 391."),
        ("What is twenty-three times seventeen?", "skill:arithmetic", "23 times 17 is 391."),
        ("What's 23 x 17?", "skill:arithmetic", "23 times 17 is 391."),
        ("23 × 17", "skill:arithmetic", "23 times 17 is 391."),
        ("What is 15% of 80?", "skill:arithmetic", "15 percent of 80 is 12."),
        ("Set a 5-minute timer.", "skill:timer", "Timer set for 5 minutes."),
        ("Set a timer for five minutes for tea.", "skill:timer", "Timer set: tea, 5 minutes."),
        ("Remind me in 10 minutes to call Mum.", "skill:timer", "OK, in 10 minutes I'll remind you to call mum."),
        ("Convert 5 kilometers to miles.", "skill:units", "5 kilometres is 3.11 miles."),
        ("How many feet are in a mile?", "skill:units", "1 mile is 5280 feet."),
        ("Hello!", "skill:chat", "Hello! What can I do for you?"),
        ("Good morning.", "skill:chat", "Hello! What can I do for you?"),
        ("Thank you.", "skill:chat", "You're welcome."),
        ("Thanks!", "skill:chat", "You're welcome."),
        ("How are you?", "skill:chat", "I'm well, thank you. What can I do for you?"),
        ("Stop.", "stop", ""),
        ("Stop!", "stop", ""),
    ],
)
async def test_transcripts_reach_their_skill(assistant, heard, source, reply):
    answer = await assistant.respond(heard)
    assert (answer.source, await answer.text()) == (source, reply)


@pytest.mark.parametrize(
    "heard",
    ["What is the capital of France?", "How many moons does Jupiter have?", "What time does the shop open?",
     "What day is Christmas?", "Tell me about the time I went to Paris.", "How many days until Christmas?",
     "Can you stop the war?", "Thank you for the music."],
)
async def test_open_questions_are_not_taken_by_a_skill(assistant, heard):
    answer = await assistant.respond(heard)
    assert answer.source == "fallback"
    assert (await answer.text()).startswith(f"I heard: {heard.rstrip('.?!')}.")


async def test_repeat_after_a_skill_and_after_help(assistant):
    await (await assistant.respond("what is 2 plus 2")).text()
    assert await (await assistant.respond("Could you repeat that, please?")).text() == "2 plus 2 is 4."
    help_text = await (await assistant.respond("What can you do?")).text()
    assert help_text.startswith(assistant.capabilities())
    assert await (await assistant.respond("say that again")).text() == help_text
