"""Model servers that misbehave, on real loopback sockets: one that refuses (as Ollama does for an unknown
model), one that sends garbage, and one that accepts and never answers (cancelled, as a barge-in would)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from desktop.assistant import Assistant

WAIT = 60.0


class RawServer:
    """A loopback TCP server that answers every request with ``response`` (or with nothing, if None)."""

    def __init__(self, response: bytes | None) -> None:
        self.response = response
        self.connections = 0
        self.closed = asyncio.Event()  # a client closed its connection
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/v1"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await reader.readuntil(b"\r\n\r\n")
            if self.response is not None:
                writer.write(self.response)
                await writer.drain()
            while await reader.read(65536):  # hold the connection until the client closes it
                pass
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.closed.set()
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


def http(status: str, body: bytes, content_type: str = "application/json") -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n\r\n").encode() + body


async def test_a_refusal_is_said_with_the_servers_reason():
    refusal = http("404 Not Found", b'{"error":{"message":"model \\"llama9\\" not found, try pulling it first"}}')
    async with RawServer(refusal) as server:
        assistant = Assistant({"llm_url": server.url, "llm_model": "llama9"})
        try:
            reply = await asyncio.wait_for(assistant.respond("tell me a story"), WAIT)
            text = await reply.text()
        finally:
            await assistant.aclose()
    assert reply.source == "fallback"
    assert 'refused the request: model "llama9" not found, try pulling it first.' in text


async def test_garbage_from_the_server_is_said_in_words():
    stream = http("200 OK", b"data: {not json\n\n", content_type="text/event-stream")
    async with RawServer(stream) as server:
        assistant = Assistant({"llm_url": server.url, "llm_model": "m"})
        try:
            reply = await asyncio.wait_for(assistant.respond("tell me a story"), WAIT)
            text = await reply.text()
        finally:
            await assistant.aclose()
    assert reply.source == "llm"  # it had started answering
    assert text.endswith("sent a reply I could not read.")


async def test_cancelling_respond_while_the_server_is_silent_closes_the_connection():
    async with RawServer(None) as server:
        assistant = Assistant({"llm_url": server.url, "llm_model": "m"})
        try:
            turn = asyncio.create_task(assistant.respond("tell me a story"))
            async with asyncio.timeout(WAIT):
                while server.connections == 0:
                    await asyncio.sleep(0.01)
            assert not turn.done()
            turn.cancel()  # barge-in before the first token
            with pytest.raises(asyncio.CancelledError):
                await turn
            await asyncio.wait_for(server.closed.wait(), WAIT)
            assert not assistant.generating
        finally:
            await assistant.aclose()


async def test_a_newer_turn_supersedes_one_still_connecting():
    async with RawServer(None) as server:
        assistant = Assistant({"llm_url": server.url, "llm_model": "m"})
        try:
            older = asyncio.create_task(assistant.respond("tell me a story"))
            async with asyncio.timeout(WAIT):
                while server.connections == 0:
                    await asyncio.sleep(0.01)
            newer = await assistant.respond("what is 3 times 3")
            assert await newer.text() == "3 times 3 is 9."
            superseded = await asyncio.wait_for(older, WAIT)
            assert (superseded.source, await superseded.text()) == ("llm", "")  # nothing to say: it was replaced
            await asyncio.wait_for(server.closed.wait(), WAIT)
        finally:
            await assistant.aclose()


def test_base_urls_people_type():
    from desktop.assistant.llm import base_url, server_label

    assert base_url("http://127.0.0.1:11434/v1/") == "http://127.0.0.1:11434/v1"
    assert base_url("localhost:11434") == "http://localhost:11434/v1"
    assert base_url("http://127.0.0.1:8080") == "http://127.0.0.1:8080/v1"
    assert base_url("https://box.lan/api/v1") == "https://box.lan/api/v1"
    assert server_label("http://user:secret@127.0.0.1:11434/v1") == "127.0.0.1:11434"  # no credentials in speech


async def test_an_address_without_v1_reaches_the_server(llm_server):
    assistant = Assistant({"llm_url": f"127.0.0.1:{llm_server.port}"})
    try:
        reply = await asyncio.wait_for(assistant.respond("Say hello."), WAIT)
        assert reply.source == "llm"
        async with asyncio.timeout(WAIT):
            assert await reply.text()
    finally:
        await assistant.aclose()


@pytest.mark.parametrize("url", ["not a url at all", "ftp://x/v1", "http://[::1", "http://127.0.0.1:99999/v1"])
async def test_an_unusable_address_is_said_without_trying(url):
    from desktop.assistant.llm import url_problem

    assert url_problem(url) is not None
    assistant = Assistant({"llm_url": url})
    try:
        reply = await assistant.respond("tell me a joke")
        text = await reply.text()
    finally:
        await assistant.aclose()
    assert reply.source == "fallback"
    assert "The local model server address in Settings is not a valid URL." in text


def test_usable_addresses():
    from desktop.assistant.llm import url_problem

    for url in ("http://127.0.0.1:11434/v1", "https://models.lan/v1", "http://[::1]:8080/v1", "http://localhost/v1"):
        assert url_problem(url) is None, url


def test_the_context_is_trimmed_in_steps():
    from desktop.assistant.llm import Conversation

    conversation = Conversation(max_turns=4, keep=2)
    lengths = []
    for n in range(9):
        conversation.add(f"question {n}", f"answer {n}")
        lengths.append(len(conversation))
    assert lengths == [1, 2, 3, 4, 2, 3, 4, 2, 3]  # the prefix stays the same for two turns out of three
    messages = conversation.messages("system", "now")
    assert [m["content"] for m in messages] == [
        "system", "question 6", "answer 6", "question 7", "answer 7", "question 8", "answer 8", "now"]
