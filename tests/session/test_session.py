"""The session client against the real embedded server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import random

import pytest

from desktop.errors import InvalidEndpoint
from desktop.processors import get_factory
from desktop.protocols.base import ProtocolInfo
from desktop.protocols.events import Audio, Health, Interrupted, Speaker, Transcript, TurnComplete
from desktop.protocols.live_server import LiveServerCodec
from desktop.server import LiveServer
from desktop.session import Backoff, ConnectionState, Session, TextDelivered

TIMEOUT = 10


class Recorder:
    """Collects events and statuses; lets a test wait for a condition on them."""

    def __init__(self):
        self.events = []
        self.statuses = []
        self._changed = asyncio.Event()

    def on_event(self, event):
        self.events.append(event)
        self._changed.set()

    def on_status(self, status):
        self.statuses.append(status)
        self._changed.set()

    async def wait_for(self, predicate):
        async with asyncio.timeout(TIMEOUT):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    def count(self, kind) -> int:
        return sum(isinstance(e, kind) for e in self.events)

    @property
    def state(self):
        return self.statuses[-1].state if self.statuses else None


def make_session(server_url: str, recorder: Recorder, codec=None, **kwargs) -> Session:
    return Session(codec or LiveServerCodec({"voice": "Puck"}), server_url,
                   on_event=recorder.on_event, on_status=recorder.on_status,
                   backoff=Backoff(initial=0.05, cap=0.2), **kwargs)


class RecordingFactory:
    def __init__(self):
        self.configs = []

    def __call__(self, config):
        self.configs.append(dict(config))
        return get_factory("echo")(config)


async def test_text_turn_round_trip_and_delivery_report():
    async with LiveServer(get_factory("echo")) as server:
        rec = Recorder()
        session = make_session(server.url, rec)
        session.start()
        await rec.wait_for(lambda: rec.state is ConnectionState.CONNECTED)
        message_id = session.send_text("hello")
        await rec.wait_for(lambda: rec.count(TurnComplete))
        await session.close()
    assert TextDelivered(message_id) in rec.events
    texts = [e for e in rec.events if isinstance(e, Transcript)]
    assert texts and all(t.speaker is Speaker.MODEL and t.text == "hello" for t in texts)
    assert rec.state is ConnectionState.DISCONNECTED


async def test_text_typed_before_connecting_is_queued_then_delivered():
    async with LiveServer(get_factory("echo")) as server:
        rec = Recorder()
        session = make_session(server.url, rec)
        message_id = session.send_text("early")
        assert session.pending_texts == [(message_id, "early")]
        session.start()
        await rec.wait_for(lambda: rec.count(TurnComplete))
        await session.close()
    assert TextDelivered(message_id) in rec.events and session.pending_texts == []


async def test_audio_turn_comes_back_as_24k_audio():
    async with LiveServer(get_factory("echo")) as server:
        rec = Recorder()
        session = make_session(server.url, rec)
        session.start()
        await rec.wait_for(lambda: session.connected)
        for _ in range(25):
            session.send_audio(b"\x10\x00" * 320)
        session.audio_end()
        await rec.wait_for(lambda: rec.count(TurnComplete))
        await session.close()
    audio = [e for e in rec.events if isinstance(e, Audio)]
    assert audio and {a.rate for a in audio} == {24000}
    assert abs(sum(a.duration for a in audio) - 0.5) < 0.02


async def test_reconnects_after_the_server_dies_mid_turn_resends_config_and_keeps_going():
    factory = RecordingFactory()
    server = LiveServer(factory)
    await server.start()
    port, token = server.port, server.token
    rec = Recorder()
    session = make_session(server.url, rec)
    session.start()
    await rec.wait_for(lambda: rec.count(Health) >= 1 and factory.configs[-1] == {"voice": "Puck"})
    session.send_audio(b"\x00\x01" * 320)  # a turn is under way...
    await rec.wait_for(lambda: rec.count(Audio))
    await server.close()  # ...when the server vanishes
    await rec.wait_for(lambda: rec.state is ConnectionState.RECONNECTING)
    assert Interrupted(connection_lost=True) in rec.events  # the cut-off turn is ended, not left hanging
    unsent = session.send_text("typed while down")
    server = LiveServer(factory, port=port, token=token)
    await server.start()
    session.retry_now()
    await rec.wait_for(lambda: TextDelivered(unsent) in rec.events and rec.count(TurnComplete) == 1)
    await session.close()
    await server.close()
    # The config went again on the new connection: the processor was rebuilt with it.
    assert factory.configs.count({"voice": "Puck"}) == 2
    reasons = [s.reason for s in rec.statuses if s.state is ConnectionState.RECONNECTING]
    assert reasons and all(r for r in reasons)


async def test_refused_token_stops_with_an_error_and_no_retry():
    async with LiveServer(get_factory("echo")) as server:
        rec = Recorder()
        session = make_session(server.url.split("?")[0] + "?token=nope", rec)
        await asyncio.wait_for(session.start(), TIMEOUT)
    assert rec.state is ConnectionState.ERROR
    assert "401" in rec.statuses[-1].reason


async def test_unreachable_server_is_retried_with_a_reason():
    rec = Recorder()
    session = make_session("ws://127.0.0.1:1", rec)
    session.start()
    await rec.wait_for(lambda: sum(s.state is ConnectionState.RECONNECTING for s in rec.statuses) >= 2)
    await session.close()
    waiting = [s for s in rec.statuses if s.state is ConnectionState.RECONNECTING]
    assert "refused" in waiting[0].reason.lower()
    assert all(s.retry_in is not None and s.retry_in <= 0.2 for s in waiting)


def test_bad_url_is_refused_before_connecting():
    with pytest.raises(InvalidEndpoint, match="scheme"):
        Session(LiveServerCodec(), "gopher://x")


def test_backoff_grows_with_jitter_and_is_capped():
    backoff = Backoff(initial=0.5, cap=30.0, rng=random.Random(1))
    delays = [backoff.delay(n) for n in range(1, 12)]
    assert all(0 < d <= 30 for d in delays)
    assert delays[0] <= 0.5 and max(delays[-3:]) >= 15  # capped ceiling reached
    assert len({round(d, 6) for d in delays}) == len(delays)  # jittered


class QuietCodec(LiveServerCodec):
    """live_server frames, but described as a protocol without turn events (like ai-proxy-core)."""

    info = ProtocolInfo(name="quiet", title="no turn events", has_turn_events=False, turn_idle_gap=0.2)

    def decode(self, frame):
        return [e for e in super().decode(frame) if not isinstance(e, TurnComplete)]


async def test_turn_ends_after_an_idle_gap_when_the_protocol_has_no_turn_events():
    async with LiveServer(get_factory("echo")) as server:
        rec = Recorder()
        session = make_session(server.url, rec, codec=QuietCodec())
        session.start()
        session.send_text("hi")
        await rec.wait_for(lambda: rec.count(TurnComplete))
        await session.close()
    assert rec.count(Transcript) == 1  # the echo's typed reply, said once


async def test_go_away_is_acted_on_between_turns_by_reconnecting_at_once():
    from desktop.parts import Part

    factory_calls = []

    def factory(config):
        factory_calls.append(config)

        async def processor(parts):
            async for part in parts:
                yield Part.model_text(f"reply to {part.text}")
                yield Part.control(go_away={"time_left": "30s"})  # mid-turn: must not cut the reply
                yield Part.model_text(" (end)")
                yield Part.generation_complete()
        return processor

    async with LiveServer(factory) as server:
        rec = Recorder()
        session = make_session(server.url, rec)
        session.start()
        await rec.wait_for(lambda: session.connected)
        session.send_text("one")
        await rec.wait_for(lambda: rec.count(TurnComplete) == 1
                           and sum(s.state is ConnectionState.CONNECTED for s in rec.statuses) == 2)
        session.send_text("two")
        await rec.wait_for(lambda: rec.count(TurnComplete) == 2)
        await session.close()
    texts = "".join(e.text for e in rec.events if isinstance(e, Transcript))
    assert texts.startswith("reply to one (end)")  # the first reply arrived whole
    assert not any(s.state is ConnectionState.RECONNECTING for s in rec.statuses)  # no backoff wait
    assert len(factory_calls) >= 2  # a new connection (and processor) served the second turn


async def test_wss_verifies_certificates(tmp_path):
    """A self-signed server is refused with a reason that names the certificate, not silently trusted."""
    from websockets.asyncio.server import serve

    from tests.gemini_double import make_tls_files

    tls = make_tls_files(tmp_path)

    async def handler(ws):
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, ssl=tls.server_context()) as server:
        port = server.sockets[0].getsockname()[1]
        rec = Recorder()
        session = make_session(f"wss://127.0.0.1:{port}", rec, reconnect=False)
        await asyncio.wait_for(session.start(), TIMEOUT)
    assert rec.state is ConnectionState.DISCONNECTED
    assert "certificate" in rec.statuses[-1].reason.lower()
