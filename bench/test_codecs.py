"""(a) Codec throughput: encode 20 ms 16 kHz chunks and decode 20 ms 24 kHz audio frames, every built-in codec."""

from __future__ import annotations

import base64
import json
import time
import uuid

import pytest

from desktop.parts import Part
from desktop.protocols import BUILTIN, get
from desktop.protocols.events import Audio
from desktop.protocols.live_server import serialize_part
from tests.soak._support import CHUNK_SECONDS, chunk_16k, table

from ._timing import measure

pytestmark = pytest.mark.bench

PCM_16K = chunk_16k()  # 20 ms, 640 bytes: what capture hands the session 50 times a second
PCM_24K = (PCM_16K * 2)[:960]  # 20 ms at 24 kHz, 960 bytes: one reply chunk


def downstream_audio_frame(protocol: str, pcm: bytes) -> str:
    """A 24 kHz audio frame as each protocol's server sends it (shapes as in tests/servers/)."""
    b64 = base64.b64encode(pcm).decode("ascii")
    if protocol == "live_server":
        return serialize_part(Part.audio(pcm, 24000))
    if protocol == "adk":
        return json.dumps({"mime_type": "audio/pcm", "data": b64})
    if protocol == "adk_bidi":
        return json.dumps({
            "id": str(uuid.uuid4()), "invocationId": "e-" + uuid.uuid4().hex, "author": "echo_agent",
            "actions": {"stateDelta": {}, "artifactDelta": {}, "requestedAuthConfigs": {}},
            "timestamp": time.time(),
            "content": {"role": "model", "parts": [{"inlineData": {
                "mimeType": "audio/pcm;rate=24000", "data": base64.urlsafe_b64encode(pcm).decode("ascii")}}]},
        })
    if protocol == "ai_proxy_core":
        return json.dumps({"type": "audio", "data": b64, "format": "pcm16", "sampleRate": 24000})
    raise AssertionError(f"no frame shape for {protocol}")


def test_codec_throughput():
    rows = []
    results: dict[str, tuple] = {}
    for name in BUILTIN:
        codec = get(name)({})
        frame = downstream_audio_frame(name, PCM_24K)
        decoded = codec.decode(frame)
        assert decoded == [Audio(PCM_24K, 24000)], (name, decoded)  # we time the real path, not an error path
        assert codec.encode_audio(PCM_16K), name
        encode = measure(lambda codec=codec: codec.encode_audio(PCM_16K))
        decode = measure(lambda codec=codec, frame=frame: codec.decode(frame))
        up = codec.encode_audio(PCM_16K)[0]
        results[name] = (encode, decode, len(up), len(frame))
    base_encode, base_decode = results["live_server"][0], results["live_server"][1]
    for name, (encode, decode, up_bytes, down_bytes) in results.items():
        rows.append([
            name,
            up_bytes, encode.per_second, f"{encode.per_second / base_encode.per_second:.2f}x",
            encode.per_cpu_second * CHUNK_SECONDS,
            down_bytes, decode.per_second, f"{decode.per_second / base_decode.per_second:.2f}x",
            decode.per_cpu_second * CHUNK_SECONDS,
        ])
    print()
    print(table(
        ["protocol", "up frame B", "encode/s", "vs live_server", "encode x real time",
         "down frame B", "decode/s", "vs live_server", "decode x real time"],
        rows,
        title="(a) Codec throughput, one core: encode_audio(20 ms @ 16 kHz) and decode(20 ms @ 24 kHz audio frame).\n"
              "    frames/s = best of 5 batches; 'x real time' = seconds of audio per CPU second "
              "(1 stream needs 50 frames/s each way).",
    ))
