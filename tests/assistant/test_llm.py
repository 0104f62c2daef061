"""Open conversation against a REAL local model server: llama-cpp-python's server running SmolLM2-135M-Instruct.

The model is tiny and its answers are often odd; the tests check what the assistant guarantees (streamed
sentences, context carried, cancellation closing the request, a stopped server said in words), not wisdom.
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from desktop.assistant import Assistant, discover_ollama
from tests.llm_server import start_smollm2

WAIT = 300.0  # seconds: the model shares 2 cores with other work; generous, never a performance assert


def established_connections_to(port: int) -> int:
    """Client-side TCP connections to ``port`` on loopback, from /proc (both ends live in this namespace)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.readlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if remote_port == port and fields[3] == "01":  # 01: ESTABLISHED
                count += 1
    return count


async def wait_until(condition, timeout: float = WAIT) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


@pytest.fixture
async def assistant(llm_server):
    assistant = Assistant({"llm_url": llm_server.url, "timezone": "UTC"})
    yield assistant
    await assistant.aclose()


async def test_an_open_question_is_answered_in_streamed_sentences(assistant):
    reply = await asyncio.wait_for(assistant.respond("Tell me a long story about a dragon."), WAIT)
    assert reply.source == "llm" and not reply.stop
    sentences = []
    generating_at_first = None
    async with asyncio.timeout(WAIT):
        async for sentence in reply.sentences:
            if not sentences:
                generating_at_first = assistant.generating
            sentences.append(sentence)
    assert sentences and all(any(ch.isalpha() for ch in s) for s in sentences)
    assert not any(mark in s for s in sentences for mark in ("**", "`", "#"))
    if len(sentences) > 1:  # the first sentence came while the model was still writing the rest
        assert generating_at_first is True
    assert not assistant.generating


async def test_skills_still_answer_first_with_a_model(assistant):
    reply = await assistant.respond("what is twenty three times seventeen")
    assert (reply.source, await reply.text()) == ("skill:arithmetic", "23 times 17 is 391.")
    assert "chat using the local model" in assistant.capabilities()


async def test_the_context_carries_a_previous_turn(llm_server):
    with_context = Assistant({"llm_url": llm_server.url})
    without = Assistant({"llm_url": llm_server.url})
    try:
        first = await with_context.respond("My name is Zorblax.")
        async with asyncio.timeout(WAIT):
            await first.text()
            answer = await (await with_context.respond("What is my name?")).text()
            control = await (await without.respond("What is my name?")).text()
    finally:
        await with_context.aclose()
        await without.aclose()
    assert "zorblax" in answer.lower()
    assert "zorblax" not in control.lower()  # the name came from the context, not from the question


async def test_cancelling_mid_stream_closes_the_request(llm_server):
    assistant = Assistant({"llm_url": llm_server.url})
    try:
        reply = await asyncio.wait_for(assistant.respond("Write a very long essay about the history of Rome."), WAIT)
        first = asyncio.Event()

        async def speak() -> None:  # what the speech pipeline does: speak sentences until barged in
            async for _ in reply.sentences:
                first.set()

        speaker = asyncio.create_task(speak())
        await asyncio.wait_for(first.wait(), WAIT)
        assert assistant.generating
        assert established_connections_to(llm_server.port) == 1  # the stream is open
        speaker.cancel()  # barge-in
        with pytest.raises(asyncio.CancelledError):
            await speaker
        await wait_until(lambda: not assistant.generating)
        await wait_until(lambda: established_connections_to(llm_server.port) == 0)
        # and the server is free for the next turn at once
        follow_up = await asyncio.wait_for(assistant.respond("Say hello."), WAIT)
        assert follow_up.source == "llm"
        async with asyncio.timeout(WAIT):
            assert await follow_up.text()
    finally:
        await assistant.aclose()


async def test_closing_the_sentences_stops_the_generation(assistant, llm_server):
    """What the speech pipeline does when it drops a reply: aclose() its sentences."""
    reply = await asyncio.wait_for(assistant.respond("Write a very long essay about the history of Rome."), WAIT)
    async with asyncio.timeout(WAIT):
        assert await anext(reply.sentences)
    assert assistant.generating
    await reply.sentences.aclose()
    await wait_until(lambda: not assistant.generating)
    await wait_until(lambda: established_connections_to(llm_server.port) == 0)
    again = await assistant.respond("repeat that")  # what was said is what can be repeated
    assert again.source == "skill:repeat" and await again.text()


async def test_a_new_turn_stops_the_previous_generation(assistant, llm_server):
    reply = await asyncio.wait_for(assistant.respond("Write a very long essay about the history of Rome."), WAIT)
    async with asyncio.timeout(WAIT):
        async for _ in reply.sentences:
            break  # the listener leaves after the first sentence without cancelling anything
    answer = await assistant.respond("what time is it")
    assert answer.source == "skill:time"
    assert not assistant.generating
    await wait_until(lambda: established_connections_to(llm_server.port) == 0)


async def test_a_new_turn_ends_the_reply_still_being_listened_to(assistant, llm_server):
    reply = await asyncio.wait_for(assistant.respond("Write a very long essay about the history of Rome."), WAIT)
    first = asyncio.Event()
    heard: list[str] = []

    async def speak() -> None:
        async for sentence in reply.sentences:
            heard.append(sentence)
            first.set()

    speaker = asyncio.create_task(speak())
    await asyncio.wait_for(first.wait(), WAIT)
    typed = await assistant.respond("what is 2 plus 2")  # a typed turn arrives while the essay is being spoken
    await asyncio.wait_for(speaker, WAIT)  # the old reply ends instead of hanging
    assert await typed.text() == "2 plus 2 is 4."
    assert heard and not assistant.generating
    await wait_until(lambda: established_connections_to(llm_server.port) == 0)


async def test_a_closed_assistant_refuses_new_turns_in_words(llm_server):
    assistant = Assistant({"llm_url": llm_server.url})
    await assistant.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await assistant.respond("hello")


async def test_a_server_that_stops_is_said_in_words(tmp_path):
    server = start_smollm2(tmp_path)
    assistant = Assistant({"llm_url": server.url})
    try:
        reply = await asyncio.wait_for(assistant.respond("Write a very long essay about the history of Rome."), WAIT)
        async with asyncio.timeout(WAIT):
            sentences = [await anext(reply.sentences)]
            server.process.kill()  # dies mid-reply
            sentences += [sentence async for sentence in reply.sentences]
        assert sentences[-1] == f"Sorry, the local model server at 127.0.0.1:{server.port} is not answering."
        server.stop()
        down = await asyncio.wait_for(assistant.respond("Who wrote Hamlet?"), WAIT)
        text = await down.text()
        assert down.source == "fallback"
        assert text.startswith("I heard: Who wrote Hamlet.")
        assert f"The local model server at 127.0.0.1:{server.port} is not answering." in text
        reply = await assistant.respond("what is 2 plus 2")  # the skills carry on
        assert await reply.text() == "2 plus 2 is 4."
    finally:
        server.stop()
        await assistant.aclose()


async def test_discover_finds_a_server_and_its_models(llm_server):
    found = await discover_ollama(llm_server.url, timeout=30)
    assert found is not None and found.url == llm_server.url
    assert any(model.endswith(".gguf") for model in found.models)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        nobody = sock.getsockname()[1]
    assert await discover_ollama(f"http://127.0.0.1:{nobody}/v1") is None
