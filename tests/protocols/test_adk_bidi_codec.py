"""The ADK bidi-demo codec on the frames of protocols.md §3, no sockets."""

from __future__ import annotations

import base64
import json

import pytest

from desktop import protocols
from desktop.protocols.adk_bidi import AdkBidiCodec
from desktop.protocols.events import (
    Audio,
    Interrupted,
    ProtocolError,
    ServerError,
    SessionUpdate,
    Speaker,
    TextKind,
    Transcript,
    TurnComplete,
)

PCM = bytes([0xFB, 0xFF, 0xFE, 0x00]) * 50  # base64 of this has '+' and '/' (so '-' and '_' in base64url)


@pytest.fixture
def codec() -> AdkBidiCodec:
    return AdkBidiCodec({"user_id": "alice", "session_id": "s1"})


def event(**fields) -> str:
    """An Event as the demo sends it: camelCase plus the fields we don't care about."""
    return json.dumps({"id": "x", "invocationId": "e-1", "author": "agent", "timestamp": 1.5,
                       "actions": {"stateDelta": {}}, **fields})


def audio_part(data: str, mime: str = "audio/pcm;rate=24000") -> dict:
    return {"content": {"role": "model", "parts": [{"inlineData": {"mimeType": mime, "data": data}}]}}


# -- description ------------------------------------------------------------------------------


def test_registered_with_accurate_info():
    assert protocols.get("adk_bidi") is AdkBidiCodec
    info = AdkBidiCodec.info
    assert (info.name, info.send_rate, info.receive_rate) == ("adk_bidi", 16000, 24000)
    assert info.has_turn_events and info.has_interruption and not info.has_reset


def test_url_from_config(codec):
    assert codec.url("ws://127.0.0.1:8000") == "ws://127.0.0.1:8000/ws/alice/s1"
    flags = AdkBidiCodec({"user_id": "a b/c", "session_id": "s", "proactivity": True,
                          "affective_dialog": "no"})
    assert flags.url("ws://h/") == "ws://h/ws/a%20b%2Fc/s?proactivity=true"


def test_generated_ids_stay_for_the_codec_lifetime():
    codec = AdkBidiCodec()
    first = codec.url("ws://h")
    codec.open()  # a reconnect
    assert codec.url("ws://h") == first
    assert AdkBidiCodec().session_id != codec.session_id
    assert first.startswith("ws://h/ws/") and first.count("/") == 5


# -- client -> server -------------------------------------------------------------------------


def test_audio_goes_in_binary_frames(codec):
    assert codec.encode_audio(PCM) == [PCM]
    assert codec.encode_audio(b"") == []


def test_text(codec):
    [frame] = codec.encode_text("hello")
    assert json.loads(frame) == {"type": "text", "text": "hello"}


def test_push_to_talk_brackets_activity(codec):
    assert codec.encode_audio_end() == []  # hands-free: the server's VAD ends turns
    [start] = codec.encode_activity_start()
    assert json.loads(start) == {"type": "activity_start"}
    [end] = codec.encode_audio_end()
    assert json.loads(end) == {"type": "activity_end"}
    assert codec.encode_audio_end() == []


def test_reconnect_forgets_an_open_activity(codec):
    codec.encode_activity_start()
    assert codec.open() == []
    assert codec.encode_audio_end() == []
    assert codec.encode_reset() == []


# -- server -> client -------------------------------------------------------------------------


def test_base64url_audio_with_rate(codec):
    data = base64.urlsafe_b64encode(PCM).decode()
    assert "-" in data or "_" in data
    assert codec.decode(event(**audio_part(data))) == [Audio(PCM, 24000)]


def test_audio_without_padding_or_rate(codec):
    pcm = PCM[:10]
    data = base64.urlsafe_b64encode(pcm).decode().rstrip("=")
    assert codec.decode(event(**audio_part(data, "audio/pcm"))) == [Audio(pcm, 24000)]
    data = base64.b64encode(pcm).decode()
    assert codec.decode(event(**audio_part(data, "audio/pcm;rate=16000"))) == [Audio(pcm, 16000)]


def test_snake_case_is_accepted(codec):
    data = base64.b64encode(PCM).decode()
    frame = json.dumps({"content": {"parts": [{"inline_data": {"mime_type": "audio/pcm", "data": data}}]},
                        "turn_complete": True, "usage_metadata": {"total_token_count": 3},
                        "output_transcription": {"text": "hi", "finished": True}})
    assert codec.decode(frame) == [Audio(PCM, 24000),
                                   Transcript(Speaker.MODEL, "hi", True, TextKind.TRANSCRIPTION),
                                   SessionUpdate(usage={"total_token_count": 3}), TurnComplete()]


def test_partial_text_then_the_whole_text(codec):
    delta = event(content={"role": "model", "parts": [{"text": "Hel"}]}, partial=True)
    whole = event(content={"role": "model", "parts": [{"text": "Hello"}]}, partial=False)
    assert codec.decode(delta) == [Transcript(Speaker.MODEL, "Hel", False, TextKind.TEXT)]
    assert codec.decode(whole) == [Transcript(Speaker.MODEL, "Hello", True, TextKind.TEXT)]


