"""Each codec against its reference-like test server over real 127.0.0.1 sockets.

Only ``websockets.asyncio.client.connect`` and the codec: the session client is
tested elsewhere. Every test is bounded by a timeout and ends by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable

import numpy as np
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from desktop.errors import InvalidEndpoint
from desktop.protocols.adk import AdkCodec
from desktop.protocols.adk_bidi import AdkBidiCodec
from desktop.protocols.ai_proxy_core import AiProxyCoreCodec
from desktop.protocols.base import Codec, Frame
from desktop.protocols.events import (
    Audio,
    Event,
    Interrupted,
    Notice,
    ProtocolError,
    SessionUpdate,
    Speaker,
    TextKind,
    Transcript,
    TurnComplete,
)
from tests.servers.adk_bidi_server import AdkBidiServer
from tests.servers.adk_server import AdkServer
from tests.servers.ai_proxy_core_server import AiProxyCoreServer

TIMEOUT = 5.0
CHUNK = 640  # 20 ms of PCM16 at 16 kHz


def speech(seconds: float = 0.1) -> list[bytes]:
    """A 16 kHz tone cut into 20 ms chunks, as the mic would deliver it."""
    t = np.arange(int(16000 * seconds)) / 16000
    pcm = (8000 * np.sin(2 * np.pi * 300 * t)).astype("<i2").tobytes()
    return [pcm[i:i + CHUNK] for i in range(0, len(pcm), CHUNK)]


class Client:
    """A codec over one raw websockets connection."""

    def __init__(self, codec: Codec, ws: ClientConnection) -> None:
        self.codec = codec
        self.ws = ws
        self.events: list[Event] = []

    async def send(self, frames: list[Frame]) -> None:
        for frame in frames:
            await self.ws.send(frame)

    async def next_events(self, timeout: float) -> list[Event]:
        return self.codec.decode(await asyncio.wait_for(self.ws.recv(), timeout))

    async def until(self, done: Callable[[Event], bool], timeout: float = TIMEOUT) -> list[Event]:
        """Events received until one satisfies ``done`` (included)."""
        got: list[Event] = []
        async with asyncio.timeout(timeout):
            while True:
                for event in await self.next_events(timeout):
                    got.append(event)
                    if done(event):
                        self.events.extend(got)
                        return got

    async def quiet(self, gap: float = 0.3) -> list[Event]:
        """Events received until the server stays silent for ``gap`` seconds."""
        got: list[Event] = []
        async with asyncio.timeout(TIMEOUT):
            while True:
                try:
                    got.extend(await self.next_events(gap))
                except TimeoutError:
                    self.events.extend(got)
                    return got


@contextlib.asynccontextmanager
async def client(codec: Codec, base: str, url: str | None = None) -> AsyncIterator[Client]:
    async with asyncio.timeout(TIMEOUT):
        ws = await connect(url or codec.url(base), open_timeout=TIMEOUT, close_timeout=1)
    try:
        c = Client(codec, ws)
        await c.send(codec.open())
        yield c
    finally:
        await ws.close()


def finals(events: list[Event], speaker: Speaker = Speaker.MODEL, kind: TextKind | None = None) -> str:
    return "".join(e.text for e in events if isinstance(e, Transcript) and e.final and e.speaker is speaker
                   and (kind is None or e.kind is kind))


def tentatives(events: list[Event], speaker: Speaker = Speaker.MODEL) -> str:
    return "".join(e.text for e in events
                   if isinstance(e, Transcript) and not e.final and e.speaker is speaker)


def audio_seconds(events: list[Event], rate: int = 24000) -> float:
    assert all(e.rate == rate for e in events if isinstance(e, Audio))
    return sum(e.duration for e in events if isinstance(e, Audio))


def no_errors(events: list[Event]) -> None:
    assert not [e for e in events if isinstance(e, ProtocolError)]


def is_turn_end(event: Event) -> bool:
    return isinstance(event, TurnComplete)


async def refused(url: str) -> int:
    with pytest.raises(InvalidStatus) as info:
        async with asyncio.timeout(TIMEOUT):
            await connect(url, open_timeout=TIMEOUT)
    return info.value.response.status_code


# -- adk (legacy sample) -------------------------------------------------------------------------


async def test_adk_text_and_audio_turns():
    async with AdkServer() as server, client(AdkCodec(), server.url) as c:
        await c.send(c.codec.encode_text("hello there"))
        events = await c.until(is_turn_end)
        no_errors(events)
        assert finals(events, kind=TextKind.TRANSCRIPTION) == "echo: hello there"  # is_audio=true
        assert audio_seconds(events) > 0

        for chunk in speech(0.1):
            await c.send(c.codec.encode_audio(chunk))
        events = await c.until(is_turn_end)
        no_errors(events)
        assert audio_seconds(events) == pytest.approx(0.1, abs=0.005)
        assert finals(events) == "heard 0.10 s of audio"

        for frames in (c.codec.encode_audio_end(), c.codec.encode_activity_start(), c.codec.encode_reset()):
            await c.send(frames)
        await c.send(c.codec.encode_text("still alive?"))
        assert finals(await c.until(is_turn_end)) == "echo: still alive?"
    assert {m["mime_type"] for m in server.received} == {"text/plain", "audio/pcm"}
    assert len(server.paths) == 1 and server.paths[0].startswith("/ws/")


async def test_adk_text_mode_streams_partial_text():
    codec = AdkCodec({"user_id": 5})
    async with AdkServer() as server, client(codec, server.url, f"{server.url}/ws/5?is_audio=false") as c:
        await c.send(codec.encode_text("a b c"))
        events = await c.until(is_turn_end)
        assert finals(events, kind=TextKind.TEXT) == "echo: a b c"
        assert len([e for e in events if isinstance(e, Transcript)]) == 4  # deltas, appended
        assert audio_seconds(events) == 0


async def test_adk_interruption():
    async with AdkServer(delay=0.05) as server, client(AdkCodec(), server.url) as c:
        await c.send(c.codec.encode_text(" ".join(["word"] * 30)))
        await c.until(lambda e: isinstance(e, Transcript))
        await c.send(c.codec.encode_text("stop"))
        events = await c.until(is_turn_end)
        # The long reply is cut short (no turn_complete of its own); the new one follows.
        after = events[events.index(Interrupted()) + 1:]
        assert finals(after) == "echo: stop"


async def test_adk_handshake_rules():
    async with AdkServer() as server:
        assert await refused(f"{server.url}/ws/alice?is_audio=true") == 403
        assert await refused(f"{server.url}/ws/42") == 403
        assert await refused(f"{server.url}/") == 403
        with pytest.raises(InvalidEndpoint):
            AdkCodec({"user_id": "alice"}).url(server.url)  # caught before connecting


async def test_adk_other_mime_type_kills_the_connection():
    # Why the codec never sends mic-off or reset: the sample's upstream task dies on them.
    async with AdkServer() as server, client(AdkCodec(), server.url) as c:
        await c.ws.send(json.dumps({"mime_type": "application/x-state", "data": "off"}))
        with pytest.raises(ConnectionClosed) as info:
            async with asyncio.timeout(TIMEOUT):
                await c.ws.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == 1011


# -- adk_bidi (bidi-demo) ---------------------------------------------------------------------------


async def test_adk_bidi_text_turn():
    async with AdkBidiServer() as server, client(AdkBidiCodec(), server.url) as c:
        await c.send(c.codec.encode_text("hello there"))
        events = await c.until(is_turn_end)
        no_errors(events)
        assert tentatives(events) == "echo: hello there"  # the deltas...
        assert finals(events, kind=TextKind.TEXT) == "echo: hello there"  # ...and the whole text once
        usage = [e for e in events if isinstance(e, SessionUpdate)]
        assert usage and usage[0].usage["totalTokenCount"] > 0


@pytest.mark.parametrize("strip_padding", [False, True])
async def test_adk_bidi_hands_free_audio_turn(strip_padding):
    async with AdkBidiServer(strip_padding=strip_padding) as server, client(AdkBidiCodec(), server.url) as c:
        for chunk in speech(0.1):
            await c.send(c.codec.encode_audio(chunk))
        assert c.codec.encode_audio_end() == []  # hands-free: nothing to end, the server's VAD does
        events = await c.until(is_turn_end)
        no_errors(events)
        assert audio_seconds(events) == pytest.approx(0.1, abs=0.005)
        assert finals(events, Speaker.USER, TextKind.TRANSCRIPTION) == "heard 0.10 s of audio"
        assert finals(events, Speaker.MODEL, TextKind.TRANSCRIPTION) == "echo, heard 0.10 s of audio"
    assert server.audio_bytes == 3200


async def test_adk_bidi_push_to_talk():
    async with AdkBidiServer(idle=0.05) as server, client(AdkBidiCodec(), server.url) as c:
        await c.send(c.codec.encode_activity_start())
        for chunk in speech(0.1):
            await c.send(c.codec.encode_audio(chunk))
        early = await c.quiet(0.25)  # well past the idle gap: the server waits for activity_end
        assert not any(isinstance(e, TurnComplete) for e in early)
        await c.send(c.codec.encode_audio_end())
        events = await c.until(is_turn_end)
        assert audio_seconds(events) == pytest.approx(0.1, abs=0.005)
    assert [m["type"] for m in server.received] == ["activity_start", "activity_end"]


async def test_adk_bidi_reconnect_resumes_the_session():
    codec = AdkBidiCodec()
    async with AdkBidiServer() as server:
        for text in ("one", "two"):
            async with client(codec, server.url) as c:
                await c.send(codec.encode_text(text))
                await c.until(is_turn_end)
        key = (codec.user_id, codec.session_id)
        assert server.connections == {key: 2}
        assert server.history[key] == ["one", "two"]


async def test_adk_bidi_interruption():
    async with AdkBidiServer(delay=0.05) as server, client(AdkBidiCodec(), server.url) as c:
        await c.send(c.codec.encode_text(" ".join(["word"] * 30)))
        await c.until(lambda e: isinstance(e, Transcript))
        await c.send(c.codec.encode_text("stop"))
        events = await c.until(is_turn_end)
        after = events[events.index(Interrupted()) + 1:]
        assert finals(after) == "echo: stop"
        assert events.count(TurnComplete()) == 1  # the interrupted reply never completed


async def test_adk_bidi_refuses_other_paths():
    async with AdkBidiServer() as server:
        assert await refused(f"{server.url}/ws/only-user") == 403


# -- ai_proxy_core ---------------------------------------------------------------------------------


async def test_ai_proxy_core_session():
    codec = AiProxyCoreCodec({"app": "voice-desktop", "turn_idle_gap": 0.2})
    async with AiProxyCoreServer() as server, client(codec, server.url) as c:
        hello = await c.until(lambda e: isinstance(e, Notice))
        assert hello == [Notice("Connected to Gemini Live")]
        assert await c.until(lambda e: isinstance(e, Notice)) == [Notice("Configuration acknowledged")]

        await c.send(codec.encode_text("hello there"))
        events = await c.quiet(0.3)
        no_errors(events)
        assert finals(events) == "echo: hello there"

        for chunk in speech(0.1):
            await c.send(codec.encode_audio(chunk))
        events = await c.quiet(0.3)
        no_errors(events)
        assert audio_seconds(events) == pytest.approx(0.1, abs=0.005)
        assert not any(isinstance(e, (TurnComplete, Interrupted)) for e in c.events)  # the session's job
    assert server.received[0] == {"type": "config", "data": {"app": "voice-desktop"}}


async def test_ai_proxy_core_without_config_sends_nothing_first():
    async with AiProxyCoreServer() as server, client(AiProxyCoreCodec(), server.url) as c:
        assert await c.quiet(0.2) == [Notice("Connected to Gemini Live")]
    assert server.received == []


async def test_ai_proxy_core_refuses_other_paths():
    async with AiProxyCoreServer() as server:
        assert await refused(f"{server.url}/ws") == 403
