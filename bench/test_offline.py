"""(f) The offline assistant: end of user speech -> first reply audio, model load time and memory.

Through the real client (:class:`Session`) and the embedded LiveServer running ``--processor local``, on one
event loop as in the app. The question is espeak-ng saying "What time is it?" (a skill answer), sent at real
time. "Mic off" is push-to-talk: the end of speech is the release. "VAD" sends trailing silence instead, so the
time includes the silence the VAD waits for before it ends the utterance. The LLM answer is the same path with
``llm_url`` pointing at a real llama.cpp server on SmolLM2-135M (tests/llm_server.py), asked open questions;
each reply is stopped after its first audio (a typed "stop") so the run does not wait for whole essays.
Figures only, no thresholds.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from desktop.audio.wavio import read_wav_pcm16
from desktop.processors import get_factory
from desktop.processors.local import models
from desktop.protocols.events import Audio, TurnComplete
from desktop.server import LiveServer
from tests.llm_server import start_smollm2
from tests.soak._support import percentile, stats_ms, table

from . import _results
from ._live import open_session

pytestmark = pytest.mark.bench

TURNS = 8
CHUNK = 640  # 20 ms at 16 kHz
QUESTION = "What time is it?"
LLM_TURNS = 6
LLM_QUESTIONS = ("Why is the sky blue?", "How do bees make honey?", "What is a good name for a cat?")

LOAD_SCRIPT = """
import json, os, time
started = time.perf_counter()
from desktop.processors.local import models
loaded = models.load_sync()
seconds = time.perf_counter() - started
with open("/proc/self/status") as f:
    rss = {k: int(v.split()[0]) / 1024 for k, v in (line.split(":", 1) for line in f) if k in ("VmRSS", "VmHWM")}
