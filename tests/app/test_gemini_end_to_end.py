"""The whole Gemini path: voice-desktop-talk or the window -> embedded server -> google-genai (the real SDK)
-> a local double of the Live API on 127.0.0.1, pointed at only through the environment."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import wave

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.app.test_window_end_to_end import until
from tests.gemini_double import DEFAULT_KEY, GeminiDouble

TIMEOUT = 60


async def start_server(env: dict[str, str]) -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "desktop.server.cli", "--processor", "gemini",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, env=env)
    url = (await asyncio.wait_for(proc.stdout.readline(), TIMEOUT)).decode().strip()
    return proc, url


async def talk(*argv: str, env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "desktop.talk", *argv, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=env)
    out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    return proc.returncode, out.decode(), err.decode()


def write_speech_wav(path) -> None:
    t = np.arange(16000) / 16000
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes((np.sin(2 * np.pi * 220 * t) * 8000).astype("<i2").tobytes())


@pytest.fixture
def gemini_env(tmp_path):
    """The environment a user would set: the double's base URL, its certificate, a key."""
    def make(double: GeminiDouble, key: str = DEFAULT_KEY) -> dict[str, str]:
        return {**os.environ, **double.environ(), "GEMINI_API_KEY": key}
    return make


async def test_talk_through_server_gemini_returns_audio_and_both_transcripts(gemini_env, tmp_path):
    wav_in, wav_out = tmp_path / "question.wav", tmp_path / "reply.wav"
    write_speech_wav(wav_in)
    async with GeminiDouble() as double:
        env = gemini_env(double)
        server, url = await start_server(env)
        try:
            code, out, err = await talk("--url", url, "--wav", str(wav_in), "--out", str(wav_out), "--json",
                                        "--fast", env=env)
        finally:
            server.terminate()
            assert await server.wait() == 0
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    said = [e for e in events if e["type"] == "transcript" and e["speaker"] == "user"]
    heard = [e for e in events if e["type"] == "transcript" and e["speaker"] == "model"]
    assert "".join(e["text"] for e in said) == double.user_transcript
    assert "".join(e["text"] for e in heard if e["final"]).strip()
    assert all(e["kind"] == "transcription" for e in said + heard)
    with wave.open(str(wav_out)) as wav:
        assert wav.getframerate() == 24000 and wav.getnframes() > 0
    assert double.audio_mime_types == {"audio/pcm;rate=16000"}
    assert double.audio_stream_ends == 1


async def test_a_go_away_mid_conversation_is_survived_with_the_resumption_handle(gemini_env, tmp_path):
    wav_in = tmp_path / "q.wav"
    write_speech_wav(wav_in)
    async with GeminiDouble() as double:
        double.go_away_after_turns = 1
        env = gemini_env(double)
        server, url = await start_server(env)
        try:
            code, out, err = await talk("--url", url, "--text", "first question", "--wav", str(wav_in),
                                        "--fast", env=env)
        finally:
            server.terminate()
            await server.wait()
    assert code == 0, err
    assert double.go_aways_sent == 1 and len(double.setups) == 2
    handle = double.issued_handles[0]
    assert json.dumps(double.setups[1]).count(handle) == 1  # the second session resumed the first
    lines = out.splitlines()
    assert lines[0] == "you: first question"
    assert lines[1] == f"assistant: {double.reply_for('first question')}"
    assert any(line.startswith("assistant:") for line in lines[2:])


async def test_talk_with_a_rejected_key_fails_with_the_servers_words(gemini_env):
    async with GeminiDouble() as double:
        env = gemini_env(double, key="wrong-key")
        server, url = await start_server(env)
        try:
            code, _out, err = await talk("--url", url, "--text", "hello", env=env)
        finally:
            server.terminate()
            await server.wait()
    assert code == 1
    assert "API key" in err and err.count("\n") == 1


def test_a_rejected_key_shows_a_clear_message_in_the_window(make_app, qloop, monkeypatch):
    double = GeminiDouble()
    qloop.run_until_complete(double.start())
    for name, value in double.environ().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GEMINI_API_KEY", "not-the-right-key")
    app = make_app("--no-audio")  # no processor named: a key exists, so Gemini is the default

    async def scenario():
        app.window.show()
        await app.controller.apply(app._endpoint)
        await until(lambda: app.controller.session.connected)
        QTest.keyClicks(app.window.input, "hello")
        QTest.keyClick(app.window.input, Qt.Key.Key_Return)
        await until(lambda: app.window.banner.isVisible(), timeout=TIMEOUT)
        # The app stays usable: the window is open and the connection to the embedded server stands.
        assert app.controller.session.connected and app.window.isVisible()

    try:
        qloop.run_until_complete(scenario())
        message = app.window.banner.text()
        processor = app._endpoint.processor
    finally:
        qloop.run_until_complete(app.shutdown())
        qloop.run_until_complete(double.close())
    assert processor == "gemini"
    assert "API key" in message and "Traceback" not in message
