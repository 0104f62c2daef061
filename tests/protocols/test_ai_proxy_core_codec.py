"""The ai-proxy-core codec on the frames of protocols.md §4, no sockets."""

from __future__ import annotations

import base64
import json

import pytest

from desktop import protocols
from desktop.protocols.ai_proxy_core import DEFAULT_TURN_IDLE_GAP, AiProxyCoreCodec
from desktop.protocols.events import Audio, Notice, ProtocolError, ServerError, Speaker, TextKind, Transcript

PCM = b"\x01\x02" * 120


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.fixture
def codec() -> AiProxyCoreCodec:
    return AiProxyCoreCodec()


def test_registered_with_accurate_info():
    assert protocols.get("ai_proxy_core") is AiProxyCoreCodec
    info = AiProxyCoreCodec.info
    assert (info.name, info.send_rate, info.receive_rate) == ("ai_proxy_core", 16000, 24000)
    assert not info.has_turn_events and not info.has_interruption and not info.has_reset
    assert info.turn_idle_gap == DEFAULT_TURN_IDLE_GAP == 1.5


def test_url(codec):
    assert codec.url("ws://127.0.0.1:8000") == "ws://127.0.0.1:8000/api/gemini/ws"
    assert codec.url("ws://host/custom/ws") == "ws://host/custom/ws"


def test_turn_idle_gap_is_configurable_per_instance():
    codec = AiProxyCoreCodec({"turn_idle_gap": "0.4"})
    assert codec.info.turn_idle_gap == 0.4
    assert AiProxyCoreCodec.info.turn_idle_gap == 1.5  # the class (and other sessions) unchanged
    assert codec.info.name == "ai_proxy_core"


@pytest.mark.parametrize("bad", [0, -1, "soon", float("nan"), True, [1]])
def test_bad_turn_idle_gap_is_refused(bad):
    with pytest.raises(ValueError, match="turn_idle_gap"):
        AiProxyCoreCodec({"turn_idle_gap": bad})


def test_open_sends_config_without_codec_keys():
    assert AiProxyCoreCodec().open() == []
    assert AiProxyCoreCodec({"turn_idle_gap": 2}).open() == []
    [frame] = AiProxyCoreCodec({"app": "voice-desktop", "turn_idle_gap": 2}).open()
    assert json.loads(frame) == {"type": "config", "data": {"app": "voice-desktop"}}


def test_encode(codec):
    [frame] = codec.encode_text("hi")
    assert json.loads(frame) == {"type": "message", "data": {"text": "hi"}}
    [frame] = codec.encode_audio(PCM)
    assert json.loads(frame) == {"type": "audio", "data": b64(PCM)}
    assert codec.encode_audio(b"") == []
    assert codec.encode_audio_end() == codec.encode_activity_start() == codec.encode_reset() == []


@pytest.mark.parametrize(("message", "expected"), [
    ({"type": "system", "data": "Connected to Gemini Live"}, [Notice("Connected to Gemini Live")]),
    ({"type": "config_success", "message": "Configuration acknowledged", "client_id": "1.2.3.4", "ip": None},
     [Notice("Configuration acknowledged")]),
    ({"type": "config_success"}, [Notice("Configuration acknowledged")]),
    ({"type": "response", "text": "Hello"}, [Transcript(Speaker.MODEL, "Hello", True, TextKind.TEXT)]),
    ({"type": "response", "text": ""}, []),
    ({"type": "error", "data": "No API key configured"}, [ServerError("No API key configured")]),
    ({"type": "error"}, [ServerError("The server reported an error.")]),
    ({"type": "audio", "data": b64(PCM), "format": "pcm16", "sampleRate": 24000}, [Audio(PCM, 24000)]),
    ({"type": "audio", "data": b64(PCM)}, [Audio(PCM, 24000)]),
    ({"type": "audio", "data": b64(PCM), "sampleRate": 16000}, [Audio(PCM, 16000)]),
    ({"type": "audio", "data": {"data": b64(PCM), "format": "pcm16"}}, [Audio(PCM, 24000)]),
    ({"type": "usage", "tokens": 4}, []),  # a newer type: ignored
])
def test_decode(codec, message, expected):
    assert codec.decode(json.dumps(message)) == expected


@pytest.mark.parametrize(("frame", "needle"), [
    ("]", "not valid JSON"),
    ('"system"', "expected an object"),
    ('{"data": "x"}', "no string 'type'"),
    ('{"type": 3}', "no string 'type'"),
    ('{"type": "response", "text": 5}', "should be a string"),
    ('{"type": "audio", "data": "%%%%"}', "not valid base64"),
    ('{"type": "audio"}', "base64 string"),
    ('{"type": "audio", "data": "AAAA", "sampleRate": 0}', "unusable sampleRate"),
    ('{"type": "audio", "data": "AAAA", "sampleRate": "fast"}', "unusable sampleRate"),
    ('{"type": "audio", "data": "AAAA", "format": "webm"}', "unsupported audio format"),
])
def test_malformed(codec, frame, needle):
    [event] = codec.decode(frame)
    assert isinstance(event, ProtocolError)
    assert needle in event.message and event.excerpt


def test_odd_audio_keeps_whole_samples(codec):
    events = codec.decode(json.dumps({"type": "audio", "data": b64(PCM + b"\x09")}))
    assert events[0] == Audio(PCM, 24000) and isinstance(events[1], ProtocolError)
