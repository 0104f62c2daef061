"""Bugs a user hit, each through the real session over 127.0.0.1 sockets (issue 8)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json

import numpy as np
import pytest
from websockets.asyncio.server import serve

from desktop import protocols
from desktop.parts import Part
from desktop.protocols.events import Audio, Interrupted, Notice, Speaker, Transcript, TurnComplete
from desktop.protocols.live_server import LiveServerCodec, serialize_part
from desktop.session import Backoff, ConnectionState, Session, TextAnswered, TextDelivered
from desktop.session.client import CLOSE_TIMEOUT, PING_INTERVAL, PING_TIMEOUT
from desktop.transcript import TranscriptModel
from desktop.ui.transcript_view import TranscriptView
from tests.servers.adk_bidi_server import AdkBidiServer
from tests.servers.adk_server import AdkServer
from tests.servers.ai_proxy_core_server import AiProxyCoreServer
from tests.session.test_session import Recorder

FAST = Backoff(initial=0.05, cap=0.2)


def tone(rate: int, seconds: float) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return (np.sin(2 * np.pi * 440 * t) * 10000).astype("<i2").tobytes()


def parts(pcm: bytes, rate: int) -> list[bytes]:
    step = rate * 2 // 50
    return [pcm[i:i + step] for i in range(0, len(pcm), step)]


class Scripted:
    """A WebSocket server running ``script(ws, index, server)`` for the index-th connection."""

    def __init__(self, script):
        self.script = script
        self.connections = 0
        self.received: list[list[str | bytes]] = []
        self._changed = asyncio.Event()

    def record(self, index: int, frame: str | bytes) -> None:
        self.received[index].append(frame)
        self._changed.set()

    async def wait_for(self, predicate) -> None:
        async with asyncio.timeout(10):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    async def __aenter__(self):
        self._server = await serve(self._handle, "127.0.0.1", 0, ping_interval=None)
        self.url = f"ws://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc):
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, ws):
        index = self.connections
        self.connections += 1
        self.received.append([])
        await self.script(ws, index, self)


async def record_all(ws, index, server):
    async for frame in ws:
        server.record(index, frame)


# -- 2. order --------------------------------------------------------------------------------------


async def test_mic_off_leaves_after_all_the_audio_queued_before_it():
    """The old sender gave control frames priority: mic off overtook the utterance's last audio."""
    async with Scripted(record_all) as server:
        rec = Recorder()
        session = Session(LiveServerCodec(), server.url, on_event=rec.on_event, on_status=rec.on_status)
        session.start()
        await rec.wait_for(lambda: session.connected)
        session.activity_start()
        for chunk in parts(tone(16000, 0.2), 16000):  # queued faster than the socket takes them
            session.send_audio(chunk)
        session.audio_end()
        session.send_text("after")
        await rec.wait_for(lambda: TextDelivered(1) in rec.events)
        received = server.received[0]
        await server.wait_for(lambda: len(received) == 13)
        await session.close()
    names = []
    for frame in received:
        message = json.loads(frame)
        meta = message.get("metadata") or {}
        names.append(meta.get("mic") or ("text" if "text" in (message.get("part") or {}) else "audio"))
    assert names == ["on"] + ["audio"] * 10 + ["off", "text"]


# -- 5. trailing silence ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "server_class"), [
    ("adk", AdkServer), ("adk_bidi", AdkBidiServer), ("ai_proxy_core", AiProxyCoreServer)])
async def test_a_push_to_talk_turn_ends_after_release_on_a_vad_only_server(name, server_class):
    """Servers on the ADK samples and ai-proxy-core end a turn only after hearing silence."""
    async with server_class(vad_only=True) as server:
        rec = Recorder()
        codec = protocols.get(name)({"turn_idle_gap": 0.3} if name == "ai_proxy_core" else {})
        session = Session(codec, server.url, on_event=rec.on_event, on_status=rec.on_status, backoff=FAST)
        session.start()
        await rec.wait_for(lambda: session.connected)
        session.activity_start()
        for chunk in parts(tone(16000, 0.4), 16000):
            session.send_audio(chunk)
            await asyncio.sleep(0)
        session.audio_end()  # push-to-talk released: nothing else will be said
        await rec.wait_for(lambda: any(isinstance(e, Transcript) and "heard" in e.text for e in rec.events)
                           and rec.count(TurnComplete) >= 1)
        await session.close()


