"""The legacy ADK sample's codec on the frames of protocols.md §2, no sockets."""

from __future__ import annotations

import base64
import json

import pytest

from desktop import protocols
from desktop.errors import InvalidEndpoint
from desktop.protocols._wire import FrameError, decode_base64, mimetype_rate, parse_rate
from desktop.protocols.adk import AdkCodec
from desktop.protocols.events import (
    Audio,
    Interrupted,
    ProtocolError,
    ServerError,
    Speaker,
    TextKind,
    Transcript,
    TurnComplete,
)

PCM = bytes(range(0, 200, 2)) * 4  # 400 bytes, whole samples


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.fixture
def codec() -> AdkCodec:
    return AdkCodec({"user_id": 42})


# -- description ------------------------------------------------------------------------------


def test_registered_with_accurate_info():
    assert protocols.get("adk") is AdkCodec
    info = protocols.available()["adk"]
    assert (info.name, info.send_rate, info.receive_rate) == ("adk", 16000, 24000)
    assert info.has_turn_events and info.has_interruption and not info.has_reset


def test_url_adds_path_and_required_query(codec):
    assert codec.url("ws://127.0.0.1:8000") == "ws://127.0.0.1:8000/ws/42?is_audio=true"
    # A token goes in a header, where proxies don't log it, never in the URL.
    assert codec.url("http://host:8000/", token="t") == "ws://host:8000/ws/42?is_audio=true"
    assert codec.headers(token="t") == {"Authorization": "Bearer t"}
    assert codec.headers() == {}


def test_url_with_a_path_is_used_as_given(codec):
    assert codec.url("wss://host/ws/7?is_audio=false") == "wss://host/ws/7?is_audio=false"


def test_default_user_id_is_a_random_int_fixed_per_instance():
    first = AdkCodec()
    assert isinstance(first.user_id, int) and first.user_id > 0
    assert first.url("ws://h") == first.url("ws://h") == f"ws://h/ws/{first.user_id}?is_audio=true"
    assert len({AdkCodec().user_id for _ in range(20)}) > 1
    assert AdkCodec({"user_id": " 17 "}).url("ws://h") == "ws://h/ws/17?is_audio=true"


@pytest.mark.parametrize("bad", ["alice", "1.5", True, 3.0, "٣"])
def test_non_integer_user_id_is_a_readable_endpoint_error(bad):
    with pytest.raises(InvalidEndpoint, match="integer user_id"):
        AdkCodec({"user_id": bad}).url("ws://h")


# -- client -> server -------------------------------------------------------------------------


def test_encode_audio_and_text(codec):
    [frame] = codec.encode_audio(PCM)
    assert json.loads(frame) == {"mime_type": "audio/pcm", "data": b64(PCM)}
    [frame] = codec.encode_text("hello")
    assert json.loads(frame) == {"mime_type": "text/plain", "data": "hello"}
    assert codec.encode_audio(b"") == []


def test_never_sends_another_mime_type(codec):
    # Anything but audio/pcm and text/plain kills the sample's upstream task.
    assert codec.open() == []
    assert codec.encode_audio_end() == []
    assert codec.encode_activity_start() == []
    assert codec.encode_reset() == []


# -- server -> client -------------------------------------------------------------------------


def test_audio_at_24k(codec):
    assert codec.decode(json.dumps({"mime_type": "audio/pcm", "data": b64(PCM)})) == [Audio(PCM, 24000)]


def test_audio_rate_from_mimetype(codec):
    frame = json.dumps({"mime_type": "audio/pcm;rate=16000", "data": b64(PCM)})
    assert codec.decode(frame) == [Audio(PCM, 16000)]


def test_partial_text_deltas_are_appended_text(codec):
    frames = [json.dumps({"mime_type": "text/plain", "data": word}) for word in ("Hel", "lo")]
    events = [event for frame in frames for event in codec.decode(frame)]
    assert events == [Transcript(Speaker.MODEL, "Hel", True, TextKind.TEXT),
                      Transcript(Speaker.MODEL, "lo", True, TextKind.TEXT)]


def test_variant_partial_flag_makes_text_tentative(codec):
    frame = json.dumps({"mime_type": "text/plain", "data": "Hel", "partial": True, "is_transcript": False})
    assert codec.decode(frame) == [Transcript(Speaker.MODEL, "Hel", False, TextKind.TEXT)]
    frame = json.dumps({"mime_type": "text/plain", "data": "Hello", "partial": False})
    assert codec.decode(frame) == [Transcript(Speaker.MODEL, "Hello", True, TextKind.TEXT)]


