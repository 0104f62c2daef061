"""The session core with no sockets and no clock: each decision it makes, on plain values."""

from __future__ import annotations

import json
import random

import pytest

from desktop.parts import Part
from desktop.protocols.adk import AdkCodec
from desktop.protocols.adk_bidi import AdkBidiCodec
from desktop.protocols.ai_proxy_core import AiProxyCoreCodec
from desktop.protocols.events import Audio, Interrupted, Speaker, Transcript, TurnComplete
from desktop.protocols.live_server import LiveServerCodec, serialize_part
from desktop.session.state import (
    AudioDropped,
    Backoff,
    ConnectionState,
    SessionCore,
    TextAnswered,
    TextDelivered,
    TextNotAnswered,
)

PCM = b"\x01\x00" * 320  # one 20 ms part at 16 kHz


def audio_in(pcm: bytes = b"\x00\x10" * 480) -> str:
    return serialize_part(Part.audio(pcm, 24000))


def text_in(text: str) -> str:
    return serialize_part(Part.model_text(text))


def done_in() -> str:
    return serialize_part(Part.generation_complete())


def interrupted_in() -> str:
    return serialize_part(Part.interrupted())


def kinds(frames) -> list[str]:
    """live_server frames as short names: audio, mic_off, mic_on, text:<t>, reset."""
    names = []
    for frame in frames:
        message = json.loads(frame)
        meta = message.get("metadata") or {}
        if "inline_data" in (message.get("part") or {}):
            names.append("audio")
        elif meta.get("mic"):
            names.append(f"mic_{meta['mic']}")
        elif meta.get("command") == "reset":
            names.append("reset")
        elif message.get("mimetype") == "application/x-config":
            names.append("config")
        else:
            names.append(f"text:{message['part']['text']}")
    return names


def connected(codec=None, **kwargs) -> SessionCore:
    core = SessionCore(codec or LiveServerCodec(), backoff=Backoff(rng=random.Random(0)), **kwargs)
    core.connecting(0.0)
    core.connection_made(0.0)
    core.data_to_send()
    core.events_received()
    return core


# -- order and backlog ---------------------------------------------------------------------------


def test_mic_off_never_overtakes_queued_audio():
    """The old session sent control frames first whenever audio was queued (a slow uplink)."""
    core = connected()
    core.activity_start()
    for _ in range(5):
        core.send_audio(PCM)
    core.end_of_speech()
    core.send_text("and this")
    assert kinds(core.data_to_send()) == ["mic_on"] + ["audio"] * 5 + ["mic_off", "text:and this"]


def test_a_slow_socket_takes_one_item_at_a_time_in_order():
    core = connected()
    for _ in range(3):
        core.send_audio(PCM)
    core.end_of_speech()
    sent = []
    while frames := core.data_to_send(1):
        sent += kinds(frames)
    assert sent == ["audio", "audio", "audio", "mic_off"]


def test_the_backlog_drops_the_oldest_audio_only_and_counts_it():
    core = connected(audio_backlog=3)
    core.send_audio(b"\x01\x00" * 4)
    core.end_of_speech()
    for n in range(2, 7):
        core.send_audio(bytes([n, 0]) * 4)
    core.end_of_speech()
    frames = core.data_to_send()
    assert kinds(frames) == ["mic_off", "audio", "audio", "audio", "mic_off"]
    assert core.audio_dropped == 3
    assert AudioDropped(3, "the connection is too slow") in core.events_received()


def test_audio_while_disconnected_is_dropped_and_reported_once_per_run():
    core = SessionCore(LiveServerCodec())
    for _ in range(10):
        core.send_audio(PCM)
    core.end_of_speech()
    assert core.events_received() == [AudioDropped(10, "not connected")]


# -- barge-in ----------------------------------------------------------------------------------------


