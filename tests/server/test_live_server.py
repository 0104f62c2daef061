"""The embedded server over real 127.0.0.1 sockets, talked to with a plain websockets client."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from desktop.parts import Part
from desktop.processors import get_factory
from desktop.server import LiveServer

TIMEOUT = 5


async def recv_json(ws) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))


async def recv_until(ws, predicate) -> list[dict]:
    """Collect frames until one satisfies ``predicate`` (inclusive)."""
    frames = []
    while True:
        frame = await recv_json(ws)
        frames.append(frame)
        if predicate(frame):
            return frames


def is_generation_complete(frame: dict) -> bool:
    return frame.get("metadata", {}).get("generation_complete") is True


@pytest.fixture
async def echo_server():
    async with LiveServer(get_factory("echo")) as server:
        yield server


async def test_refuses_missing_and_wrong_token_with_401(echo_server):
    base = echo_server.url.split("?")[0]
    for url in (base, base + "?token=wrong"):
        with pytest.raises(InvalidStatus) as caught:
            async with connect(url):
                pass
        assert caught.value.response.status_code == 401


async def test_the_token_may_come_as_a_bearer_header_instead_of_in_the_url(echo_server):
    base = echo_server.url.split("?")[0]
    async with connect(base, additional_headers={"Authorization": f"Bearer {echo_server.token}"}) as ws:
        assert (await recv_json(ws))["metadata"] == {"health_check": True}
    for wrong in ("Bearer wrong", f"Basic {echo_server.token}", "Bearer "):
        with pytest.raises(InvalidStatus) as caught:
            async with connect(base, additional_headers={"Authorization": wrong}):
                pass
        assert caught.value.response.status_code == 401


async def test_binds_loopback_with_a_fresh_token_each_launch():
    async with LiveServer(get_factory("echo")) as one, LiveServer(get_factory("echo")) as two:
        assert one.host == "127.0.0.1"
        assert one.token and two.token and one.token != two.token
        assert one.token not in one.public_url


async def test_health_check_on_connect(echo_server):
    async with connect(echo_server.url) as ws:
        frame = await recv_json(ws)
    assert frame["metadata"] == {"health_check": True}
    assert frame["part"] == {"text": ""}


async def test_browser_origin_not_allowed_gets_403():
    async with LiveServer(get_factory("echo"), allowed_origins=["https://ok.example"]) as server:
        with pytest.raises(InvalidStatus) as caught:
            async with connect(server.url, origin="https://evil.example"):
                pass
        assert caught.value.response.status_code == 403
        async with connect(server.url, origin="https://ok.example") as ws:
            assert (await recv_json(ws))["metadata"]["health_check"]


async def test_no_auth_accepts_stock_clients(caplog):
    async with LiveServer(get_factory("echo"), require_token=False) as server:
        assert "token" not in server.url
        async with connect(server.url) as ws:
            assert (await recv_json(ws))["metadata"]["health_check"]
    assert "AUTHENTICATION IS OFF" in caplog.text


async def test_text_turn_is_echoed_once_as_text_then_generation_complete(echo_server):
    async with connect(echo_server.url) as ws:
        await recv_json(ws)  # health
        await ws.send(json.dumps({"part": {"text": "hello"}, "role": "user"}))
        frames = await recv_until(ws, is_generation_complete)
    text, done = frames  # once: a client that renders every text part shows it once
    assert text["part"] == {"text": "hello"} and text["role"] == "model" and text["substream_name"] == ""
    assert done == {"part": {"text": ""}, "role": "model", "substream_name": "",
                    "mimetype": "application/x-state", "metadata": {"generation_complete": True}}


def tone(rate: int, seconds: float, freq: float = 440.0) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return (np.sin(2 * np.pi * freq * t) * 12000).astype("<i2").tobytes()


def audio_frame(pcm: bytes, rate: int = 16000) -> str:
    mimetype = f"audio/pcm;rate={rate}"
    return json.dumps({"part": {"inline_data": {"data": base64.b64encode(pcm).decode(), "mime_type": mimetype}},
                       "role": "user", "substream_name": "realtime", "mimetype": mimetype})


async def test_audio_comes_back_at_24k_and_mic_off_ends_the_turn(echo_server):
    pcm = tone(16000, 0.5)
    async with connect(echo_server.url) as ws:
        await recv_json(ws)
        for offset in range(0, len(pcm), 640):
            await ws.send(audio_frame(pcm[offset:offset + 640]))
        await ws.send(json.dumps({"mimetype": "application/x-state", "metadata": {"mic": "off"}}))
        frames = await recv_until(ws, is_generation_complete)
    audio = [f for f in frames if "inline_data" in f["part"]]
    assert audio and all(f["mimetype"] == "audio/pcm;rate=24000" for f in audio)
    received = b"".join(base64.b64decode(f["part"]["inline_data"]["data"]) for f in audio)
    assert abs(len(received) / 2 / 24000 - 0.5) < 0.02  # the same duration, at the new rate
    spectrum = np.abs(np.fft.rfft(np.frombuffer(received, "<i2")))
    assert abs(np.argmax(spectrum) * 24000 / (len(received) // 2) - 440) < 5


async def test_legacy_mic_off_without_mimetype_also_ends_the_turn(echo_server):
    async with connect(echo_server.url) as ws:
        await recv_json(ws)
        await ws.send(audio_frame(tone(16000, 0.1)))
        await ws.send(json.dumps({"metadata": {"mic": "off"}}))
        frames = await recv_until(ws, is_generation_complete)
    assert frames[-1]["mimetype"] == "application/x-state"


class RecordingFactory:
    """Builds echo processors and remembers every config it was called with."""

    def __init__(self):
        self.configs: list[dict] = []

    def __call__(self, config):
        self.configs.append(dict(config))
        return get_factory("echo")(config)


@pytest.mark.parametrize("reset", [
    {"mimetype": "application/x-command", "metadata": {"command": "reset"}},
    {"metadata": {"reset": True}},
])
async def test_config_and_both_reset_forms_restart_the_processor(reset):
    factory = RecordingFactory()
    async with LiveServer(factory) as server, connect(server.url) as ws:
        await recv_json(ws)
        await ws.send(json.dumps({"mimetype": "application/x-config", "metadata": {"voice": "Puck"}}))
        assert (await recv_json(ws))["metadata"] == {"health_check": True}
        await ws.send(json.dumps(reset))
        assert (await recv_json(ws))["metadata"] == {"health_check": True}
        await ws.send(json.dumps({"part": {"text": "still here"}}))
        frames = await recv_until(ws, is_generation_complete)
    assert factory.configs == [{}, {"voice": "Puck"}, {"voice": "Puck"}]
    assert frames[0]["part"]["text"] == "still here"


@pytest.mark.parametrize("bad", [
    "not json",
    "[1, 2]",
    json.dumps({"part": {"inline_data": {"data": "***", "mime_type": "audio/pcm;rate=16000"}}}),
    json.dumps({"part": "text"}),
    json.dumps({"part": {"inline_data": {"data": "AAAA", "mime_type": "audio/pcm;rate=1"}},
                "mimetype": "audio/pcm;rate=1"}),
    json.dumps({"mimetype": "application/x-command", "metadata": {"command": "explode"}}),
    b"\xff\xfe binary junk",
])
async def test_malformed_frames_get_an_error_part_and_the_connection_stays(echo_server, bad):
    async with connect(echo_server.url) as ws:
        await recv_json(ws)
        await ws.send(bad)
        error = await recv_json(ws)
        assert error["mimetype"] == "application/x-state"
        assert error["metadata"]["error"].startswith("Malformed frame ignored")
        await ws.send(json.dumps({"part": {"text": "after"}, "role": "user"}))
        frames = await recv_until(ws, is_generation_complete)
    assert frames[0]["part"]["text"] == "after"


async def test_frames_over_max_size_close_the_connection_with_1009():
    async with LiveServer(get_factory("echo"), max_size=64 * 1024) as server, connect(server.url) as ws:
        await recv_json(ws)
        await ws.send(audio_frame(b"\0" * 128 * 1024))
        with pytest.raises(ConnectionClosed):
            while True:
                await recv_json(ws)
        assert ws.close_code == 1009


class ExplodingFactory:
    """Processors that shout the text back and raise on "boom"; remembers every config it built with."""

    def __init__(self):
        self.calls: list[dict] = []

    def __call__(self, config):
        self.calls.append(config)

        async def processor(parts):
            async for part in parts:
                if part.text == "boom":
                    raise RuntimeError("exploded on purpose")
                yield Part.model_text(part.text.upper())
                yield Part.generation_complete()
        return processor


async def test_a_failing_processor_reports_an_error_and_restarts_with_the_next_input():
    factory = ExplodingFactory()
    async with LiveServer(factory) as server, connect(server.url) as ws:
        await recv_json(ws)
        await ws.send(json.dumps({"part": {"text": "boom"}}))
        error = await recv_json(ws)
        assert "exploded on purpose" in error["metadata"]["error"]
        await ws.send(json.dumps({"part": {"text": "again"}}))
        frames = await recv_until(ws, is_generation_complete)
    assert frames[0]["metadata"] == {"health_check": True}
    assert frames[1]["part"]["text"] == "AGAIN"
    assert len(factory.calls) == 2


async def test_close_ends_open_sessions(echo_server):
    async with connect(echo_server.url) as ws:
        await recv_json(ws)
        await echo_server.close()
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), TIMEOUT)
    assert ws.close_code == 1001


def test_cli_prints_the_url_first_and_exits_0_on_sigterm():
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "desktop.server.cli", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("ws://127.0.0.1:") and "?token=" in url

        async def talk():
            async with connect(url) as ws:
                return json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))

        assert asyncio.run(talk())["metadata"]["health_check"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait()


def test_cli_no_auth_is_logged_loudly():
    proc = subprocess.Popen([sys.executable, "-m", "desktop.server.cli", "--no-auth"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert "token" not in url
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
        assert "AUTHENTICATION IS OFF" in err
        assert proc.returncode == 0
    finally:
        proc.kill()


async def test_debug_logs_never_show_the_token_or_secret_headers(caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    async with LiveServer(get_factory("echo")) as server:
        async with connect(server.url, additional_headers={"Authorization": "Bearer hunter2"}) as ws:
            await recv_json(ws)
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "GET /?token=***" in text  # the handshake was logged...
    assert server.token not in text and "hunter2" not in text  # ...without the secrets


async def test_inputs_queued_behind_a_processor_failure_are_not_lost():
    async with LiveServer(ExplodingFactory()) as server, connect(server.url) as ws:
        await recv_json(ws)
        await ws.send(json.dumps({"part": {"text": "boom"}}))
        await ws.send(json.dumps({"part": {"text": "hello"}}))  # already queued when the processor dies
        frames = await recv_until(ws, is_generation_complete)
    assert any("exploded" in f["metadata"].get("error", "") for f in frames)
    assert frames[-2]["part"]["text"] == "HELLO"


@pytest.mark.parametrize("bad", [
    json.dumps({"part": {"inline_data": {"data": "AAAA", "mime_type": 5}}}),
    json.dumps({"part": {"inline_data": {"data": "AAAA", "mime_type": "audio/pcm;rate=" + "9" * 5000}}}),
    json.dumps({"part": {"inline_data": {"data": "AAA=", "mime_type": "audio/pcm;rate=16000"}}}),  # 2 bytes ok
    json.dumps({"part": {"inline_data": {"data": "AA==", "mime_type": "audio/pcm;rate=16000"}}}),  # 1 byte
])
async def test_fuzz_found_frames_never_cost_the_connection(echo_server, bad):
    async with connect(echo_server.url) as ws:
        await recv_json(ws)
        await ws.send(bad)
        await ws.send(json.dumps({"part": {"text": "still"}, "role": "user"}))
        frames = await recv_until(ws, is_generation_complete)
    assert any(f["part"].get("text") == "still" for f in frames)
