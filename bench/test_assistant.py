"""The offline assistant's reply brain: skill reply latency, and a real local model's time to first sentence.

Skills: ``respond(heard)`` until the last sentence, per phrase (the pipeline adds STT before and TTS after).
LLM: llama.cpp's server on SmolLM2-135M-Instruct, 1 thread (tests/llm_server.py): time to the first sentence
(what the voice waits for) and to the whole reply, plus the server's start time. Figures only, no asserts on time.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from desktop.assistant import Assistant
from tests.llm_server import start_smollm2
from tests.soak._support import percentile, table

pytestmark = pytest.mark.bench

PHRASES = {
    "time": "what time is it",
    "time in a city": "what's the time in Tokyo",
    "date": "what's the date",
    "arithmetic": "what is twenty three times seventeen",
    "units": "convert 5 km to miles",
    "timer": "set a timer for 5 minutes for tea",
    "repeat": "repeat that",
    "fallback (no model)": "who wrote Hamlet",
}
RUNS = 200
LLM_QUESTIONS = ["What is the capital of France?", "Tell me about the moon.", "Why is the sky blue?",
                 "Give me a tip for sleeping well.", "What is a good name for a cat?"]
LLM_ROUNDS = 2


async def _timed(assistant: Assistant, heard: str) -> tuple[float, float]:
    """(seconds to the first sentence, seconds to the last)."""
    start = time.perf_counter()
    reply = await assistant.respond(heard)
    first = None
    async for _ in reply.sentences:
        if first is None:
            first = time.perf_counter() - start
    return (first if first is not None else time.perf_counter() - start), time.perf_counter() - start


def test_assistant_import_and_construction_time():
    start = time.perf_counter()
    assistant = Assistant()
    asyncio.run(assistant.respond("what time is it in Sydney"))  # builds the city table on first use
    took = time.perf_counter() - start
    asyncio.run(assistant.aclose())
    print(f"\nOffline assistant: construction + first city lookup {took * 1e3:.1f} ms")


async def test_skill_reply_latency():
    assistant = Assistant({"timezone": "UTC"})
    rows = []
    try:
        for name, heard in PHRASES.items():
            times = [(await _timed(assistant, heard))[1] for _ in range(RUNS)]
            rows.append([name, heard, RUNS, percentile(times, 50) * 1e6, percentile(times, 90) * 1e6,
                         max(times) * 1e6])
            await assistant.respond("cancel all timers")
    finally:
        await assistant.aclose()
    print()
    print(table(["skill", "heard", "n", "median µs", "p90 µs", "max µs"], rows,
                title="Offline assistant: respond() to the last sentence, per skill (one event loop, no I/O)."))


async def test_llm_time_to_first_sentence(tmp_path):
    start = time.perf_counter()
    server = start_smollm2(tmp_path)
    started = time.perf_counter() - start
    figures: dict[str, tuple[list[float], list[float]]] = {"no context": ([], []), "with context": ([], [])}
    conversation = Assistant({"llm_url": server.url})  # keeps a rolling context of the last turns
    try:
        await _timed(conversation, "Hello.")  # the first request loads the weights into the page cache
        for question in LLM_QUESTIONS * LLM_ROUNDS:  # one conversation, as in use: the server reuses its prefix
            first, total = await _timed(conversation, question)
            figures["with context"][0].append(first)
            figures["with context"][1].append(total)
        for question in LLM_QUESTIONS * LLM_ROUNDS:
            fresh = Assistant({"llm_url": server.url})
            try:
                first, total = await _timed(fresh, question)
            finally:
                await fresh.aclose()
            figures["no context"][0].append(first)
            figures["no context"][1].append(total)
    finally:
        await conversation.aclose()
        server.stop()
    rows = []
    for key, (firsts, totals) in figures.items():
        rows.append([f"first sentence, {key}", len(firsts), percentile(firsts, 50) * 1e3,
                     percentile(firsts, 90) * 1e3, max(firsts) * 1e3])
        rows.append([f"whole reply, {key}", len(totals), percentile(totals, 50) * 1e3, percentile(totals, 90) * 1e3,
                     max(totals) * 1e3])
    print()
    print(table(["LLM reply", "n", "median ms", "p90 ms", "max ms"], rows,
                title=f"Offline assistant + llama.cpp server (SmolLM2-135M-Instruct Q4_1, 1 thread), streamed over "
                      f"127.0.0.1; server start to first /models answer: {started * 1e3:.0f} ms."))