def test_barge_in_drops_the_rest_of_the_interrupted_reply_as_it_arrives():
    core = connected()
    core.receive(audio_in(), 1.0)
    core.receive(text_in("a long"), 1.0)
    assert core.reply_open
    core.activity_start()  # the user talks over the reply
    assert core.events_received()[-1] == Interrupted()
    core.receive(audio_in(), 1.1)  # still in flight when the user pressed talk
    core.receive(text_in(" reply"), 1.1)
    core.receive(interrupted_in(), 1.2)  # the server's own word that it stopped
    assert core.events_received() == []
    core.end_of_speech()
    core.receive(text_in("the answer"), 2.0)
    core.receive(audio_in(), 2.0)
    events = core.events_received()
    assert Transcript(Speaker.MODEL, "the answer") in events and any(isinstance(e, Audio) for e in events)


def test_barge_in_without_an_interruption_message_ends_the_reply_locally():
    codec = AiProxyCoreCodec()
    core = connected(codec)
    reply = json.dumps({"type": "response", "text": "old reply"})
    core.receive(reply, 1.0)
    core.receive(json.dumps({"type": "audio", "data": "AAAA"}), 1.0)
    core.activity_start()
    assert core.events_received()[-1] == Interrupted()
    core.send_audio(PCM)
    core.receive(json.dumps({"type": "audio", "data": "AAAA"}), 1.2)  # the old reply, still in flight
    assert not [e for e in core.events_received() if isinstance(e, Audio)]
    core.end_of_speech()  # the user's turn is in: what arrives now is the answer to it
    core.receive(json.dumps({"type": "response", "text": "new reply"}), 3.0)
    assert Transcript(Speaker.MODEL, "new reply") in core.events_received()


def test_an_interrupted_reply_without_turn_events_stops_being_dropped_once_it_goes_quiet():
    core = connected(AiProxyCoreCodec({"turn_idle_gap": 0.5}))
    core.receive(json.dumps({"type": "response", "text": "old"}), 1.0)
    core.interrupt()
    core.receive(json.dumps({"type": "response", "text": "old tail"}), 1.1)
    assert core.next_deadline() == pytest.approx(1.6)
    core.tick(1.6)
    core.receive(json.dumps({"type": "response", "text": "new"}), 5.0)
    texts = [e.text for e in core.events_received() if isinstance(e, Transcript)]
    assert texts == ["old", "new"]


# -- trailing silence --------------------------------------------------------------------------------


@pytest.mark.parametrize("codec_class", [AdkCodec, AdkBidiCodec, AiProxyCoreCodec])
def test_release_sends_a_second_of_silence_where_there_is_no_end_of_speech_message(codec_class):
    core = connected(codec_class())
    core.activity_start()
    core.send_audio(PCM)
    before = len(core.data_to_send())
    core.end_of_speech()
    frames = core.data_to_send()
    silent = [f for f in frames if isinstance(f, bytes) or '"audio' in f]
    assert before >= 1 and len(silent) == 50  # 50 x 20 ms
    if codec_class is AdkBidiCodec:  # the dev guide's variant also gets its activity_end, after the silence
        assert frames[-1] == json.dumps({"type": "activity_end"})
        assert all(f == bytes(640) for f in frames[:-1])


def test_no_silence_without_speech_or_where_mic_off_exists():
    adk = connected(AdkCodec())
    adk.end_of_speech()
    assert adk.data_to_send() == []
    live = connected()
    live.send_audio(PCM)
    live.end_of_speech()
    assert kinds(live.data_to_send()) == ["audio", "mic_off"]
    configured = connected(AdkCodec({"trailing_silence": 0.2}))
    configured.send_audio(PCM)
    configured.end_of_speech()
    assert len(configured.data_to_send()) == 1 + 10


# -- typed text ----------------------------------------------------------------------------------------


