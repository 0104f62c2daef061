"""The live_server codec on every frame form of protocols.md §1, no sockets."""

from __future__ import annotations

import base64
import json
import random

import pytest

from desktop import protocols
from desktop.errors import InvalidEndpoint
from desktop.parts import Part
from desktop.protocols.events import (
    Audio,
    Event,
    Health,
    Interrupted,
    Notice,
    ProtocolError,
    ServerError,
    SessionUpdate,
    Speaker,
    TextKind,
    Transcript,
    TurnComplete,
)
from desktop.protocols.live_server import (
    Configure,
    FrameError,
    LiveServerCodec,
    Reset,
    parse_client_frame,
    serialize_part,
)


@pytest.fixture
def codec():
    return LiveServerCodec({"voice": "Puck"})


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- client -> server -------------------------------------------------------------------


def test_registry_finds_it():
    assert protocols.get("live_server") is LiveServerCodec
    assert "live_server" in protocols.available()


def test_config_is_sent_first_and_only_when_non_empty(codec):
    assert [json.loads(f) for f in codec.open()] == [
        {"mimetype": "application/x-config", "metadata": {"voice": "Puck"}}]
    assert LiveServerCodec().open() == []


def test_audio_frame_shape(codec):
    (frame,) = codec.encode_audio(b"\x01\x02" * 320)
    message = json.loads(frame)
    assert message["role"] == "user" and message["substream_name"] == "realtime"
    assert message["part"]["inline_data"]["mime_type"] == "audio/pcm;rate=16000"
    assert base64.b64decode(message["part"]["inline_data"]["data"]) == b"\x01\x02" * 320


def test_text_mic_off_and_reset_frames(codec):
    assert json.loads(codec.encode_text("hello")[0]) == {"part": {"text": "hello"}, "role": "user"}
    assert json.loads(codec.encode_audio_end()[0]) == {"mimetype": "application/x-state", "metadata": {"mic": "off"}}
    assert json.loads(codec.encode_reset()[0]) == {"mimetype": "application/x-command",
                                                    "metadata": {"command": "reset"}}


@pytest.mark.parametrize(("base", "expected"), [
    ("ws://127.0.0.1:8765", "ws://127.0.0.1:8765/"),
    ("ws://127.0.0.1:8765/", "ws://127.0.0.1:8765/"),
    ("ws://h:1/live?x=1", "ws://h:1/live?x=1"),
    ("ws://h:1/?token=mine", "ws://h:1/?token=mine"),
    ("http://h:1", "ws://h:1/"),
    ("https://h", "wss://h/"),
])
def test_url_building(codec, base, expected):
    assert codec.url(base, token="t") == expected  # the token stays out of the URL, which proxies log...
    assert codec.headers(token="t") == {"Authorization": "Bearer t"}  # ...and goes in the header


@pytest.mark.parametrize("bad", ["", "ftp://h", "h:1", "ws://", "ws://h:99999"])
def test_bad_urls_raise_a_readable_error(codec, bad):
    with pytest.raises(InvalidEndpoint) as caught:
        codec.url(bad)
    assert str(caught.value)


# -- server side parsing (what our server makes of client frames) ---------------------------


def test_server_parses_every_client_form():
    audio = parse_client_frame(json.dumps({"part": {"inline_data": {"data": b64(b"\0\0"), "mime_type":
                                                                    "audio/pcm;rate=16000"}}, "role": "model"}))
    assert isinstance(audio, Part) and audio.data == b"\0\0"
    assert (audio.role, audio.substream_name) == ("user", "realtime")  # forced, as the reference does
    text = parse_client_frame(json.dumps({"part": {"text": "hi"}}))
    assert text.text == "hi" and text.role == "user" and text.metadata["turn_complete"] is True
    assert parse_client_frame(json.dumps({"mimetype": "application/x-config", "metadata": {"a": 1}})) == \
        Configure({"a": 1})
    assert parse_client_frame(json.dumps({"mimetype": "application/x-config", "metadata": {}})) is None
    assert parse_client_frame(json.dumps({"mimetype": "application/x-command",
                                          "metadata": {"command": "reset"}})) == Reset()
    assert parse_client_frame(json.dumps({"metadata": {"reset": True}})) == Reset()
    for mic_off in ({"mimetype": "application/x-state", "metadata": {"mic": "off"}}, {"metadata": {"mic": "off"}}):
        part = parse_client_frame(json.dumps(mic_off))
        assert part.is_audio_stream_end and part.substream_name == "realtime"
    assert parse_client_frame(json.dumps({"mimetype": "application/x-state",
                                          "metadata": {"mic": "on"}})).is_activity_start
    assert parse_client_frame("{}") is None


