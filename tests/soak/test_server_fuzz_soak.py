"""Soak (b): 20,000 random and mutated frames at the embedded live server, valid text turns in between.

The server must keep the connection through anything but a frame over ``max_size`` (closed with 1009), answer
every malformed frame with an error part (``parse_client_frame`` is the oracle for what is malformed), and still
complete the valid turns. Frames go in batches; each batch ends with a text turn ``sync-N`` whose echo proves the
server read the whole batch, so the error parts can be counted per batch.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import time
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from desktop.processors import get_factory
from desktop.protocols.live_server import FrameError, parse_client_frame
from desktop.server import LiveServer
from desktop.server.live_server import DEFAULT_MAX_SIZE

from ._support import brief, chunk_16k, table

pytestmark = pytest.mark.soak

FRAMES = 20_000
BATCH = 100
SEED = 4242
OVERSIZE_EVERY = 40  # batches: a frame over max_size, which must close the connection with 1009
SYNC_TIMEOUT = 5.0  # an echo takes milliseconds: a turn not answered by then was dropped by the server
SYNC_TRIES = 3
CLOSE_TIMEOUT = 20.0  # above websockets' 10 s close timeout, which a crashed handler can wait out
MAX_UNEXPECTED = 3  # stop early once the server has shown it drops connections: the run has its answer

PCM = chunk_16k()
B64 = base64.b64encode(PCM).decode("ascii")
AUDIO = "audio/pcm;rate=16000"


def valid_frames(rng: random.Random) -> dict[str, Any]:
    """Client frames the server must accept, as dicts (serialised by the caller)."""
    return rng.choice([
        {"part": {"inline_data": {"data": B64, "mime_type": AUDIO}}, "role": "user", "substream_name": "realtime",
         "mimetype": AUDIO},
        {"part": {"inline_data": {"data": B64, "mime_type": AUDIO}}},
        {"part": {"text": "hello"}, "role": "user"},
        {"mimetype": "application/x-state", "metadata": {"mic": "off"}},
        {"mimetype": "application/x-state", "metadata": {"mic": "on"}},
        {"mimetype": "application/x-command", "metadata": {"command": "reset"}},
        {"mimetype": "application/x-config", "metadata": {"voice": rng.choice(["Puck", "Kore"])}},
        {"metadata": {"mic": "off"}},
        {"metadata": {"reset": True}},
        {"part": {"inline_data": {"data": "iVBORw0KGgo=", "mime_type": "image/png"}}, "mimetype": "image/png"},
    ])


WRONG = [None, 0, -1, 1.5, True, "", "x", [], [1, "a"], {}, {"a": 1}]
FIELDS = [("part",), ("metadata",), ("mimetype",), ("role",), ("substream_name",), ("part", "text"),
          ("part", "inline_data"), ("part", "inline_data", "data"), ("part", "inline_data", "mime_type"),
          ("metadata", "command"), ("metadata", "mic"), ("metadata", "reset")]


def wrong_types(rng: random.Random) -> dict[str, Any]:
    """A valid frame with one field set to a value of the wrong type."""
    frame = json.loads(json.dumps(valid_frames(rng)))
    path = rng.choice(FIELDS)
    node = frame
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[path[-1]] = rng.choice(WRONG)
    if rng.random() < 0.5:
        frame.pop("mimetype", None)  # so the part's own mime_type is what the server reads
    return frame


def bad_rate(rng: random.Random) -> dict[str, Any]:
    rate = rng.choice(["0", "-5", "abc", "", "1e9", "3999", "384001", "99999999999", "16000.5", "0x3e80", "9" * 5000])
    mimetype = f"audio/pcm;rate={rate}"
    return {"part": {"inline_data": {"data": B64, "mime_type": mimetype}}, "mimetype": mimetype}


def mutate(rng: random.Random, value: Any) -> Any:
    if isinstance(value, dict) and value and rng.random() < 0.75:
        key = rng.choice(list(value))
        return {**value, key: mutate(rng, value[key])}
    return rng.choice(WRONG + ["audio/pcm;rate=16000", "text/plain", "application/x-state", "AAAA", "A=="])


def fuzz_frame(rng: random.Random) -> tuple[str, str | bytes]:
    """(kind, frame) for one fuzz frame."""
    roll = rng.random()
    if roll < 0.12:
        return "random bytes", rng.randbytes(rng.randrange(1, 200))
    if roll < 0.22:
        return "random text", "".join(chr(rng.randrange(0x20, 0x2000)) for _ in range(rng.randrange(1, 80)))
    if roll < 0.37:
        text = json.dumps(valid_frames(rng))
        return "truncated JSON", text[:rng.randrange(len(text))]
    if roll < 0.55:
        return "wrong types", json.dumps(wrong_types(rng))
    if roll < 0.70:
        return "mutated", json.dumps(mutate(rng, valid_frames(rng)))
    if roll < 0.78:
        return "bad rate", json.dumps(bad_rate(rng))
    if roll < 0.785:
        return "bad base64", json.dumps({"part": {"inline_data": {"data": "!" * rng.randrange(1000, 1_000_000),
                                                                   "mime_type": AUDIO}}})
    if roll < 0.787:  # big but under max_size: ~1.5 MiB of base64, 35 s of audio
        data = base64.b64encode(rng.randbytes(1_100_000 & ~1)).decode("ascii")
        return "huge base64 (under limit)", json.dumps({"part": {"inline_data": {"data": data, "mime_type": AUDIO}}})
    return "valid", json.dumps(valid_frames(rng))


def oversize_frame() -> str:
    data = base64.b64encode(b"\x00" * (DEFAULT_MAX_SIZE * 3 // 4 + 4096)).decode("ascii")
    return json.dumps({"part": {"inline_data": {"data": data, "mime_type": AUDIO}}})


def expectation(frame: str | bytes) -> str:
    """What the server should do with a frame: 'malformed' (an error part), 'ok', or 'crash' (a server bug)."""
    try:
        parse_client_frame(frame)
    except FrameError:
        return "malformed"
    except Exception:  # anything but FrameError escapes the server's frame handler
        return "crash"
    return "ok"


class Client:
    """A raw WebSocket client that sends anything and counts what comes back."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.totals = {"malformed errors": 0, "processor errors": 0, "other errors": 0, "health checks": 0,
                       "generation_complete": 0, "frames received": 0}
        self.malformed_errors = 0  # on the current connection
        self.synced: set[str] = set()
        self.error_samples: list[str] = []
        self.changed = asyncio.Event()
        self.ws: ClientConnection | None = None
        self.reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        self.ws = await connect(self.url, max_size=None, ping_interval=None)
        self.malformed_errors = 0
        self.reader = asyncio.create_task(self._read(self.ws))

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for message in ws:
                self._count(json.loads(message))
                self.changed.set()
        except ConnectionClosed:
            pass
        finally:
            self.changed.set()

    def _count(self, message: dict[str, Any]) -> None:
        self.totals["frames received"] += 1
        meta = message.get("metadata") or {}
        if "error" in meta:
            error = str(meta["error"])
            if error.startswith("Malformed frame ignored"):
                self.malformed_errors += 1
                self.totals["malformed errors"] += 1
            elif error.startswith("The processor failed"):
                self.totals["processor errors"] += 1
                if len(self.error_samples) < 3 and error not in self.error_samples:
                    self.error_samples.append(error)
            else:
                self.totals["other errors"] += 1
        elif meta.get("health_check"):
            self.totals["health checks"] += 1
        elif meta.get("generation_complete"):
            self.totals["generation_complete"] += 1
        text = (message.get("part") or {}).get("text") or ""
        if text.startswith("sync-") and not message.get("substream_name"):
            self.synced.add(text)

    @property
    def closed(self) -> bool:
        return self.reader is None or self.reader.done()

    async def send(self, frame: str | bytes) -> bool:
        try:
            await self.ws.send(frame)
            return True
        except ConnectionClosed:
            return False

    async def sync(self, name: str) -> str:
        """Send a text turn and wait for its echo: 'done', 'closed' (the connection went) or 'lost'."""
        if not await self.send(json.dumps({"part": {"text": name}, "role": "user"})):
            return "closed"
        try:
            async with asyncio.timeout(SYNC_TIMEOUT):
                while name not in self.synced and not self.closed:
                    self.changed.clear()
                    await self.changed.wait()
        except TimeoutError:
            return "lost"
        return "done" if name in self.synced else "closed"

    async def wait_closed(self, timeout: float = CLOSE_TIMEOUT) -> int | None:
        async with asyncio.timeout(timeout):
            await self.reader
        return self.ws.close_code

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            await self.reader


