"""Soak (c): 100,000 seeded, mutated frames into every codec's ``decode()``, which must never raise.

A ``ProtocolError`` that starts "Internal error" means a codec's catch-all caught an exception: counted apart, and
a failure too (as in ``tests/protocols/test_codec_fuzz.py``).

Mutations start from frames each protocol's servers really send and stack one to three of: replace a JSON node by
a random value, delete or add a key, swap a value's type, flip/delete/insert/duplicate bytes, truncate, switch
between text and binary frames, nest deeply, or replace the whole frame by random bytes or random JSON.
"""

from __future__ import annotations

import base64
import json
import random
import time
from collections.abc import Callable
from typing import Any

import pytest

from desktop.parts import Part
from desktop.protocols import BUILTIN, get
from desktop.protocols.base import Codec
from desktop.protocols.events import Event, ProtocolError
from desktop.protocols.live_server import serialize_part
from desktop.protocols.plugin import adapt

from ._support import brief, table

pytestmark = pytest.mark.soak

FRAMES = 100_000
SEED = 20_240_611
EXAMPLES_SHOWN = 3

PCM = b"\x01\x02" * 480
B64 = base64.b64encode(PCM).decode("ascii")
B64URL = base64.urlsafe_b64encode(PCM).decode("ascii").rstrip("=")


def live_server_frames() -> list[str]:
    parts = [
        Part.audio(PCM, 24000), Part.model_text("hello"), Part.transcription("hel", user=False, final=False),
        Part.transcription("what I said", user=True, final=True), Part.generation_complete(), Part.interrupted(),
        Part.health_check(), Part.error("the model is tired"),
        Part.control(go_away={"time_left": "5s"}, session_resumption_update={"new_handle": "h1", "resumable": True},
                     usage_metadata={"total_token_count": 12}),
        Part.control(turn_complete=True),
    ]
    return [serialize_part(p) for p in parts]


def adk_frames() -> list[str]:
    return [json.dumps(m) for m in (
        {"mime_type": "audio/pcm", "data": B64},
        {"mime_type": "audio/pcm;rate=24000", "data": B64},
        {"mime_type": "text/plain", "data": "hello", "partial": True},
        {"mime_type": "text/plain", "data": "hello", "is_transcript": True},
        {"turn_complete": True, "interrupted": None},
        {"turn_complete": None, "interrupted": True},
        {"error": "boom"},
    )]


def adk_bidi_frames() -> list[str]:
    head = {"id": "6d1c", "invocationId": "e-1", "author": "agent", "timestamp": 1.7e9,
            "actions": {"stateDelta": {}, "artifactDelta": {}, "requestedAuthConfigs": {}}}
    return [json.dumps({**head, **m}) for m in (
        {"content": {"role": "model", "parts": [{"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": B64URL}}]}},
        {"content": {"role": "model", "parts": [{"text": "hel"}]}, "partial": True},
        {"content": {"role": "model", "parts": [{"text": "hello"}, {"inlineData": {"mimeType": "audio/pcm",
                                                                                  "data": B64}}]}},
        {"inputTranscription": {"text": "what I said", "finished": True}, "partial": False},
        {"outputTranscription": {"text": "hel", "finished": False}, "partial": True},
        {"turnComplete": True, "usageMetadata": {"totalTokenCount": 12}},
        {"interrupted": True},
        {"errorCode": "RESOURCE_EXHAUSTED", "errorMessage": "quota"},
    )]


def ai_proxy_core_frames() -> list[str]:
    return [json.dumps(m) for m in (
        {"type": "system", "data": "Connected to Gemini Live"},
        {"type": "config_success", "message": "ok", "client_id": "c", "ip": "127.0.0.1"},
        {"type": "response", "text": "hello"},
        {"type": "audio", "data": B64, "format": "pcm16", "sampleRate": 24000},
        {"type": "error", "data": "boom"},
    )]


def byo_codec() -> Codec | None:
    try:
        from tests.plugin_example.vd_plugin_example import EchoJsonProtocol
    except ImportError:
        return None
    return adapt("echo_json", EchoJsonProtocol)()