def test_the_tail_of_the_previous_reply_does_not_answer_new_text():
    core = connected()
    core.receive(text_in("first reply"), 1.0)
    message_id = core.send_text("question")
    core.data_to_send()
    core.receive(text_in(" ...tail"), 1.1)
    core.receive(done_in(), 1.2)
    assert TextAnswered(message_id) not in core.events_received()
    core.connection_lost(2.0, 1006)  # the answer never came
    core.connecting(3.0)
    core.connection_made(3.0)
    assert kinds(core.data_to_send()) == ["text:question"]  # sent again
    core.receive(text_in("answer"), 3.5)
    assert TextAnswered(message_id) in core.events_received()
    core.connection_lost(4.0, 1006)
    core.connection_made(5.0)
    assert core.data_to_send() == []  # answered: never sent again


def test_each_reply_answers_one_text_in_order_and_close_reports_the_rest():
    core = connected()
    first, second = core.send_text("one"), core.send_text("two")
    core.data_to_send()
    core.receive(text_in("reply one"), 1.0)
    core.receive(done_in(), 1.0)
    core.close(2.0)
    events = core.events_received()
    assert TextDelivered(first) in events and TextDelivered(second) in events
    assert TextAnswered(first) in events and TextAnswered(second) not in events
    assert TextNotAnswered(second, "two", True) in events
    assert core.status.state is ConnectionState.DISCONNECTED


def test_text_typed_while_disconnected_goes_first_on_the_next_connection_after_the_opening():
    core = SessionCore(LiveServerCodec({"voice": "Puck"}))
    message_id = core.send_text("early")
    assert core.pending_texts == [(message_id, "early")]
    core.connecting(0.0)
    core.connection_made(0.0)
    assert kinds(core.data_to_send()) == ["config", "text:early"]


# -- reconnect policy ------------------------------------------------------------------------------


def test_a_server_that_accepts_then_closes_is_backed_off_not_hammered():
    """The old session reset the attempt on every successful handshake: 0.25-0.5 s forever."""
    core = SessionCore(LiveServerCodec(), backoff=Backoff(initial=0.5, cap=30, rng=random.Random(1)),
                       stable_after=10)
    now, delays = 0.0, []
    for _ in range(8):
        core.connecting(now)
        core.connection_made(now)
        core.connection_lost(now + 0.1, 1011, "boom")
        delays.append(core.status.retry_in)
        now = core.next_retry_at()
    assert core.status.state is ConnectionState.RECONNECTING
    assert max(delays[-3:]) > 8 * max(delays[:2])
    core.connecting(now)
    core.connection_made(now)
    core.connection_lost(now + 60, 1006)  # stayed up a minute: start over
    assert core.status.attempt == 1 and core.status.retry_in <= 0.5


@pytest.mark.parametrize(("code", "words"), [(1008, "policy violation"), (4001, "token"), (4003, "token")])
def test_a_close_that_says_dont_retry_stops_with_a_reason(code, words):
    core = connected()
    core.connection_lost(1.0, code, "nope")
    assert core.status.state is ConnectionState.ERROR
    assert words in core.status.reason and "nope" in core.status.reason
    assert core.next_retry_at() is None and core.finished


def test_a_codec_gives_its_own_close_codes_a_meaning():
    class Strict(LiveServerCodec):
        def close_meaning(self, code, reason):
            return (False, "Quota used up for today.") if code == 4429 else None

    core = connected(Strict())
    core.connection_lost(1.0, 4429, "")
    assert (core.status.state, core.status.reason) == (ConnectionState.ERROR, "Quota used up for today.")


def test_connect_errors_the_user_must_fix_are_an_error_state():
    core = SessionCore(LiveServerCodec())
    core.connecting(0.0)
    core.connect_failed(0.0, "The server URL cannot be used.", retry=False)
    assert core.status.state is ConnectionState.ERROR and core.finished


