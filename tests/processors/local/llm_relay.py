"""A TCP relay in front of the real model server that can hold a reply after its first sentence.

Why: SmolLM2 writes its 150 tokens in a second or two, often before the first sentence has been
synthesised, so "the first sentence plays while the model is still writing" and "a barge-in closes
the stream mid-reply" would be races. The relay passes the real server's bytes through unchanged, but
once the forwarded tokens complete a sentence (up to the end of that token's event, so exactly one whole
sentence has gone through) it stops reading the server until :meth:`release` (or until the client goes
away). What the client does while the stream is held is then observable by order of events, not by
timing. Nothing is faked: the model, its tokens and the HTTP exchange are real.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re

from desktop.assistant.sentences import SentenceSplitter

__all__ = ["HoldingRelay"]

_CONTENT = re.compile(rb'"content":\s*"((?:[^"\\]|\\.)*)"')
_EVENT_END = re.compile(rb"\r?\n\r?\n")
_READ = 65536


class HoldingRelay:
    """``async with HoldingRelay(port) as relay``: ``relay.url`` is an OpenAI-compatible base through it.

    Events for the test: :attr:`held` (a first sentence was forwarded and the rest is held),
    :attr:`done_forwarded` (the end of a reply, ``[DONE]``, reached the client), :attr:`closed_mid_reply`
    (the client closed a chat stream before its ``[DONE]``).
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.held = asyncio.Event()
        self.done_forwarded = asyncio.Event()
        self.closed_mid_reply = asyncio.Event()
        self._release = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def release(self) -> None:
        """Let the held reply through (and every later one, unheld)."""
        self._release.set()

    async def __aenter__(self) -> HoldingRelay:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            client_w.close()
            self._tasks.discard(task)
            return
        state = {"chat_open": False}
        down = asyncio.create_task(self._downstream(server_r, client_w, state))
        try:
            while data := await client_r.read(_READ):
                if b"/chat/completions" in data:
                    state["chat_open"] = True
                server_w.write(data)
                await server_w.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            if state["chat_open"]:  # the client left while a reply was still streaming
                self.closed_mid_reply.set()
            down.cancel()
            await asyncio.gather(down, return_exceptions=True)
            for writer in (server_w, client_w):
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()
            self._tasks.discard(task)

    async def _downstream(self, server_r: asyncio.StreamReader, client_w: asyncio.StreamWriter,
                          state: dict[str, bool]) -> None:
        seen = b""  # the current chat reply as forwarded so far
        with contextlib.suppress(ConnectionError):
            while data := await server_r.read(_READ):
                if state["chat_open"] and not self._release.is_set() and not self.held.is_set():
                    cut = _first_sentence_end(seen, data)
                    if cut is not None:  # forward up to the event that completes a sentence, not a byte more
                        client_w.write(data[:cut])
                        await client_w.drain()
                        seen += data[:cut]
                        data = data[cut:]
                        self.held.set()
                        await self._release.wait()  # not reading: the server's further bytes wait in its socket
                client_w.write(data)
                await client_w.drain()
                if state["chat_open"]:
                    seen += data
                    if b"[DONE]" in seen:
                        state["chat_open"] = False
                        self.done_forwarded.set()
                        seen = b""
        client_w.close()  # the server closed its end: so does the relay, or the client would wait on a dead link


def _first_sentence_end(seen: bytes, data: bytes) -> int | None:
    """Where in ``data`` the server-sent event ends whose token completes the reply's first sentence, if any."""
    for end in (m.end() for m in _EVENT_END.finditer(data)):
        if _has_sentence(seen + data[:end]):
            return end
    return None


def _has_sentence(raw: bytes) -> bool:
    text = "".join(json.loads(b'"' + m.group(1) + b'"') for m in _CONTENT.finditer(raw))
    return bool(SentenceSplitter().feed(text))
