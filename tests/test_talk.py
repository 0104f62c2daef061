"""voice-desktop-talk as people testing their servers use it: exit codes, one-line errors, outputs."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import wave

import numpy as np
import pytest

from desktop import talk
from desktop.parts import Part
from desktop.processors import get_factory
from desktop.server import LiveServer


@pytest.fixture
def server_process():
    proc = subprocess.Popen([sys.executable, "-m", "desktop.server.cli", "--processor", "echo"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = proc.stdout.readline().strip()
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def run_talk(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "desktop.talk", *argv], capture_output=True, text=True,
                          timeout=60)


def test_typed_turn_prints_the_transcript_and_exits_0(server_process):
    result = run_talk("--url", server_process, "--text", "hello")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["you: hello", "assistant: hello"]


def test_spoken_turn_writes_the_reply_at_its_own_rate(server_process, tmp_path):
    wav_in, wav_out = tmp_path / "in.wav", tmp_path / "reply.wav"
    t = np.arange(22050) / 22050
    with wave.open(str(wav_in), "wb") as wav:
        wav.setnchannels(2)  # stereo 22.05 kHz in: mixed down and resampled to 16 kHz mono on the way
        wav.setsampwidth(2)
        wav.setframerate(22050)
        stereo = np.repeat((np.sin(2 * np.pi * 300 * t) * 8000).astype("<i2"), 2)
        wav.writeframes(stereo.tobytes())
    result = run_talk("--url", server_process, "--wav", str(wav_in), "--out", str(wav_out), "--json", "--fast")
    assert result.returncode == 0, result.stderr
    kinds = [json.loads(line)["type"] for line in result.stdout.splitlines()]
    assert "audio" in kinds and kinds[-1] == "turn_complete"
    with wave.open(str(wav_out)) as wav:
        assert wav.getframerate() == 24000
        assert abs(wav.getnframes() / 24000 - 1.0) < 0.05


def test_refused_token_is_one_clear_line_and_exit_1(server_process):
    result = run_talk("--url", server_process.split("?")[0] + "?token=wrong", "--text", "hi")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "HTTP 401" in result.stderr


def test_unreachable_server_exit_1():
    result = run_talk("--url", "ws://127.0.0.1:1", "--text", "hi")
    assert result.returncode == 1 and "refused" in result.stderr.lower()


def test_bad_wav_exit_2(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF....WAVEjunk")
    result = run_talk("--url", "ws://127.0.0.1:1", "--wav", str(bad))
    assert result.returncode == 2 and "bad WAV" in result.stderr and result.stderr.count("\n") == 1


def test_nothing_to_say_and_unknown_protocol_exit_2():
    assert run_talk("--url", "ws://127.0.0.1:1").returncode == 2
    result = run_talk("--url", "ws://127.0.0.1:1", "--text", "x", "--protocol", "nope")
    assert result.returncode == 2 and "Unknown protocol 'nope'" in result.stderr


async def test_a_turn_that_never_ends_times_out_with_exit_3():
    def silent(config):
        async def processor(parts):
            async for _ in parts:
                if False:
                    yield
        return processor

    async with LiveServer(silent) as server:
        args = talk.build_parser().parse_args(["--url", server.url, "--text", "hi", "--timeout", "0.5"])
        with pytest.raises(talk.TalkFailed) as caught:
            await talk.run(args, io.StringIO())
    assert caught.value.status == 3 and "timed out" in str(caught.value)


async def test_server_vanishing_mid_turn_is_a_failure_not_a_hang():
    server = LiveServer(get_factory("echo"))

    def dying(config):
        async def processor(parts):
            async for _ in parts:
                await server.close()
                if False:
                    yield
        return processor

    server.factory = dying
    async with server:
        args = talk.build_parser().parse_args(["--url", server.url, "--text", "hi", "--timeout", "10"])
        with pytest.raises(talk.TalkFailed) as caught:
            await talk.run(args, io.StringIO())
    assert caught.value.status == 1 and "connection lost" in str(caught.value)


async def test_reply_cut_off_by_the_server_vanishing_is_not_a_completed_turn():
    server = LiveServer(get_factory("echo"))

    def half_reply(config):
        async def processor(parts):
            async for _ in parts:
                yield Part.model_text("partial answer")
                await asyncio.sleep(0.2)
                await server.close()
        return processor

    server.factory = half_reply
    async with server:
        args = talk.build_parser().parse_args(["--url", server.url, "--text", "hi", "--timeout", "10"])
        with pytest.raises(talk.TalkFailed) as caught:
            await talk.run(args, io.StringIO())
    assert caught.value.status == 1 and "connection lost" in str(caught.value)
