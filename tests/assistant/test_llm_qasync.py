"""The local model client on the app's own event loop (qasync on Qt): httpx runs on anyio, and a stream left
for the garbage collector to close fails there ("no running event loop"). A whole reply, a timer and a barge-in
must leave nothing to the collector."""

from __future__ import annotations

import asyncio
import gc
import sys

from desktop.assistant import Assistant, discover_ollama


def test_replies_and_barge_in_on_the_qasync_loop(qloop, llm_server, monkeypatch):
    unraisable: list[str] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda info: unraisable.append(f"{info.exc_type}: {info.exc_value}"))
    errors: list[str] = []
    qloop.set_exception_handler(lambda loop, context: errors.append(str(context.get("message"))))

    async def conversation() -> tuple[str, str, str]:
        assert await discover_ollama(llm_server.url, timeout=30) is not None
        assistant = Assistant({"llm_url": llm_server.url})
        try:
            reply = await assistant.respond("Tell me about the moon.")
            whole = await reply.text()
            await (await assistant.respond("set a timer for 0.05 seconds")).text()
            notice = await asyncio.wait_for(assistant.next_notice(), 60)
            essay = await assistant.respond("Write a very long essay about the history of Rome.")
            first = await anext(essay.sentences)
            speaker = asyncio.ensure_future(essay.text())  # still listening when the next turn comes
            typed = await (await assistant.respond("what is 2 plus 2")).text()
            await asyncio.wait_for(speaker, 60)
            return whole, notice, first + " | " + typed
        finally:
            await assistant.aclose()

    whole, notice, rest = qloop.run_until_complete(asyncio.wait_for(conversation(), 300))
    gc.collect()
    qloop.run_until_complete(asyncio.sleep(0.1))
    assert whole
    assert notice == "Timer: 0.05 seconds, done."
    assert rest.endswith(" | 2 plus 2 is 4.")
    assert unraisable == [] and errors == []
