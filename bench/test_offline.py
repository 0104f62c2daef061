"""(f) The offline assistant: end of user speech -> first reply audio, model load time and memory.

Through the real client (:class:`Session`) and the embedded LiveServer running ``--processor local``, on one
event loop as in the app. The question is espeak-ng saying "What time is it?" (a skill answer), sent at real
time. "Mic off" is push-to-talk: the end of speech is the release. "VAD" sends trailing silence instead, so the
time includes the silence the VAD waits for before it ends the utterance. Figures only, no thresholds.
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
from tests.soak._support import stats_ms, table

from ._live import open_session

pytestmark = pytest.mark.bench

TURNS = 8
CHUNK = 640  # 20 ms at 16 kHz
QUESTION = "What time is it?"

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


def question_pcm() -> bytes:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "question.wav"
        subprocess.run(["espeak-ng", "-s", "150", "-w", str(path), QUESTION], check=True)
        pcm, _ = read_wav_pcm16(path, 16000)
    return pcm


async def send_paced(session, pcm: bytes) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    for index, offset in enumerate(range(0, len(pcm), CHUNK)):
        session.send_audio(pcm[offset:offset + CHUNK])
        await asyncio.sleep(max(0.0, start + (index + 1) * 0.02 - loop.time()))


async def first_audio_after(recorder, start) -> float:
    """``await start()``, then seconds from its return to the first reply audio; waits for the turn to end."""
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
        took = await asyncio.wait_for(arrived, 60) - began
        await asyncio.wait_for(ended.wait(), 60)
        await asyncio.sleep(0.3)  # the second turn-end part, and the reply's tail
        return took
    finally:
        recorder.listeners.remove(listener)


def test_model_load_time_and_memory():
    runs = [json.loads(subprocess.run([sys.executable, "-c", LOAD_SCRIPT], capture_output=True, text=True,
                                      check=True, timeout=300).stdout.splitlines()[-1]) for _ in range(3)]
    rows = [[i + 1, f"{r['seconds']:.2f}", f"{r['VmRSS']:.0f}", f"{r['VmHWM']:.0f}", len(r["failures"])]
            for i, r in enumerate(runs)]
    print()
    print(table(["fresh process", "import + load s", "RSS MB", "peak RSS MB", "failures"], rows,
                title="(f) Offline speech models (VAD + Whisper tiny.en + Piper joe), loaded in a fresh process, "
                      "warm-up runs included."))


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
            for name, s in ((name, {**stats_ms(v), "p90": sorted(v)[int(0.9 * (len(v) - 1))] * 1000})
                            for name, v in results.items())]
    print()
    print(table(["end of the question", "n", "median ms", "p90 ms", "max ms"], rows,
                title=f"(f) Offline assistant: end of user speech -> first reply audio, skill answer "
                      f"({QUESTION!r} -> the time), Session <-> embedded LiveServer, one event loop."))
