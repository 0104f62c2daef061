"""Open questions answered by a REAL local model server (llama.cpp's server on SmolLM2-135M) through the whole path:
the embedded LiveServer running the offline processor, over a real WebSocket, and voice-desktop-talk in its own
process.

SmolLM2 is tiny: what it says is not checked, only what the pipeline guarantees — the model's words (not the
fallback) come back once, as the transcription of a spoken turn or as model text of a typed one, with speech;
a barge-in closes the model's stream; the first sentence is spoken while the model is still writing.
"""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from websockets.asyncio.client import connect

from desktop.processors import get_factory
from desktop.server import LiveServer
from tests.assistant.test_llm import established_connections_to

from .conftest import words
from .llm_relay import HoldingRelay
from .test_end_to_end import run_talk
from .turns import hour_named, utc_now

WAIT = 300.0  # seconds: the model and the speech models share 2 cores with other work; never a performance assert
# No skill answers this (without a model it gets the fallback); SmolLM2 answers it in a sentence or two, and the
# reply is played at real time, so a short one keeps the whole-turn tests short.
OPEN_QUESTION = "Please say hello to me."
LONG_QUESTION = "Write a very long essay about the history of Rome."
FALLBACK_MARKS = ("I heard:", "local model server", "I can only answer")


def answered_by_the_model(text: str) -> bool:
    return any(ch.isalpha() for ch in text) and not any(mark in text for mark in FALLBACK_MARKS)


def audio_frames(pcm: bytes) -> list[dict]:
    return [{"part": {"inline_data": {"data": base64.b64encode(pcm[i:i + 640]).decode(),
                                      "mime_type": "audio/pcm;rate=16000"}},
             "role": "user", "substream_name": "realtime", "mimetype": "audio/pcm;rate=16000"}
            for i in range(0, len(pcm), 640)]


MIC_OFF = {"mimetype": "application/x-state", "metadata": {"mic": "off"}}


def typed(text: str) -> dict:
    return {"part": {"text": text}, "role": "user"}


def texts(frames: list[dict], substream: str = "") -> list[str]:
    """The texts on ``substream``; tentative transcripts (sent while the user speaks, when affordable) left out."""
    return [f["part"]["text"] for f in frames if f.get("substream_name", "") == substream
            and f.get("mimetype") == "text/plain" and f["part"].get("text")
            and f.get("metadata", {}).get("is_final") is not False]


def is_audio(frame: dict) -> bool:
    return "inline_data" in frame.get("part", {})


def errors(frames: list[dict]) -> list[str]:
    return [str(f["metadata"]["error"]) for f in frames if f.get("metadata", {}).get("error")]


class Client:
    """A live_server client on a real WebSocket: send frames, read until a frame matches."""

    def __init__(self, ws) -> None:
        self.ws = ws

    async def send(self, *frames: dict) -> None:
        for frame in frames:
            await self.ws.send(json.dumps(frame))

    async def until(self, predicate, timeout: float = WAIT) -> list[dict]:
        frames: list[dict] = []
        async with asyncio.timeout(timeout):
            while not frames or not predicate(frames[-1]):
                frames.append(json.loads(await self.ws.recv()))
        return frames

    async def turn(self, *frames: dict) -> list[dict]:
        await self.send(*frames)
        return await self.until(lambda f: f.get("metadata", {}).get("turn_complete"))


@pytest.fixture
async def client(offline_models, llm_server):
    config = {"llm_url": llm_server.url, "timezone": "UTC"}
    async with LiveServer(get_factory("local"), config=config) as server, connect(server.url) as ws:
        yield Client(ws)


async def test_a_spoken_open_question_is_answered_by_the_model_in_words_and_speech(client, say):
    frames = await client.turn(*audio_frames(say(OPEN_QUESTION)), MIC_OFF)
    assert words("".join(texts(frames, "input_transcription"))) == words(OPEN_QUESTION)
    said = "".join(texts(frames, "output_transcription"))
    assert answered_by_the_model(said), said
    assert texts(frames) == []  # a spoken reply's words go out once, as its transcription
    assert any(is_audio(f) for f in frames) and errors(frames) == []