def test_server_accepts_url_safe_base64_and_l16():
    data = bytes(range(250, 256)) * 2
    part = parse_client_frame(json.dumps({"part": {"inline_data": {
        "data": base64.urlsafe_b64encode(data).decode().rstrip("="), "mime_type": "audio/l16;rate=24000"}}}))
    assert part.data == data


@pytest.mark.parametrize("bad", ["", "{", "null", "3", '{"part": []}', '{"metadata": "x"}',
                                 '{"part": {"text": 5}}', '{"part": {"inline_data": "x"}}'])
def test_server_rejects_malformed_frames(bad):
    with pytest.raises(FrameError):
        parse_client_frame(bad)


def test_serialize_part_matches_the_reference_shapes():
    assert json.loads(serialize_part(Part.generation_complete())) == {
        "part": {"text": ""}, "role": "model", "substream_name": "", "mimetype": "application/x-state",
        "metadata": {"generation_complete": True}}
    audio = json.loads(serialize_part(Part.audio(b"\1\2", 24000)))
    assert audio["part"]["inline_data"] == {"data": b64(b"\1\2"), "mime_type": "audio/pcm;rate=24000"}
    assert json.loads(serialize_part(Part.health_check()))["metadata"] == {"health_check": True}


# -- server -> client ---------------------------------------------------------------------------


def frame(**message) -> str:
    return json.dumps(message)


def test_decodes_model_text_and_transcriptions(codec):
    assert codec.decode(frame(part={"text": "Hi"}, role="model")) == [Transcript(Speaker.MODEL, "Hi")]
    assert codec.decode(frame(part={"text": "hel"}, substream_name="input_transcription",
                              metadata={"is_final": False})) == [
        Transcript(Speaker.USER, "hel", False, TextKind.TRANSCRIPTION)]
    assert codec.decode(frame(part={"text": "Yes."}, substream_name="output_transcription",
                              metadata={"is_final": True})) == [
        Transcript(Speaker.MODEL, "Yes.", True, TextKind.TRANSCRIPTION)]


@pytest.mark.parametrize("mimetype", ["audio/pcm;rate=24000", "audio/l16;rate=24000", "audio/pcm; rate=24000"])
def test_decodes_audio_with_the_rate_from_the_mimetype(codec, mimetype):
    (event,) = codec.decode(frame(part={"inline_data": {"data": b64(b"\0\1" * 4), "mime_type": mimetype}},
                                  mimetype=mimetype))
    assert event == Audio(b"\0\1" * 4, 24000)


def test_audio_rate_falls_back_to_the_inline_mime_type_then_24k(codec):
    (event,) = codec.decode(frame(part={"inline_data": {"data": b64(b"\0\0"), "mime_type": "audio/pcm;rate=44100"}}))
    assert event.rate == 44100
    (event,) = codec.decode(frame(part={"inline_data": {"data": b64(b"\0\0"), "mime_type": "audio/pcm"}}))
    assert event.rate == 24000


def test_unusable_rate_and_odd_bytes_are_reported_not_raised(codec):
    (error,) = codec.decode(frame(part={"inline_data": {"data": b64(b"\0\0"), "mime_type": "audio/pcm;rate=7"}}))
    assert isinstance(error, ProtocolError) and "rate" in error.message
    audio, error = codec.decode(frame(part={"inline_data": {"data": b64(b"\0\0\0"), "mime_type": "audio/pcm"}}))
    assert audio == Audio(b"\0\0", 24000) and isinstance(error, ProtocolError)