# -- 6. duplicated transcripts ------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "server_class"), [("adk", AdkServer), ("adk_bidi", AdkBidiServer)])
async def test_a_reply_from_a_current_adk_server_shows_once(name, server_class, qtbot):
    async with server_class(cumulative=True) as server:
        rec = Recorder()
        model = TranscriptModel()
        session = Session(protocols.get(name)(), server.url, on_event=lambda e: (model.apply(e), rec.on_event(e)),
                          on_status=rec.on_status, backoff=FAST)
        session.start()
        await rec.wait_for(lambda: session.connected)
        if name == "adk":
            session.send_text("how are you today")
            expected = "echo: how are you today"
        else:
            session.activity_start()
            for chunk in parts(tone(16000, 0.4), 16000):
                session.send_audio(chunk)
            session.audio_end()
            expected = None
        await rec.wait_for(lambda: rec.count(TurnComplete) >= 1)
        await session.close()
    replies = [t.text for t in model.turns if not t.is_user]
    assert len(replies) == 1
    view = TranscriptView()  # and the window shows it once
    qtbot.addWidget(view)
    view.set_model(model)
    view.flush()
    assert [w.text for w in view.turn_widgets() if w.speaker == "model"] == replies
    if expected is None:
        assert replies[0].startswith("echo, heard ") and replies[0].count("echo") == 1
    else:
        assert replies == [expected]


# -- 4. barge-in -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["adk", "ai_proxy_core"])
async def test_barge_in_drops_the_rest_of_the_reply_still_in_flight(name):
    """Pressing talk mid-reply: nothing more of that reply is played or shown, with (adk) or
    without (ai_proxy_core) an interruption message in the protocol."""
    words = 40
    text = " ".join(f"word{n}" for n in range(words))
    server_class = {"adk": AdkServer, "ai_proxy_core": AiProxyCoreServer}[name]
    async with server_class(delay=0.01) as server:
        rec = Recorder()
        codec = protocols.get(name)({"turn_idle_gap": 5} if name == "ai_proxy_core" else {})
        session = Session(codec, server.url, on_event=rec.on_event, on_status=rec.on_status, backoff=FAST)
        session.start()
        await rec.wait_for(lambda: session.connected)
        session.send_text(text)
        await rec.wait_for(lambda: sum(isinstance(e, Transcript) and "word" in e.text for e in rec.events) >= 3)
        session.activity_start()  # barge in while the reply streams
        cut = len(rec.events)
        assert rec.events[-1] == Interrupted()
        # The server hears nothing yet (no audio sent): more of the reply is in flight, or still to come.
        if name == "adk":
            await server.wait_sent(server.frames_sent + 5)
        else:  # replies are never cancelled there: let all of it arrive while the user holds the key
            await server.wait_sent(1 + 1 + words)  # "Connected", then "echo:" and every word
            await server.broadcast(json.dumps({"type": "system", "data": "all sent"}))
            await rec.wait_for(lambda: Notice("all sent") in rec.events)
        for chunk in parts(tone(16000, 0.2), 16000):
            session.send_audio(chunk)
        session.audio_end()
        await rec.wait_for(lambda: any(isinstance(e, Audio) for e in rec.events[cut:]))
        await session.close()
    after = [e for e in rec.events[cut:] if isinstance(e, Transcript) and e.speaker is Speaker.MODEL]
    assert not any("word" in e.text for e in after)
    assert session.core.reply_content_dropped >= 5


# -- 7. reconnect -----------------------------------------------------------------------------------------


