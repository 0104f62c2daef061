"""decode() never raises: random bytes, random JSON and mutated real frames, for every codec here."""

from __future__ import annotations

import base64
import json
import random
from typing import Any

import pytest

from desktop.protocols.adk import AdkCodec
from desktop.protocols.adk_bidi import AdkBidiCodec
from desktop.protocols.ai_proxy_core import AiProxyCoreCodec
from desktop.protocols.base import Codec
from desktop.protocols.events import Event, ProtocolError
from desktop.protocols.live_server import LiveServerCodec
from desktop.protocols.plugin import adapt

ROUNDS = 1500

KEYS = ["mime_type", "mimeType", "data", "type", "text", "partial", "is_transcript", "turn_complete",
        "turnComplete", "interrupted", "content", "parts", "inlineData", "inline_data", "role",
        "inputTranscription", "outputTranscription", "finished", "usageMetadata", "errorCode",
        "errorMessage", "sampleRate", "format", "message", "error", "audio", "thought",
        "part", "metadata", "mimetype", "substream_name", "mime_type", "is_final", "generation_complete",
        "health_check", "go_away", "time_left", "session_resumption_update", "new_handle", "usage_metadata"]
STRINGS = ["", "text/plain", "audio/pcm", "audio/pcm;rate=24000", "audio/pcm;rate=", "audio/pcm;rate=-5",
           "audio/l16;rate=1e9", "image/png", "user", "model", "system", "audio", "response", "error",
           "config_success", "AAAA", "AAA", "A", "-_-_", "////", "=", "\u00e9\u20ac", "\x00", "pcm16", "webm"]


def random_value(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randrange(10 if depth < 4 else 6)
    if choice == 0:
        return None
    if choice == 1:
        return rng.choice([True, False])
    if choice == 2:
        return rng.choice([0, 1, -1, 16000, 24000, 10**30, 0.5, 24000.0, float("inf")])
    if choice in (3, 4):
        return rng.choice(STRINGS)
    if choice == 5:
        return base64.b64encode(rng.randbytes(rng.randrange(9))).decode()
    if choice in (6, 7):
        return {rng.choice(KEYS): random_value(rng, depth + 1) for _ in range(rng.randrange(5))}
    return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]


def example_frames() -> list[dict]:
    audio = base64.b64encode(b"\x01\x02" * 8).decode()
    return [
        {"mime_type": "audio/pcm", "data": audio},
        {"mime_type": "text/plain", "data": "hi", "is_transcript": True, "partial": True},
        {"turn_complete": True, "interrupted": None},
        {"content": {"role": "model", "parts": [{"inlineData": {"mimeType": "audio/pcm;rate=24000",
                                                                "data": audio}}, {"text": "x"}]},
         "partial": True, "inputTranscription": {"text": "a", "finished": False},
         "outputTranscription": {"text": "b", "finished": True}, "usageMetadata": {"totalTokenCount": 1},
         "turnComplete": True, "interrupted": True, "errorCode": "E", "errorMessage": "m"},
        {"type": "audio", "data": audio, "format": "pcm16", "sampleRate": 24000},
        {"type": "response", "text": "hello"},
        {"type": "system", "data": "Connected"},
        {"type": "error", "data": "boom"},
        {"audio": audio},
        {"part": {"inline_data": {"data": audio, "mime_type": "audio/pcm;rate=24000"}}, "role": "model",
         "substream_name": "", "mimetype": "audio/pcm;rate=24000", "metadata": {}},
        {"part": {"text": "hi"}, "role": "model", "substream_name": "output_transcription",
         "mimetype": "text/plain", "metadata": {"is_final": False}},
        {"part": {"text": ""}, "mimetype": "application/x-state",
         "metadata": {"generation_complete": True, "interrupted": True, "go_away": {"time_left": "5s"},
                      "session_resumption_update": {"new_handle": "h"}, "usage_metadata": {}}},
    ]


def mutate(rng: random.Random, value: Any) -> Any:
    """Replace one random node of a JSON value by a random value."""
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = rng.choice(list(value))
        return {**value, key: mutate(rng, value[key])}
    if isinstance(value, list) and value and rng.random() < 0.8:
        index = rng.randrange(len(value))
        return [*value[:index], mutate(rng, value[index]), *value[index + 1:]]
    return random_value(rng)


@pytest.fixture(params=["live_server", "adk", "adk_bidi", "ai_proxy_core", "byo"])
def codec(request) -> Codec:
    if request.param == "byo":
        from tests.plugin_example.vd_plugin_example import EchoJsonProtocol

        return adapt("echo_json", EchoJsonProtocol)()
    return {"live_server": LiveServerCodec, "adk": AdkCodec, "adk_bidi": AdkBidiCodec,
            "ai_proxy_core": AiProxyCoreCodec}[request.param]()


def check(codec: Codec, frame: str | bytes) -> None:
    events = codec.decode(frame)
    assert isinstance(events, list)
    for event in events:
        assert isinstance(event, Event)
        if isinstance(event, ProtocolError):
            assert not event.message.startswith("Internal error"), (event, frame)
            assert len(event.excerpt) <= 130


def test_random_bytes(codec):
    rng = random.Random(1)
    for _ in range(ROUNDS):
        frame = rng.randbytes(rng.randrange(64))
        check(codec, frame)
        check(codec, frame.decode("latin-1"))


def test_random_json(codec):
    rng = random.Random(2)
    for _ in range(ROUNDS):
        check(codec, json.dumps(random_value(rng)))


def test_mutated_examples(codec):
    rng = random.Random(3)
    examples = example_frames()
    for _ in range(ROUNDS):
        frame = json.dumps(mutate(rng, rng.choice(examples)))
        check(codec, frame if rng.random() < 0.8 else frame.encode())


def test_truncated_examples(codec):
    for example in example_frames():
        frame = json.dumps(example)
        for end in range(len(frame)):
            check(codec, frame[:end])