async def test_live_server_survives_fuzzed_frames():
    rng = random.Random(SEED)
    sent: dict[str, int] = {}
    expected = {"malformed": 0, "ok": 0, "crash": 0}
    crash_samples: list[str] = []
    disconnects: list[tuple[str, int | None]] = []  # (why we think, close code)
    lost_turns: list[tuple[int, bool]] = []  # (batch, processor failed in it): sync turns never answered
    mismatches: list[str] = []
    syncs_done = 0
    batches = FRAMES // BATCH
    started = time.perf_counter()
    async with LiveServer(get_factory("echo")) as server:
        client = Client(server.url)
        await client.connect()
        expected_here = 0  # malformed frames sent on the current connection
        for batch in range(batches):
            dropped_in_batch = False
            failures_before = client.totals["processor errors"]
            for _ in range(BATCH):
                kind, frame = fuzz_frame(rng)
                verdict = expectation(frame)
                expected[verdict] += 1
                if verdict == "crash" and len(crash_samples) < 3:
                    crash_samples.append(brief(frame))
                sent[kind] = sent.get(kind, 0) + 1
                expected_here += verdict == "malformed"
                if not await client.send(frame) or client.closed:
                    dropped_in_batch = True
                    break
            if not dropped_in_batch:
                for attempt in range(SYNC_TRIES):
                    result = await client.sync(f"sync-{batch}-{attempt}")
                    if result != "lost":
                        break
                    lost_turns.append((batch, client.totals["processor errors"] > failures_before))
                if result == "done":
                    syncs_done += 1
                    if client.malformed_errors != expected_here:
                        mismatches.append(f"batch {batch}: {expected_here} malformed frames on this connection, "
                                          f"{client.malformed_errors} error parts")
                elif result == "closed":  # not lost: the connection went (counted below)
                    lost_turns = [(b, failed) for b, failed in lost_turns if b != batch]
                    dropped_in_batch = True
            if dropped_in_batch:  # the server dropped us: note why, and carry on with a new connection
                code = await client.wait_closed()
                disconnects.append(("unexpected", code))
                if len(disconnects) - sum(why == "over max_size" for why, _ in disconnects) >= MAX_UNEXPECTED:
                    break
                await client.connect()
                expected_here = 0
            if batch % OVERSIZE_EVERY == OVERSIZE_EVERY - 1:
                sent["over max_size"] = sent.get("over max_size", 0) + 1
                await client.send(oversize_frame())
                code = await client.wait_closed()
                disconnects.append(("over max_size", code))
                await client.connect()
                expected_here = 0
        last = not client.closed and await client.sync("sync-final") == "done"
        await client.close()
    seconds = time.perf_counter() - started

    print()
    print(table(["frame kind", "sent"], sorted(sent.items(), key=lambda kv: -kv[1]),
                title=f"(b) Live server fuzz: {sum(sent.values()):,} frames (seed {SEED}) in {seconds:.1f} s"))
    oversize_codes = [code for why, code in disconnects if why == "over max_size"]
    unexpected = [code for why, code in disconnects if why == "unexpected"]
    print(table(["count", "value"], [
        ["frames sent (fuzz + oversize)", sum(sent.values())],
        ["malformed by the oracle (parse_client_frame)", expected["malformed"]],
        ["'Malformed frame ignored' error parts received", client.totals["malformed errors"]],
        ["processor-failure error parts", client.totals["processor errors"]],
        ["other error parts", client.totals["other errors"]],
        ["sync turns completed / batches", f"{syncs_done + last} / {batches + 1}"],
        ["sync turns sent but never answered (then re-sent)", len(lost_turns)],
        ["generation_complete received (all turns)", client.totals["generation_complete"]],
        ["health checks received", client.totals["health checks"]],
        ["disconnects for frames over max_size (codes)", f"{len(oversize_codes)} {sorted(set(oversize_codes))}"],
        ["other disconnects (codes)", f"{len(unexpected)} {sorted(set(unexpected), key=str)}"],
        ["frames the oracle says crash the handler", expected["crash"]],
    ]))
    for error in client.error_samples:
        print(f"  processor failure seen: {error}")
    for sample in crash_samples:
        print(f"  frame that escapes parse_client_frame's FrameError: {sample}")

    assert not unexpected, f"the server dropped the connection {len(unexpected)} times (codes {unexpected})"
    assert oversize_codes and all(code == 1009 for code in oversize_codes), oversize_codes
    assert not mismatches, mismatches[:5]
    assert client.totals["malformed errors"] == expected["malformed"]
    after_failure = sum(failed for _, failed in lost_turns)
    assert not lost_turns, (f"{len(lost_turns)} valid text turns were never answered (batches "
                            f"{[b for b, _ in lost_turns][:10]}), {after_failure} of them in a batch where the "
                            "processor failed: the parts queued behind a failure are dropped")
    assert syncs_done == batches and last