print(json.dumps({"seconds": seconds, "failures": loaded.failures, **rss}))
"""


def question_pcm(question: str = QUESTION) -> bytes:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "question.wav"
        subprocess.run(["espeak-ng", "-s", "150", "-w", str(path), question], check=True)
        pcm, _ = read_wav_pcm16(path, 16000)
    return pcm


async def send_paced(session, pcm: bytes) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    for index, offset in enumerate(range(0, len(pcm), CHUNK)):
        session.send_audio(pcm[offset:offset + CHUNK])
        await asyncio.sleep(max(0.0, start + (index + 1) * 0.02 - loop.time()))


async def first_audio_after(recorder, start, *, then_stop=None, first_timeout: float = 60) -> float:
    """``await start()``, then seconds from its return to the first reply audio; waits for the turn to end.

    With ``then_stop`` (the session), says "stop" at the first audio instead of hearing a long reply out.
    """
    loop = asyncio.get_running_loop()
    arrived: asyncio.Future[float] = loop.create_future()
    ended = asyncio.Event()

    def listener(event) -> None:
        if isinstance(event, Audio) and not arrived.done():
            arrived.set_result(time.perf_counter())
        elif isinstance(event, TurnComplete) and arrived.done():
            ended.set()

    recorder.listeners.append(listener)
    try:
        began = await start()
        took = await asyncio.wait_for(arrived, first_timeout) - began
        if then_stop is not None:
            then_stop.send_text("stop")
        await asyncio.wait_for(ended.wait(), 60)
        await asyncio.sleep(0.5 if then_stop is not None else 0.3)  # the second turn-end part, the reply's tail
        return took
    finally:
        recorder.listeners.remove(listener)


def percentiles(seconds: list[float]) -> dict[str, float]:
    """n, median, p90 and max in ms."""
    return {**stats_ms(seconds), "p90": percentile(seconds, 90) * 1000}


async def first_audio_then_stop(session, recorder, start) -> float:
    """Like :func:`first_audio_after`, but says "stop" at the first audio instead of hearing a long reply out."""
    return await first_audio_after(recorder, start, then_stop=session, first_timeout=180)


def process_memory_mb(pid: int) -> dict[str, float]:
    with open(f"/proc/{pid}/status") as f:
        return {k: int(v.split()[0]) / 1024 for k, v in (line.split(":", 1) for line in f) if k in ("VmRSS", "VmHWM")}


def test_model_load_time_and_memory():
    runs = [json.loads(subprocess.run([sys.executable, "-c", LOAD_SCRIPT], capture_output=True, text=True,
                                      check=True, timeout=300).stdout.splitlines()[-1]) for _ in range(3)]
    rows = [[i + 1, f"{r['seconds']:.2f}", f"{r['VmRSS']:.0f}", f"{r['VmHWM']:.0f}", len(r["failures"])]
            for i, r in enumerate(runs)]
    print()
    print(table(["fresh process", "import + load s", "RSS MB", "peak RSS MB", "failures"], rows,
                title="(f) Offline speech models (VAD + Whisper tiny.en + Piper joe), loaded in a fresh process, "
                      "warm-up runs included."))
    _results.record("offline", "speech models: import + load in a fresh process, median",
                    sorted(r["seconds"] for r in runs)[1], "s")
    _results.record("offline", "speech models: peak RSS", max(r["VmHWM"] for r in runs), "MB")


async def test_end_of_speech_to_first_reply_audio():
    loaded = await models.preload()
    assert loaded.message is None, loaded.message
    pcm = question_pcm()
    results: dict[str, list[float]] = {"mic off (push-to-talk)": [], "VAD (1 s trailing silence)": [],
                                       "typed turn": []}
    async with LiveServer(get_factory("local"), config={"timezone": "UTC"}) as server:
        session, recorder = await open_session(server.url)
        try:
            async def push_to_talk() -> float:
                session.activity_start()
                await send_paced(session, pcm)
                session.audio_end()
                return time.perf_counter()

            async def vad() -> float:
                session.activity_start()
                await send_paced(session, pcm)
                ended = time.perf_counter()
                await send_paced(session, bytes(32000))
                return ended

            async def typed() -> float:
                session.send_text(QUESTION)
                return time.perf_counter()

            await first_audio_after(recorder, push_to_talk)  # warm-up turn
            for _ in range(TURNS):
                for name, start in zip(results, (push_to_talk, vad, typed), strict=True):
                    results[name].append(await first_audio_after(recorder, start))
                session.audio_end()  # close the VAD turn's mic session
                await asyncio.sleep(0.3)
        finally:
            await session.close()
    rows = [[name, s["n"], f"{s['median']:.0f}", f"{s['p90']:.0f}", f"{s['max']:.0f}"]
            for name, s in ((name, percentiles(v)) for name, v in results.items())]
    ptt = percentiles(results["mic off (push-to-talk)"])
    _results.record("offline", "end of speech -> first audio, skill answer, PTT, median", ptt["median"], "ms",
                    "<= 700 ms", ptt["median"] <= 700)
    _results.record("offline", "end of speech -> first audio, skill answer, PTT, p90", ptt["p90"], "ms")
    print()
    print(table(["end of the question", "n", "median ms", "p90 ms", "max ms"], rows,
                title=f"(f) Offline assistant: end of user speech -> first reply audio, skill answer "
                      f"({QUESTION!r} -> the time), Session <-> embedded LiveServer, one event loop."))


async def test_end_of_speech_to_first_reply_audio_llm_answer(tmp_path):
    loaded = await models.preload()
    assert loaded.message is None, loaded.message
    pcms = [question_pcm(q) for q in LLM_QUESTIONS]
    started = time.perf_counter()
    llm = await asyncio.to_thread(start_smollm2, tmp_path)  # process start -> the server lists its model
    load_seconds = time.perf_counter() - started
    results: list[float] = []
    try:
        async with LiveServer(get_factory("local"), config={"timezone": "UTC", "llm_url": llm.url}) as server:
            session, recorder = await open_session(server.url)
            try:
                def push_to_talk(pcm: bytes):
                    async def start() -> float:
                        session.activity_start()
                        await send_paced(session, pcm)
                        session.audio_end()
                        return time.perf_counter()
                    return start

                await first_audio_then_stop(session, recorder, push_to_talk(pcms[0]))  # warm-up turn
                for turn in range(LLM_TURNS):
                    results.append(await first_audio_then_stop(session, recorder,
                                                               push_to_talk(pcms[turn % len(pcms)])))
            finally:
                await session.close()
        memory = process_memory_mb(llm.process.pid)
    finally:
        llm.stop()
    s = percentiles(results)
    print()
    print(table(["end of the question", "n", "median ms", "p90 ms", "max ms"],
                [["mic off (push-to-talk)", s["n"], f"{s['median']:.0f}", f"{s['p90']:.0f}", f"{s['max']:.0f}"]],
                title="(f) Offline assistant: end of user speech -> first reply audio, LLM answer (open questions "
                      "-> llama.cpp server, SmolLM2-135M, 1 thread), Session <-> embedded LiveServer."))
    print(table(["local model server", "start -> serving s", "RSS MB", "peak RSS MB"],
                [["llama_cpp.server, SmolLM2-135M Q4_1", f"{load_seconds:.2f}", f"{memory['VmRSS']:.0f}",
                  f"{memory['VmHWM']:.0f}"]],
                title="(f) The local model server used for the LLM figures (its own process)."))
    _results.record("offline", "end of speech -> first audio, LLM answer, PTT, median", s["median"], "ms")
    _results.record("offline", "end of speech -> first audio, LLM answer, PTT, p90", s["p90"], "ms")
    _results.record("offline", "SmolLM2-135M server: start -> serving", load_seconds, "s")
    _results.record("offline", "SmolLM2-135M server: peak RSS", memory["VmHWM"], "MB")
