"""Servers as subprocesses for the side-by-side benchmarks, and the load generator run against them.

Each server runs in its own process so its CPU (from /proc) is its own; the load generator (``bench/loadgen.py``)
runs in a third process for the same reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib.util
import json
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

__all__ = ["ENV", "Server", "cpu_seconds", "free_port", "reference_python", "reference_version", "run_load",
           "subprocess_server"]

ENV = "VD_GENAI_PROCESSORS_PYTHON"
START_TIMEOUT = 90.0  # the reference imports google-genai, opencv, grpc...: slow on a cold disk
REFERENCE_SCRIPT = Path(__file__).with_name("gp_echo_server.py")


@dataclasses.dataclass
class Server:
    name: str
    url: str
    pid: int
    lines: list[str]


def reference_python() -> str | None:
    configured = os.environ.get(ENV)
    if configured:
        return configured
    if importlib.util.find_spec("genai_processors") is not None:
        return sys.executable
    return None


def reference_version(python: str) -> str:
    """genai-processors' and websockets' versions under ``python``."""
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.asynccontextmanager
async def subprocess_server(name: str, argv: list[str], ready: str, url: str | None = None) -> AsyncIterator[Server]:
    """Start a server process and wait for a stdout line starting with ``ready`` (the URL, when ``url`` is None)."""
    process = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.DEVNULL)
    lines: list[str] = []
    try:
        async with asyncio.timeout(START_TIMEOUT):
            while not lines or not lines[-1].startswith(ready):
                line = (await process.stdout.readline()).decode().strip()
                if not line and process.stdout.at_eof():
                    raise RuntimeError(f"{name} exited with {await process.wait()} before it was ready")
                lines.append(line)
        yield Server(name, url or lines[-1], process.pid, lines)
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def run_load(server: Server, sessions: int, seconds: float) -> dict[str, float]:
    """One load-generator run against ``server``: its figures plus the server's CPU seconds over the run."""
    before = cpu_seconds(server.pid)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.loadgen", server.url, str(sessions), str(seconds),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=Path(__file__).parent.parent)
    out, err = await process.communicate()
    cpu = cpu_seconds(server.pid) - before
    if process.returncode != 0:
        reason = err.decode(errors="replace").strip().splitlines()[-1:] or ["?"]
        return {"sessions": sessions, "failed": reason[0], "server_cpu_s": cpu}
    result = json.loads(out)
    result["server_cpu_s"] = cpu
    return result