def test_decodes_state_and_control_parts(codec):
    assert codec.decode(frame(part={"text": ""}, mimetype="application/x-state",
                              metadata={"generation_complete": True})) == [TurnComplete()]
    assert codec.decode(frame(mimetype="application/x-state", metadata={"interrupted": True})) == [Interrupted()]
    assert codec.decode(frame(part={"text": ""}, mimetype="text/plain", metadata={"health_check": True})) == [Health()]
    assert codec.decode(frame(mimetype="application/x-state", metadata={"error": "bad key"})) == [
        ServerError("bad key")]
    assert codec.decode(frame(mimetype="application/x-state", metadata={"notice": "resumed"})) == [
        Notice("resumed")]
    assert codec.decode(frame(part={"text": ""}, metadata={"turn_complete": True})) == [TurnComplete()]
    (update,) = codec.decode(frame(part={"text": ""}, metadata={"go_away": {"time_left": "12s"}}))
    assert update == SessionUpdate(going_away=True, time_left=12.0)
    (update,) = codec.decode(frame(part={"text": ""}, metadata={
        "session_resumption_update": {"new_handle": "h1", "resumable": True}}))
    assert update.resumption_handle == "h1" and not update.going_away
    (update,) = codec.decode(frame(part={"text": ""}, metadata={"usage_metadata": {"total_token_count": 3}}))
    assert update.usage == {"total_token_count": 3}


def test_control_parts_are_never_shown_as_text(codec):
    events = codec.decode(frame(part={"text": ""}, metadata={"turn_complete": True, "usage_metadata": {}}))
    assert not any(isinstance(e, Transcript) for e in events)


def test_unknown_fields_are_ignored(codec):
    assert codec.decode(frame(part={"text": "ok", "thought": True}, role="model", extra=1)) == [
        Transcript(Speaker.MODEL, "ok")]
    assert codec.decode(frame(part={"inline_data": {"data": b64(b"\xff"), "mime_type": "image/png"}})) == []


@pytest.mark.parametrize("bad", ["", "{", "[]", "null", b"\x80\x81", '{"part": 1}',
                                 '{"part": {"inline_data": {"data": "!!", "mime_type": "audio/pcm"}}}'])
def test_malformed_frames_become_protocol_errors(codec, bad):
    (event,) = codec.decode(bad)
    assert isinstance(event, ProtocolError) and event.message.startswith("Malformed live_server frame")


def _is_json_object(candidate: str | bytes) -> bool:
    try:
        return isinstance(json.loads(candidate), dict)
    except (ValueError, RecursionError):
        return False


def test_decode_never_raises_on_random_input(codec):
    """Anything that is not a JSON object is one "Malformed" error; anything else decodes to events,
    never to an internal error."""
    rng = random.Random(1234)
    samples = [frame(part={"text": "x"}, metadata={"is_final": False})]
    alphabet = '{}[]":,0123456789abcdefnulltrue partmetadatainline_datamime_type'
    malformed = decoded = 0
    for _ in range(2000):
        if rng.random() < 0.5:
            candidate = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        else:
            base = rng.choice(samples)
            cut = rng.randint(0, len(base))
            candidate = base[:cut] + rng.choice(alphabet) + base[cut + 1:]
        for value in (candidate, bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 40)))):
            events = codec.decode(value)
            assert all(isinstance(event, Event) for event in events)
            assert not any(isinstance(e, ProtocolError) and e.message.startswith("Internal error") for e in events)
            if not _is_json_object(value):
                (event,) = events
                assert isinstance(event, ProtocolError), value
                assert event.message.startswith("Malformed live_server frame") and len(event.excerpt) <= 130
                malformed += 1
            else:
                decoded += 1
    assert malformed and decoded  # both paths were exercised


@pytest.mark.parametrize("bad", [
    '{"part": {"inline_data": {"data": "AAAA", "mime_type": 5}}}',
    '{"part": {"inline_data": {"data": "AAAA", "mime_type": "audio/pcm;rate=' + "9" * 5000 + '"}}}',
])
def test_fuzz_found_frames_are_protocol_errors(codec, bad):
    (event,) = codec.decode(bad)
    assert isinstance(event, ProtocolError)