def test_go_away_waits_for_the_turn_then_reconnects_at_once():
    core = connected()
    core.receive(text_in("reply"), 1.0)
    core.receive(serialize_part(Part.control(go_away={"time_left": "30s"})), 1.0)
    assert not core.should_close  # mid-reply
    core.receive(done_in(), 1.5)
    assert core.should_close
    core.connection_lost(1.6, 1000)
    assert core.status.state is ConnectionState.CONNECTING and core.next_retry_at() == 1.6


def test_a_reply_cut_off_by_the_connection_is_ended_and_its_queued_audio_counted():
    core = connected()
    core.send_audio(PCM)
    core.receive(audio_in(), 1.0)
    core.connection_lost(1.1, 1006)
    events = core.events_received()
    assert Interrupted(connection_lost=True) in events
    assert AudioDropped(1, "connection lost") in events


def test_turns_end_after_an_idle_gap_when_the_protocol_has_no_turn_events():
    core = connected(AiProxyCoreCodec({"turn_idle_gap": 1.5}))
    core.receive(json.dumps({"type": "response", "text": "hi"}), 10.0)
    assert core.next_deadline() == 11.5
    core.tick(11.0)
    assert TurnComplete() not in core.events_received()
    core.tick(11.5)
    assert core.events_received() == [TurnComplete()] and core.next_deadline() is None


def test_a_server_that_never_ends_an_interrupted_reply_cannot_silence_the_next_one():
    core = connected()
    core.receive(text_in("old"), 1.0)
    core.activity_start()
    assert core.next_deadline() == pytest.approx(3.0)  # the safety net: 2 s of quiet ends the old reply
    core.receive(text_in(" old tail"), 1.5)
    core.end_of_speech()
    core.tick(3.0)
    core.receive(text_in("still old?"), 3.0)  # content kept coming: still the old reply
    core.tick(5.1)
    core.receive(text_in("new"), 6.0)
    texts = [e.text for e in core.events_received() if isinstance(e, Transcript)]
    assert texts == ["old", "new"]


def turn_complete_in() -> str:
    return serialize_part(Part.state(turn_complete=True))


def test_a_reply_ended_twice_is_one_turn_and_answers_one_text():
    """live_server (as Gemini Live) ends a reply with generation_complete, then turn_complete: one turn, not
    a second, empty reply that would answer the next text waiting."""
    core = connected()
    first, second = core.send_text("one"), core.send_text("two")
    core.data_to_send()
    core.receive(text_in("reply one"), 1.0)
    core.receive(done_in(), 1.1)
    core.receive(turn_complete_in(), 1.2)
    events = core.events_received()
    assert sum(isinstance(event, TurnComplete) for event in events) == 1
    assert TextAnswered(first) in events and TextAnswered(second) not in events
    core.receive(text_in("reply two"), 2.0)
    core.receive(done_in(), 2.1)
    core.receive(turn_complete_in(), 2.2)
    events = core.events_received()
    assert TextAnswered(second) in events
    assert sum(isinstance(event, TurnComplete) for event in events) == 1


def test_a_turn_complete_after_an_interruption_ends_the_turn_but_answers_no_text():
    core = connected()
    first, second = core.send_text("one"), core.send_text("two")
    core.data_to_send()
    core.receive(text_in("reply one"), 1.0)
    core.receive(interrupted_in(), 1.1)  # the server stopped it (its own VAD heard something, say)
    core.receive(turn_complete_in(), 1.2)  # and ended that turn
    events = core.events_received()
    assert TextAnswered(first) in events and TextAnswered(second) not in events
    assert [type(event) for event in events if isinstance(event, (Interrupted, TurnComplete))] == [
        Interrupted, TurnComplete]


def test_an_empty_reply_still_answers_its_text_once():
    core = connected()
    first = core.send_text("just do it")  # e.g. a tool call: the model says nothing
    core.data_to_send()
    core.receive(done_in(), 1.0)
    core.receive(turn_complete_in(), 1.1)
    events = core.events_received()
    assert TextAnswered(first) in events
    assert sum(isinstance(event, TurnComplete) for event in events) == 1