async def test_a_policy_violation_close_stops_retrying_with_a_message():
    async def refuse(ws, index, server):
        await ws.close(1008, "token expired")

    async with Scripted(refuse) as server:
        rec = Recorder()
        session = Session(LiveServerCodec(), server.url, on_event=rec.on_event, on_status=rec.on_status,
                          backoff=FAST)
        await asyncio.wait_for(session.start(), 10)
    assert rec.state is ConnectionState.ERROR
    assert "policy violation" in rec.statuses[-1].reason and "token expired" in rec.statuses[-1].reason
    assert server.connections == 1


async def test_a_server_that_accepts_then_closes_is_backed_off_more_and_more():
    async def accept_then_close(ws, index, server):
        await ws.close(1011, "internal error")

    async with Scripted(accept_then_close) as server:
        rec = Recorder()
        session = Session(LiveServerCodec(), server.url, on_event=rec.on_event, on_status=rec.on_status,
                          backoff=Backoff(initial=0.01, cap=5.0))
        session.start()
        await rec.wait_for(lambda: sum(s.state is ConnectionState.RECONNECTING for s in rec.statuses) >= 5)
        await session.close()
    waits = [s for s in rec.statuses if s.state is ConnectionState.RECONNECTING]
    assert [s.attempt for s in waits[:5]] == [1, 2, 3, 4, 5]
    assert waits[4].retry_in >= 0.08  # the 5th delay's floor, 0.01 * 2**4 / 2: the attempt was not reset


async def test_a_url_websockets_rejects_is_an_error_state_not_connecting_forever():
    rec = Recorder()
    session = Session(LiveServerCodec(), "ws://user@127.0.0.1:1/", on_event=rec.on_event,
                      on_status=rec.on_status)
    await asyncio.wait_for(session.start(), 10)
    assert rec.state is ConnectionState.ERROR and "URL" in rec.statuses[-1].reason


def test_a_dead_peer_is_noticed_within_ten_seconds_by_default():
    assert PING_INTERVAL + PING_TIMEOUT + CLOSE_TIMEOUT <= 10
    session = Session(LiveServerCodec(), "ws://127.0.0.1:1")
    assert session.ping_interval is not None and session.ping_timeout is not None
    assert session.ping_interval + session.ping_timeout + session.close_timeout <= 10