def test_thoughts_are_not_shown(codec):
    frame = event(content={"role": "model", "parts": [{"text": "planning", "thought": True}, {"text": "Hi"}]})
    assert codec.decode(frame) == [Transcript(Speaker.MODEL, "Hi")]


@pytest.mark.parametrize(("field", "speaker"), [("inputTranscription", Speaker.USER),
                                                ("outputTranscription", Speaker.MODEL)])
def test_transcriptions(codec, field, speaker):
    assert codec.decode(event(**{field: {"text": "wh", "finished": False}, "partial": True})) == [
        Transcript(speaker, "wh", False, TextKind.TRANSCRIPTION)]
    assert codec.decode(event(**{field: {"text": "what time", "finished": True}, "partial": False})) == [
        Transcript(speaker, "what time", True, TextKind.TRANSCRIPTION)]
    # Older ADK passed Gemini's deltas through with no 'finished': committed pieces.
    assert codec.decode(event(**{field: {"text": "it is"}})) == [
        Transcript(speaker, "it is", True, TextKind.TRANSCRIPTION)]
    assert codec.decode(event(**{field: {"finished": True}})) == []


def test_turn_interruption_usage_and_errors(codec):
    assert codec.decode(event(turnComplete=True)) == [TurnComplete()]
    assert codec.decode(event(interrupted=True)) == [Interrupted()]
    usage = {"promptTokenCount": 5, "totalTokenCount": 9}
    assert codec.decode(event(usageMetadata=usage)) == [SessionUpdate(usage=usage)]
    assert codec.decode(event(errorCode="RESOURCE_EXHAUSTED", errorMessage="Quota")) == [
        ServerError("Quota (RESOURCE_EXHAUSTED)")]


def test_order_within_one_event(codec):
    frame = event(interrupted=True, inputTranscription={"text": "stop", "finished": True},
                  content={"parts": [{"text": "OK"}]}, turnComplete=True)
    assert codec.decode(frame) == [Interrupted(),
                                   Transcript(Speaker.USER, "stop", True, TextKind.TRANSCRIPTION),
                                   Transcript(Speaker.MODEL, "OK"), TurnComplete()]


def test_unknown_parts_and_fields_are_ignored(codec):
    frame = event(content={"parts": [{"functionCall": {"name": "f"}},
                                     {"inlineData": {"mimeType": "image/png", "data": "AAAA"}}]},
                  groundingMetadata={}, liveSessionResumptionUpdate={"newHandle": "h"})
    assert codec.decode(frame) == []


# -- malformed ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("frame", "needle"), [
    ("{", "not valid JSON"),
    ("null", "expected an object"),
    (b"\x00\xff", "not UTF-8"),
    (json.dumps({"content": []}), "'content' should be an object"),
    (json.dumps({"content": {"parts": {}}}), "should be a list"),
    (json.dumps({"content": {"parts": [3]}}), "should be an object"),
    (json.dumps({"content": {"parts": [{"text": 3}]}}), "text should be a string"),
    (json.dumps(audio_part("&&&&")), "not valid base64"),
    (json.dumps(audio_part("AAAA", "audio/pcm;rate=1")), "unusable"),
    (json.dumps(audio_part("AAAA", "audio/mp3")), "unsupported format"),
    (json.dumps({"content": {"parts": [{"inlineData": "x"}]}}), "inlineData should be an object"),
    (json.dumps({"content": {"parts": [{"inlineData": {"mimeType": 3, "data": "AAAA"}}]}}), "mimeType"),
    (json.dumps({"inputTranscription": "hi"}), "should be an object"),
    (json.dumps({"outputTranscription": {"text": ["hi"]}}), "should be a string"),
    (json.dumps({"usageMetadata": 5}), "usageMetadata"),
])
def test_malformed_events_become_protocol_errors(codec, frame, needle):
    events = codec.decode(frame)
    assert [type(e) for e in events] == [ProtocolError], events
    assert needle in events[0].message and events[0].excerpt


def test_usable_parts_survive_a_bad_one(codec):
    good = base64.b64encode(PCM).decode()
    frame = json.dumps({"content": {"parts": [{"inlineData": {"mimeType": "audio/pcm", "data": "@@"}},
                                              {"inlineData": {"mimeType": "audio/pcm", "data": good}}]},
                        "turnComplete": True})
    events = codec.decode(frame)
    assert events[:2] == [Audio(PCM, 24000), TurnComplete()]
    assert isinstance(events[2], ProtocolError)


def test_odd_audio_keeps_whole_samples(codec):
    events = codec.decode(event(**audio_part(base64.b64encode(PCM + b"\x07").decode())))
    assert events[0] == Audio(PCM, 24000) and isinstance(events[1], ProtocolError)