CORPUS: dict[str, Callable[[], list[str]]] = {
    "live_server": live_server_frames,
    "adk": adk_frames,
    "adk_bidi": adk_bidi_frames,
    "ai_proxy_core": ai_proxy_core_frames,
}

# -- mutations ----------------------------------------------------------------------------------------------

KEYS = ["part", "inline_data", "inlineData", "data", "mime_type", "mimeType", "mimetype", "metadata", "text",
        "role", "substream_name", "type", "content", "parts", "partial", "turnComplete", "turn_complete",
        "interrupted", "error", "errorCode", "errorMessage", "sampleRate", "format", "is_transcript",
        "inputTranscription", "outputTranscription", "finished", "is_final", "go_away", "time_left",
        "session_resumption_update", "new_handle", "usage_metadata", "health_check", "generation_complete"]
STRINGS = ["", "audio/pcm", "audio/pcm;rate=24000", "audio/pcm;rate=0", "audio/pcm;rate=-1", "audio/pcm;rate=abc",
           "audio/pcm;rate=" + "9" * 5000, "audio/l16;rate=1e9", "audio/webm", "text/plain", "application/x-state",
           "image/png", "model", "user", "output_transcription", "input_transcription", "audio", "response",
           "system", "error", "pcm16", "5s", "xs", "AAAA", "AAA", "A", "-_-_", "====", "\u00e9\u20ac\U0001f600",
           "\x00", "\ud800", B64[:7], B64URL, "9" * 5000]


def random_value(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randrange(11 if depth < 4 else 7)
    if choice == 0:
        return None
    if choice == 1:
        return rng.choice([True, False])
    if choice == 2:
        return rng.choice([0, 1, -1, 2, 16000, 24000, 24000.0, 24000.5, 10**30, -(10**30), 1e308, float("inf"),
                           float("nan"), 0.5])
    if choice in (3, 4):
        return rng.choice(STRINGS)
    if choice == 5:
        return base64.b64encode(rng.randbytes(rng.randrange(17))).decode()
    if choice == 6:
        return "".join(chr(rng.randrange(0x20, 0x3000)) for _ in range(rng.randrange(12)))
    if choice in (7, 8):
        return {rng.choice(KEYS): random_value(rng, depth + 1) for _ in range(rng.randrange(5))}
    return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]


def mutate_node(rng: random.Random, value: Any) -> Any:
    """Replace, delete or add one node somewhere in a JSON value."""
    if isinstance(value, dict) and value and rng.random() < 0.75:
        key = rng.choice(list(value))
        roll = rng.random()
        if roll < 0.15:
            return {k: v for k, v in value.items() if k != key}
        if roll < 0.25:
            return {**value, rng.choice(KEYS): random_value(rng)}
        return {**value, key: mutate_node(rng, value[key])}
    if isinstance(value, list) and value and rng.random() < 0.75:
        index = rng.randrange(len(value))
        return [*value[:index], mutate_node(rng, value[index]), *value[index + 1:]]
    if rng.random() < 0.2:  # same content, another type
        return rng.choice([[value], {"value": value}, str(value), None])
    return random_value(rng)


def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return rng.randbytes(rng.randrange(1, 32))
    at = rng.randrange(len(data))
    span = rng.randrange(1, 9)
    roll = rng.randrange(6)
    if roll == 0:  # flip a byte
        return data[:at] + bytes([data[at] ^ (1 << rng.randrange(8))]) + data[at + 1:]
    if roll == 1:  # delete a span
        return data[:at] + data[at + span:]
    if roll == 2:  # insert random bytes
        return data[:at] + rng.randbytes(span) + data[at:]
    if roll == 3:  # duplicate a span
        return data[:at] + data[at:at + span] * rng.randrange(2, 5) + data[at:]
    if roll == 4:  # truncate
        return data[:at]
    return data[:at] + bytes([rng.choice(b'{}[]":,\\0-eE.')]) + data[at + 1:]  # a structural character


def deep(rng: random.Random) -> str:
    depth = rng.choice([100, 1000, 100_000])
    if rng.random() < 0.5:
        return "[" * depth + "]" * depth
    return '{"part":' * depth + "{}" + "}" * depth