def test_is_transcript_marks_a_transcription(codec):
    frame = json.dumps({"mime_type": "text/plain", "data": "Hi there", "is_transcript": True})
    assert codec.decode(frame) == [Transcript(Speaker.MODEL, "Hi there", True, TextKind.TRANSCRIPTION)]


@pytest.mark.parametrize(("message", "expected"), [
    ({"turn_complete": True, "interrupted": None}, [TurnComplete()]),
    ({"turn_complete": None, "interrupted": True}, [Interrupted()]),
    ({"turn_complete": True, "interrupted": True}, [Interrupted(), TurnComplete()]),
    ({"turn_complete": False, "interrupted": False}, []),
    ({"turn_complete": "false"}, []),  # only JSON true is a flag
])
def test_turn_messages(codec, message, expected):
    assert codec.decode(json.dumps(message)) == expected


def test_unknown_fields_and_mimetypes_are_ignored(codec):
    assert codec.decode(json.dumps({"mime_type": "image/jpeg", "data": "xx"})) == []
    assert codec.decode(json.dumps({"hello": 1})) == []
    assert codec.decode(json.dumps({"mime_type": "text/plain", "data": "", "extra": [1]})) == []


def test_error_field_is_a_server_error(codec):
    assert codec.decode(json.dumps({"error": "quota exceeded"})) == [ServerError("quota exceeded")]


def test_binary_json_frames_are_accepted(codec):
    frame = json.dumps({"mime_type": "text/plain", "data": "hi"}).encode()
    assert codec.decode(frame) == [Transcript(Speaker.MODEL, "hi")]


# -- malformed ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("frame", "needle"), [
    ("not json", "not valid JSON"),
    ("[1, 2]", "expected an object"),
    (b"\xff\xfe", "not UTF-8"),
    ('{"mime_type": 5}', "mime_type"),
    ('{"mime_type": "text/plain", "data": 5}', "should be a string"),
    ('{"mime_type": "audio/pcm", "data": "***"}', "not valid base64"),
    ('{"mime_type": "audio/pcm", "data": 12}', "base64 string"),
    ('{"mime_type": "audio/pcm;rate=0", "data": "AAAA"}', "unusable"),
    ('{"mime_type": "audio/pcm;rate=fast", "data": "AAAA"}', "unusable"),
    ('{"mime_type": "audio/opus", "data": "AAAA"}', "unsupported format"),
    ("1" * 5000, "not valid JSON"),  # int too long for Python's int parser
    ("[" * 100000, "not valid JSON"),  # nesting deeper than the recursion limit
])
def test_malformed_frames_become_protocol_errors(codec, frame, needle):
    [event] = codec.decode(frame)
    assert isinstance(event, ProtocolError)
    assert needle in event.message
    assert event.excerpt


def test_odd_audio_keeps_whole_samples(codec):
    events = codec.decode(json.dumps({"mime_type": "audio/pcm", "data": b64(PCM + b"\x01")}))
    assert events[0] == Audio(PCM, 24000)
    assert isinstance(events[1], ProtocolError) and "last byte" in events[1].message


# -- shared helpers -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    base64.b64encode(b"\xfb\xff\xfe").decode(),  # '+//+'
    base64.urlsafe_b64encode(b"\xfb\xff\xfe").decode(),  # '-__-'
    base64.urlsafe_b64encode(b"\xfb\xff").decode().rstrip("="),  # no padding
    " +//+\n",
])
def test_decode_base64_is_liberal(text):
    assert decode_base64(text, "data") in (b"\xfb\xff\xfe", b"\xfb\xff")


@pytest.mark.parametrize("text", ["A", "AAAAA", "A*AA", "AA=A"])
def test_decode_base64_rejects_garbage(text):
    with pytest.raises(FrameError):
        decode_base64(text, "data")


def test_rates():
    assert mimetype_rate("audio/pcm", 24000) == 24000
    assert mimetype_rate("audio/pcm; rate=16000", 24000) == 16000
    assert parse_rate(24000.0) == 24000 and parse_rate("8000") == 8000
    for bad in (0, -1, 10**9, True, "x", 1.5, None):
        with pytest.raises(FrameError):
            parse_rate(bad)
