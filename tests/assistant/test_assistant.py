"""The Assistant as the speech pipeline uses it: routing, stop, repeat, capabilities and the honest fallback."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

from desktop.assistant import Assistant

MOMENT = datetime(2026, 12, 1, 15, 5, tzinfo=UTC)


async def say(assistant: Assistant, heard: str) -> tuple[str, str]:
    reply = await assistant.respond(heard)
    return reply.source, await reply.text()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_skills_answer_typed_and_spoken_forms():
    assistant = Assistant({"timezone": "Europe/London"}, clock=lambda: MOMENT)
    try:
        assert await say(assistant, "What time is it?") == ("skill:time", "It's 3:05 PM.")
        assert await say(assistant, "what is twenty three times seventeen") == (
            "skill:arithmetic", "23 times 17 is 391.")
        assert await say(assistant, "what's the date") == ("skill:date", "Today is Tuesday, December 1st, 2026.")
    finally:
        await assistant.aclose()


async def test_sentences_arrive_one_at_a_time():
    assistant = Assistant()
    reply = await assistant.respond("what can you do")
    sentences = [sentence async for sentence in reply.sentences]
    assert len(sentences) == 2
    assert sentences[0] == assistant.capabilities()
    assert "Ollama" in sentences[1] and "Gemini key" in sentences[1]
    await assistant.aclose()


async def test_repeat_that_repeats_the_last_reply():
    assistant = Assistant({"timezone": "UTC"}, clock=lambda: MOMENT)
    assert await say(assistant, "repeat that") == ("skill:repeat", "I haven't said anything yet.")
    await say(assistant, "what is 6 times 7")
    assert await say(assistant, "Repeat that.") == ("skill:repeat", "6 times 7 is 42.")
    assert await say(assistant, "say that again") == ("skill:repeat", "6 times 7 is 42.")
    await assistant.aclose()


async def test_stop_is_a_stop_reply_with_nothing_to_say():
    assistant = Assistant()
    for heard in ("stop", "Stop!", "ok stop", "be quiet please"):
        reply = await assistant.respond(heard)
        assert (reply.source, reply.stop, await reply.text()) == ("stop", True, "")
    await assistant.aclose()


async def test_without_a_model_the_fallback_says_what_was_heard_and_how_to_chat():
    assistant = Assistant()
    source, text = await say(assistant, "Who wrote Hamlet?")
    assert source == "fallback"
    assert text.startswith("I heard: Who wrote Hamlet.")
    assert "offline" in text and "Ollama" in text and "Gemini key in Settings" in text
    assert await say(assistant, "   ") == ("fallback", "I didn't catch that.")
    await assistant.aclose()


async def test_a_model_server_that_is_not_there_is_said_in_words():
    port = free_port()  # nothing listens here
    assistant = Assistant({"llm_url": f"http://127.0.0.1:{port}/v1", "llm_model": "any"})
    source, text = await say(assistant, "tell me a joke")
    assert source == "fallback"
    assert f"The local model server at 127.0.0.1:{port} is not answering." in text
    assert text.startswith("I heard: tell me a joke.")
    # skills still answer with the model server down
    assert (await say(assistant, "what is 2 plus 2"))[1] == "2 plus 2 is 4."
    await assistant.aclose()


async def test_a_bad_time_zone_setting_falls_back_to_the_system_zone():
    assistant = Assistant({"timezone": "Mars/Olympus_Mons"}, clock=lambda: MOMENT)
    source, text = await say(assistant, "what time is it")
    assert source == "skill:time" and text.startswith("It's ")
    await assistant.aclose()