def mutated_frame(rng: random.Random, seeds: list[str]) -> str | bytes:
    roll = rng.random()
    if roll < 0.03:
        return rng.randbytes(rng.randrange(64))
    if roll < 0.06:
        return json.dumps(random_value(rng))
    if roll < 0.065:
        return deep(rng)
    frame: str | bytes = rng.choice(seeds)
    for _ in range(rng.randrange(1, 4)):
        if isinstance(frame, str) and rng.random() < 0.6:
            try:
                frame = json.dumps(mutate_node(rng, json.loads(frame)))
                continue
            except (ValueError, RecursionError):
                pass
        raw = mutate_bytes(rng, frame.encode("utf-8", "surrogatepass") if isinstance(frame, str) else frame)
        frame = raw.decode("utf-8", "replace") if rng.random() < 0.7 else raw
    if rng.random() < 0.05:
        frame = frame.encode("utf-8", "surrogatepass") if isinstance(frame, str) else frame.decode("latin-1")
    return frame


# -- the run ------------------------------------------------------------------------------------------------


def fuzz(codec: Codec, seeds: list[str], rng: random.Random) -> dict[str, Any]:
    counts = {"frames": 0, "ProtocolError": 0, "other events only": 0, "no event": 0, "raised": 0,
              "internal error": 0, "bad return": 0}
    examples: list[str] = []
    started = time.perf_counter()
    for _ in range(FRAMES):
        frame = mutated_frame(rng, seeds)
        counts["frames"] += 1
        try:
            events = codec.decode(frame)
        except Exception as exc:  # the bug this run exists to find
            counts["raised"] += 1
            if len(examples) < EXAMPLES_SHOWN:
                examples.append(f"{type(exc).__name__}: {exc} <- {brief(frame)}")
            continue
        if not isinstance(events, list) or not all(isinstance(e, Event) for e in events):
            counts["bad return"] += 1
            if len(examples) < EXAMPLES_SHOWN:
                examples.append(f"returned {events!r} <- {brief(frame)}")
        elif any(isinstance(e, ProtocolError) and e.message.startswith("Internal error") for e in events):
            counts["internal error"] += 1  # decode()'s safety net caught an exception: a bug all the same
            if len(examples) < EXAMPLES_SHOWN:
                examples.append(f"{next(e.message for e in events if isinstance(e, ProtocolError))} <- {brief(frame)}")
        elif any(isinstance(e, ProtocolError) for e in events):
            counts["ProtocolError"] += 1
        elif events:
            counts["other events only"] += 1
        else:
            counts["no event"] += 1
    counts["seconds"] = time.perf_counter() - started
    counts["examples"] = examples
    return counts


def test_every_codec_survives_mutated_frames():
    codecs: dict[str, tuple[Codec, list[str]]] = {name: (get(name)({}), CORPUS[name]()) for name in BUILTIN}
    byo = byo_codec()
    if byo is not None:  # the README's bring-your-own example, through the plugin adapter
        codecs["byo (echo_json)"] = (byo, [json.dumps({"audio": B64}), json.dumps({"text": "hi"}), "{}"])
    results = {}
    for index, (name, (codec, seeds)) in enumerate(codecs.items()):
        for seed in seeds:  # the corpus itself must decode cleanly, or the mutations start from nonsense
            assert not any(isinstance(e, ProtocolError) for e in codec.decode(seed)), (name, seed)
        results[name] = fuzz(codec, seeds, random.Random(SEED + index))
    columns = ["frames", "ProtocolError", "other events only", "no event", "raised", "internal error", "bad return"]
    print()
    print(table(["codec", *columns, "seconds"], [[name, *(r[c] for c in columns), r["seconds"]]
                                                 for name, r in results.items()],
                title=f"(c) decode() fuzz: {FRAMES:,} mutated frames per codec, seed {SEED}"))
    failures = {name: r for name, r in results.items() if r["raised"] or r["internal error"] or r["bad return"]}
    for name, r in failures.items():
        print(f"  {name}: {r['raised']} raised, {r['internal error']} internal errors, {r['bad return']} bad returns, "
              "e.g.")
        for example in r["examples"]:
            print(f"    {example}")
    assert not failures, f"decode() raised, hit its internal-error net or returned non-events: {', '.join(failures)}"