async def test_a_typed_open_question_is_answered_by_the_model_as_model_text(client):
    frames = await client.turn(typed(OPEN_QUESTION))
    said = "".join(texts(frames))
    assert answered_by_the_model(said), said
    assert texts(frames, "output_transcription") == []
    assert any(is_audio(f) for f in frames) and errors(frames) == []


async def test_talk_asks_the_model_an_open_question_and_hears_an_answer(offline_models, llm_server, speech_wav,
                                                                        tmp_path):
    reply_wav = tmp_path / "reply.wav"
    async with LiveServer(get_factory("local")) as server:  # the model's address comes from the client's config
        status, stdout, stderr = await run_talk(
            "--url", server.url, "--config", f"llm_url={llm_server.url}", "--wav", str(speech_wav(OPEN_QUESTION)),
            "--out", str(reply_wav), "--timeout", str(WAIT), timeout=WAIT + 30)
    assert status == 0, stderr
    you, assistant = stdout.splitlines()
    assert you.startswith("you: ") and words(you[5:]) == words(OPEN_QUESTION)
    assert assistant.startswith("assistant: ") and answered_by_the_model(assistant[11:]), assistant
    assert reply_wav.stat().st_size > 44 + 24000  # more than half a second of the answer spoken


@pytest.fixture
async def held(offline_models, llm_server):
    """A LiveServer whose model answers through a :class:`HoldingRelay` (held after the first sentence)."""
    async with HoldingRelay(llm_server.port) as relay:
        config = {"llm_url": relay.url, "timezone": "UTC"}
        async with LiveServer(get_factory("local"), config=config) as server, connect(server.url) as ws:
            yield Client(ws), relay


async def test_the_first_sentence_is_spoken_while_the_model_is_still_writing(held):
    client, relay = held
    await client.send(typed(LONG_QUESTION))
    first = await client.until(is_audio)
    # The first audio came while the model's stream was open and held after one sentence: it was not
    # waiting for the whole reply.
    assert relay.held.is_set() and not relay.done_forwarded.is_set()
    assert len(texts(first)) == 1 and answered_by_the_model(texts(first)[0])
    relay.release()
    # The later sentences, said after the release: a second one's words, then its audio.
    rest = await client.until(lambda f: f.get("mimetype") == "text/plain" and bool(f["part"].get("text")))
    rest += await client.until(is_audio)
    await asyncio.wait_for(relay.done_forwarded.wait(), WAIT)
    assert not relay.closed_mid_reply.is_set()  # the model was heard to its end, not cut off
    rest += await client.turn(typed("stop"))  # no need to hear the whole essay
    assert errors(first + rest) == []


async def test_speech_barging_in_on_a_long_model_reply_closes_the_models_stream(held, say, llm_server):
    client, relay = held
    await client.send(typed(LONG_QUESTION))
    await client.until(is_audio)
    assert relay.held.is_set() and not relay.closed_mid_reply.is_set()
    before = utc_now()
    frames = await client.turn(*audio_frames(say("What time is it?")), MIC_OFF)

    interrupted = next(i for i, f in enumerate(frames) if f.get("metadata", {}).get("interrupted"))
    heard = next(i for i, f in enumerate(frames) if f.get("substream_name") == "input_transcription")
    assert interrupted < heard
    # The generation was cancelled: the pipeline closed the model's HTTP stream before its end…
    await asyncio.wait_for(relay.closed_mid_reply.wait(), WAIT)
    assert not relay.done_forwarded.is_set()
    # …nothing more of the essay was said, and the new question got its answer.
    assert texts(frames) == [] and hour_named("".join(texts(frames, "output_transcription")), (before, utc_now()))
    async with asyncio.timeout(WAIT):
        while established_connections_to(relay.port) or established_connections_to(llm_server.port):
            await asyncio.sleep(0.05)
    relay.release()
    # The model server is free for the next open question at once.
    await client.send(typed(OPEN_QUESTION))
    after = await client.until(is_audio)
    assert answered_by_the_model("".join(texts(after))), texts(after)
    await client.turn(typed("stop"))
