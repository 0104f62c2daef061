"""The whole path a user takes: voice-desktop-talk (a real client, in its own process) speaks a WAV to the
embedded server running the offline processor, and hears the answer."""

from __future__ import annotations

import asyncio
import json
import sys

from websockets.asyncio.client import connect

from desktop.audio.wavio import read_wav_pcm16
from desktop.processors import get_factory
from desktop.server import LiveServer

from .conftest import words
from .turns import hour_heard, hour_named, utc_now


async def run_talk(*argv: str, timeout: float = 120) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "desktop.talk", *argv,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode or 0, stdout.decode(), stderr.decode()


async def test_talk_asks_what_time_it_is_and_hears_the_hour(offline_models, speech_wav, tmp_path):
    reply_wav = tmp_path / "reply.wav"
    async with LiveServer(get_factory("local")) as server:
        before = utc_now()
        status, stdout, stderr = await run_talk(
            "--url", server.url, "--config", "timezone=UTC", "--wav", str(speech_wav("What time is it?")),
            "--out", str(reply_wav))
    assert status == 0, stderr
    you, assistant = stdout.splitlines()
    assert you.startswith("you: ") and words(you[5:]) == "what time is it"
    assert assistant.startswith("assistant: ") and hour_named(assistant, (before, utc_now())), assistant

    # What was *heard* names the hour too: the reply audio, transcribed back.
    pcm, _ = read_wav_pcm16(reply_wav, 16000)
    heard_back = await asyncio.to_thread(offline_models.transcriber.transcribe, pcm)
    assert hour_heard(heard_back, (before, utc_now())), heard_back


async def test_a_reset_mid_reply_stops_it_and_a_fresh_processor_answers(offline_models, caplog):
    async with LiveServer(get_factory("local")) as server, connect(server.url) as ws:
        async def until(predicate) -> list[dict]:
            frames: list[dict] = []
            async with asyncio.timeout(90):
                while not frames or not predicate(frames[-1]):
                    frames.append(json.loads(await ws.recv()))
            return frames

        await ws.send(json.dumps({"part": {"text": "tell me a long story about the sea"}, "role": "user"}))
        await until(lambda f: "inline_data" in f["part"])
        await ws.send(json.dumps({"mimetype": "application/x-command", "metadata": {"command": "reset"}}))
        await until(lambda f: f["metadata"].get("health_check"))  # the new run has started
        await ws.send(json.dumps({"part": {"text": "what is twenty three times seventeen"}, "role": "user"}))
        frames = await until(lambda f: f["metadata"].get("turn_complete"))
    said = "".join(f["part"].get("text", "") for f in frames if f["mimetype"] == "text/plain")
    assert "391" in said and "sea" not in said
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
