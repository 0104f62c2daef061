"""The embedded server's connection lifecycle over real sockets: end of input, no run outliving its client,
fragmented and oversized messages, invalid UTF-8 and pings, as a websockets-based server behaved."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from desktop.parts import Part
from desktop.processors import get_factory
from desktop.server import LiveServer

TIMEOUT = 10


async def recv_json(ws) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))


class WatchedFactory:
    """Processors that record how they ended: 'end of input', 'cancelled', or still running."""

    def __init__(self, *, ignore_end: bool = False) -> None:
        self.ignore_end = ignore_end
        self.endings: list[str] = []
        self.ended = asyncio.Event()

    def __call__(self, config):
        async def processor(parts):
            try:
                async for part in parts:
                    yield Part.model_text(part.text or "")
                self.endings.append("end of input")
                if self.ignore_end:
                    await asyncio.Event().wait()  # a processor that hangs after its input ends
            except asyncio.CancelledError:
                self.endings.append("cancelled")
                raise
            finally:
                self.ended.set()
        return processor


async def test_a_processor_sees_the_end_of_its_input_when_the_client_goes():
    factory = WatchedFactory()
    async with LiveServer(factory) as server:
        async with connect(server.url) as ws:
            await recv_json(ws)
            await ws.send(json.dumps({"part": {"text": "hi"}}))
            assert (await recv_json(ws))["part"]["text"] == "hi"
        await asyncio.wait_for(factory.ended.wait(), TIMEOUT)
    assert factory.endings == ["end of input"]


async def test_a_processor_that_ignores_the_end_is_cancelled_and_does_not_outlive_the_server():
    factory = WatchedFactory(ignore_end=True)
    server = LiveServer(factory)
    await server.start()
    try:
        async with connect(server.url) as ws:
            await recv_json(ws)
            await ws.send(json.dumps({"part": {"text": "hi"}}))
            await recv_json(ws)
        await asyncio.wait_for(factory.ended.wait(), TIMEOUT)
    finally:
        await server.close()
    assert factory.endings == ["end of input", "cancelled"]


async def test_server_close_ends_every_run():
    factory = WatchedFactory(ignore_end=True)
    server = LiveServer(factory)
    await server.start()
    async with connect(server.url) as ws:
        await recv_json(ws)
        await ws.send(json.dumps({"part": {"text": "hi"}}))
        await recv_json(ws)
        await server.close()  # returns only when the session's run has ended
        assert factory.ended.is_set() and factory.endings[-1] == "cancelled"
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), TIMEOUT)
    assert ws.close_code == 1001


async def test_a_fragmented_message_is_assembled():
    async with LiveServer(get_factory("echo")) as server, connect(server.url) as ws:
        await recv_json(ws)
        text = json.dumps({"part": {"text": "in three pieces"}, "role": "user"})
        await ws.send(iter([text[:10], text[10:20], text[20:]]))
        frame = await recv_json(ws)
    assert frame["part"]["text"] == "in three pieces"


async def test_a_fragmented_message_over_max_size_closes_with_1009():
    async with LiveServer(get_factory("echo"), max_size=4096) as server, connect(server.url) as ws:
        await recv_json(ws)
        with pytest.raises(ConnectionClosed):
            await ws.send(iter(["x" * 3000, "y" * 3000]))
            while True:
                await recv_json(ws)
    assert ws.close_code == 1009


async def test_invalid_utf8_in_a_text_frame_closes_with_1007():
    async with LiveServer(get_factory("echo")) as server, connect(server.url) as ws:
        await recv_json(ws)
        await ws.send(b'{"part": {"text": "\xff"}}', text=True)
        with pytest.raises(ConnectionClosed):
            while True:
                await recv_json(ws)
    assert ws.close_code == 1007


async def test_pings_are_answered():
    async with LiveServer(get_factory("echo")) as server, connect(server.url) as ws:
        await recv_json(ws)
        pong = await ws.ping()
        await asyncio.wait_for(pong, TIMEOUT)


async def test_many_frames_in_one_burst_all_arrive_in_order():
    """More frames than the input queue and the control backlog hold: reading pauses, nothing is lost."""
    async with LiveServer(get_factory("echo")) as server, connect(server.url) as ws:
        await recv_json(ws)
        for i in range(600):
            await ws.send(json.dumps({"part": {"text": f"t{i}"}, "role": "user"}))
        texts = []
        while len(texts) < 600:
            frame = await recv_json(ws)
            if frame["role"] == "model" and frame["substream_name"] == "" and frame["part"].get("text"):
                texts.append(frame["part"]["text"])
    assert texts == [f"t{i}" for i in range(600)]
