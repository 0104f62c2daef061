"""(d) Side by side with genai-processors' own ``live_server``, when a Python that has it is at hand.

genai-processors is not a dependency (it pulls ~390 MB). Point ``VD_GENAI_PROCESSORS_PYTHON`` at a Python that has
it (``python3 -m venv /tmp/gp-venv && /tmp/gp-venv/bin/pip install genai-processors``), or run the benchmarks under
one. Both servers run as subprocesses with the same echo behaviour (``bench/gp_echo_server.py`` for the reference,
``voice-desktop-server --processor echo`` for ours), and one client process times both, interleaved.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.soak._support import EchoStream, percentile, stats_ms, table

from ._live import audio_round_trips, open_session, text_round_trips

pytestmark = pytest.mark.bench

ENV = "VD_GENAI_PROCESSORS_PYTHON"
SKIP_MESSAGE = ("skipped: genai-processors not installed (pip install genai-processors into a separate venv and set "
                f"{ENV}=/path/to/python)")
SCRIPT = Path(__file__).with_name("gp_echo_server.py")
START_TIMEOUT = 90.0  # the reference imports google-genai, opencv, grpc...: slow on a cold disk
ROUNDS = 8
TURNS_PER_ROUND = 50
CHUNKS_PER_ROUND = 50
STREAMS = 8
STREAM_SECONDS = 5.0


def reference_python() -> str | None:
    configured = os.environ.get(ENV)
    if configured:
        return configured
    if importlib.util.find_spec("genai_processors") is not None:
        return sys.executable
    return None


def reference_version(python: str) -> str:
    """genai-processors' and websockets' versions under ``python``."""
    import subprocess

    code = ("import importlib.metadata as m; "
            "print(f\"genai-processors {m.version('genai-processors')}, websockets {m.version('websockets')}\")")
    try:
        return subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "version unknown"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def load(url: str, pid: int) -> list[object]:
    """STREAMS real-time audio streams for STREAM_SECONDS: chunks, lost, latency, and the server's CPU."""
    streams = [EchoStream(url, seed=i) for i in range(STREAMS)]
    try:
        await asyncio.gather(*(s.start() for s in streams))
        cpu, wall = cpu_seconds(pid), time.perf_counter()
        await asyncio.gather(*(s.stream(STREAM_SECONDS) for s in streams))
        await asyncio.gather(*(s.drain() for s in streams))
        cpu, wall = cpu_seconds(pid) - cpu, time.perf_counter() - wall
    finally:
        await asyncio.gather(*(s.close() for s in streams))
    latencies = [x for s in streams for x in s.latencies]
    sent = sum(s.sent for s in streams)
    return [sent, sum(s.lost + s.dropped for s in streams), percentile(latencies, 50) * 1e3,
            percentile(latencies, 95) * 1e3, 100 * cpu / wall, 1e6 * cpu / max(1, sent)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.asynccontextmanager
async def subprocess_server(argv: list[str], ready: str) -> AsyncIterator[tuple[int, list[str]]]:
    """Start a server process, wait for a stdout line starting with ``ready``; yield (pid, lines so far); stop it."""
    process = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.DEVNULL)
    lines: list[str] = []
    try:
        async with asyncio.timeout(START_TIMEOUT):
            while not lines or not lines[-1].startswith(ready):
                line = (await process.stdout.readline()).decode().strip()
                if not line and process.stdout.at_eof():
                    raise RuntimeError(f"{argv[1]} exited with {await process.wait()} before it was ready")
                lines.append(line)
        yield process.pid, lines
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def test_against_genai_processors_live_server():
    python = reference_python()
    if python is None:
        print(f"\n(d) genai-processors side by side: {SKIP_MESSAGE}")
        pytest.skip(SKIP_MESSAGE)
    port = free_port()
    ours_argv = [sys.executable, "-u", "-m", "desktop.server.cli", "--processor", "echo"]
    reference_argv = [python, "-u", str(SCRIPT), str(port)]
    async with subprocess_server(ours_argv, "ws://") as (ours_pid, ours_lines), \
            subprocess_server(reference_argv, "Server started") as (reference_pid, reference_lines):
        servers = {"voice-desktop (subprocess)": ours_lines[-1],
                   "genai-processors (subprocess)": f"ws://127.0.0.1:{port}/"}
        pids = dict(zip(servers, (ours_pid, reference_pid), strict=True))
        reference_audio = next((line.removeprefix("echo audio: ") for line in reference_lines
                                if line.startswith("echo audio:")), "?")
        sessions = {name: await open_session(url) for name, url in servers.items()}
        text: dict[str, list[float]] = {name: [] for name in servers}
        audio: dict[str, list[float]] = {name: [] for name in servers}
        try:
            for round_ in range(ROUNDS):  # interleaved, so a slow moment of the machine hits both
                for name, (session, recorder) in sessions.items():
                    warmup = 10 if round_ == 0 else 0
                    text[name] += await text_round_trips(session, recorder, TURNS_PER_ROUND, warmup=warmup)
                    audio[name] += await audio_round_trips(session, recorder, CHUNKS_PER_ROUND, warmup=warmup)
        finally:
            for session, _recorder in sessions.values():
                await session.close()
        loads = {name: await load(url, pids[name]) for name, url in servers.items()}
    ours, reference = list(servers)
    rows = []
    for name in servers:
        t, a = stats_ms(text[name]), stats_ms(audio[name])
        rows.append([name, t["n"], t["median"], t["p95"], a["median"], a["p95"]])
    ratio_text = stats_ms(text[reference])["median"] / stats_ms(text[ours])["median"]
    ratio_audio = stats_ms(audio[reference])["median"] / stats_ms(audio[ours])["median"]
    rows.append(["ratio reference / ours (median)", "", f"{ratio_text:.2f}x", "", f"{ratio_audio:.2f}x", ""])
    print()
    print(table(["server (echo processor)", "turns", "text median ms", "text p95 ms", "audio median ms",
                 "audio p95 ms"], rows,
                title="(d) Same client, two servers on 127.0.0.1, each in its own process, interleaved rounds.\n"
                      "    text = send_text -> TurnComplete; audio = 20 ms chunk -> first Audio back. Ours resamples "
                      f"to 24 kHz (soxr QQ); the reference echo: {reference_audio}.\n"
                      f"    reference: {python} ({reference_version(python)})"))
    rows = [[name, *row] for name, row in loads.items()]
    rows.append(["ratio reference / ours", "", "", f"{loads[reference][2] / loads[ours][2]:.2f}x",
                 f"{loads[reference][3] / loads[ours][3]:.2f}x", f"{loads[reference][4] / loads[ours][4]:.2f}x",
                 f"{loads[reference][5] / loads[ours][5]:.2f}x"])
    print(table(["server (echo processor)", "chunks", "lost", "median ms", "p95 ms", "server CPU %",
                 "server CPU µs/chunk"], rows,
                title=f"(d) Load: {STREAMS} sessions streaming real-time 20 ms chunks for {STREAM_SECONDS:.0f} s "
                      "to each server in turn; server CPU from /proc (100% = one core)."))