async def test_a_peer_that_stops_answering_is_dropped_and_retried():
    """A raw TCP peer that completes the handshake, then never answers a ping (a dead host)."""
    connections = []

    async def silent_peer(reader, writer):
        connections.append(writer)
        request = await reader.readuntil(b"\r\n\r\n")
        key = next(line.split(b":", 1)[1].strip() for line in request.split(b"\r\n")
                   if line.lower().startswith(b"sec-websocket-key"))
        accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        await writer.drain()
        while await reader.read(4096):  # read and ignore everything, pings included
            pass

    server = await asyncio.start_server(silent_peer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    rec = Recorder()
    session = Session(LiveServerCodec(), f"ws://127.0.0.1:{port}", on_event=rec.on_event, on_status=rec.on_status,
                      backoff=FAST, ping_interval=0.2, ping_timeout=0.2, close_timeout=0.2)
    session.start()
    try:
        await rec.wait_for(lambda: any(s.state is ConnectionState.RECONNECTING for s in rec.statuses))
    finally:
        await session.close()
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()
    waiting = next(s for s in rec.statuses if s.state is ConnectionState.RECONNECTING)
    assert "keepalive" in waiting.reason


# -- 12. secrets -------------------------------------------------------------------------------------------


async def test_a_remote_token_goes_in_a_header_not_the_url_and_never_in_a_repr():
    from desktop.endpoint import Endpoint

    seen = []

    def look(connection, request):
        seen.append((request.path, request.headers.get("Authorization")))

    async with serve(lambda ws: ws.wait_closed(), "127.0.0.1", 0, process_request=look) as server:
        port = server.sockets[0].getsockname()[1]
        rec = Recorder()
        session = Session(protocols.get("adk")(), f"ws://127.0.0.1:{port}", token="s3cret",
                          on_event=rec.on_event, on_status=rec.on_status)
        session.start()
        await rec.wait_for(lambda: session.connected)
        assert "s3cret" not in repr(session)
        await session.close()
    ((path, authorization),) = seen
    assert "s3cret" not in path and authorization == "Bearer s3cret"
    endpoint = Endpoint(url="ws://h", secret="s3cret", api_key="k3y", headers=(("X-Api-Key", "h3ader"),))
    assert not any(secret in repr(endpoint) for secret in ("s3cret", "k3y", "h3ader"))


# -- 8. typed text ---------------------------------------------------------------------------------------------


def model_text(text: str) -> str:
    return serialize_part(Part.model_text(text))


async def test_the_tail_of_the_previous_reply_does_not_count_as_the_answer_to_new_text():
    """Connection 1: a reply is streaming when the second text arrives; its tail comes, then the
    connection dies before the second text is answered. It must be sent again on connection 2."""
    second_arrived = asyncio.Event()

    async def script(ws, index, server):
        if index == 0:
            async for frame in ws:
                server.record(index, frame)
                text = json.loads(frame).get("part", {}).get("text")
                if text == "first":
                    await ws.send(model_text("reply to first, "))
                elif text == "second":
                    await ws.send(model_text("and its tail"))
                    await ws.send(serialize_part(Part.generation_complete()))
                    second_arrived.set()
                    await ws.close(1011, "crashed")
                    return
        else:
            async for frame in ws:
                server.record(index, frame)
                text = json.loads(frame).get("part", {}).get("text")
                await ws.send(model_text(f"answer to {text}"))
                await ws.send(serialize_part(Part.generation_complete()))

    async with Scripted(script) as server:
        rec = Recorder()
        session = Session(LiveServerCodec(), server.url, on_event=rec.on_event, on_status=rec.on_status,
                          backoff=FAST)
        session.start()
        await rec.wait_for(lambda: session.connected)
        first = session.send_text("first")
        await rec.wait_for(lambda: TextAnswered(first) in rec.events)
        second = session.send_text("second")
        await rec.wait_for(lambda: TextAnswered(second) in rec.events)
        await session.close()
    again = [json.loads(f)["part"]["text"] for f in server.received[1]]
    assert again == ["second"]
    assert rec.events.count(TextAnswered(second)) == 1 and rec.events.count(TextAnswered(first)) == 1


async def test_killing_the_server_mid_turn_loses_no_typed_text_and_answers_each_once():
    """The embedded server dies with two texts written and unanswered and one still queued; a new server
    on the same port and token answers every one, once."""
    from desktop.processors import get_factory
    from desktop.server import LiveServer

    heard = asyncio.Event()

    def deaf(config):  # takes every part, answers nothing: the process dies before it can
        async def processor(parts):
            async for part in parts:
                if part.text:
                    heard.set()
            return
            yield  # an async generator that yields nothing
        return processor

    server = LiveServer(deaf)
    await server.start()
    port, token = server.port, server.token
    rec = Recorder()
    session = Session(LiveServerCodec(), server.url, on_event=rec.on_event, on_status=rec.on_status,
                      backoff=FAST)
    session.start()
    await rec.wait_for(lambda: session.connected)
    ids = [session.send_text("one"), session.send_text("two")]
    await rec.wait_for(lambda: all(TextDelivered(i) in rec.events for i in ids))
    await asyncio.wait_for(heard.wait(), 10)
    await server.close()
    await rec.wait_for(lambda: not session.connected)
    ids.append(session.send_text("three"))  # typed while it is down
    server = LiveServer(get_factory("echo"), port=port, token=token)
    await server.start()
    try:
        await rec.wait_for(lambda: all(TextAnswered(i) in rec.events for i in ids))
        await rec.wait_for(lambda: rec.count(TurnComplete) >= 3)
    finally:
        await session.close()
        await server.close()
    assert [rec.events.count(TextAnswered(i)) for i in ids] == [1, 1, 1]
    replies = [e.text for e in rec.events if isinstance(e, Transcript) and e.speaker is Speaker.MODEL
               and e.kind.value == "text"]
    assert replies == ["one", "two", "three"]
