"""(e) The app as a user's desktop sees it: start time, idle cost, push-to-talk latency, CPU talking and listening.

Each figure comes from the real app (``python -m bench._app_probe``, which runs ``desktop.app.main``) in its own
process: under Xvfb when it is installed (else Qt's offscreen platform), with the private PulseAudio daemon of
``tests/pulse.py`` as its sound server, the embedded echo server, and a fresh settings file and state directory.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.isolation import home_env
from tests.soak._support import table

from . import _results

pytestmark = pytest.mark.bench

STARTS = 5
ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def display() -> Iterator[dict[str, str]]:
    """An X display (Xvfb) when available, else Qt's offscreen platform; the environment to run the app in."""
    if shutil.which("Xvfb") is None:
        yield {"QT_QPA_PLATFORM": "offscreen"}
        return
    number = 90 + os.getpid() % 9
    xvfb = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{number}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        yield {"DISPLAY": f":{number}", "QT_QPA_PLATFORM": "xcb"}
    finally:
        xvfb.terminate()
        xvfb.wait(10)


def probe(mode: str, display: dict[str, str], *extra: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="vd-probe-") as home:
        env = {**os.environ, **display, **home_env(Path(home))}  # a new user's first launch, each time
        argv = [sys.executable, "-m", "bench._app_probe", repr(time.time()), mode, "--processor", "echo",
                "--settings", str(Path(home) / "settings.ini"), *extra]
        done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"the app probe failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(lines[-1])


def test_start_time(display):
    runs = [probe("start", display, "--no-audio") for _ in range(STARTS)]
    shown = statistics.median(r["shown"] for r in runs)
    connected = statistics.median(r["connected"] for r in runs)
    imported = statistics.median(r["app_module_at"] for r in runs)
    platform = display["QT_QPA_PLATFORM"]
    print()
    print(table(["run", "desktop.app imported s", "window shown s", "connected s"],
                [[i + 1, r["app_module_at"], r["shown"], r["connected"]] for i, r in enumerate(runs)],
                title=f"(e) Start, {STARTS} launches ({platform}, embedded echo, no audio devices): seconds after "
                      "the process was spawned."))
    _results.record("start", f"launch -> window shown, median of {STARTS} ({platform})", shown, "s", "<= 0.5 s",
                    shown <= 0.5)
    _results.record("start", f"launch -> connected to the embedded server, median of {STARTS}", connected, "s",
                    "<= 1.0 s", connected <= 1.0)
    _results.record("start", "launch -> desktop.app imported (interpreter + imports)", imported, "s")


def probe_against(module_argv: list[str], mode: str, display: dict[str, str]) -> dict:
    """The app probe against a server in its own process, so the app's CPU is the client's alone."""
    server = subprocess.Popen([sys.executable, "-m", *module_argv], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        found = probe(mode, display, "--url", server.stdout.readline().strip())
    finally:
        server.terminate()
        server.wait(10)
    if "error" in found:
        raise RuntimeError(found["error"])
    return found


def test_idle_push_to_talk_and_cpu(display, pulse):
    r = probe("idle", display)
    if "error" in r:
        raise RuntimeError(r["error"])
    client = probe_against(["desktop.server.cli", "--processor", "echo"], "idle", display)
    talking = probe_against(["bench._reply_server"], "talk", display)
    assert not talking["talk_only_played"], "the talking figure must not include playback"
    listening = probe_against(["bench._reply_server"], "listen", display)
    assert listening["listen_still_playing"], "the reply ended inside the listening window: raise REPLY_SECONDS"
    presses = sorted(r["press_to_first_sample_ms"])
    press_median = statistics.median(presses)
    print()
    print(table(["figure", "value"], [
        ["idle CPU, % of one core (PTT, mic off, window open)", r["idle_cpu_percent"]],
        ["microphone open while idle", str(r["idle_capture_open"])],
        ["speaker open while idle", str(r["idle_speaker_open"])],
        ["press -> first sample ms (each press)", ", ".join(f"{x:.0f}" for x in r["press_to_first_sample_ms"])],
        ["every chunk from press to release sent (first included)", str(r["every_chunk_sent"])],
        ["CPU talking (capture + send; server elsewhere, answering nothing spoken), %",
         talking["talk_only_cpu_percent"]],
        ["  chunks sent meanwhile (50 a second)", talking["talk_only_chunks_sent"]],
        ["CPU talking and hearing its echo at once (echo server elsewhere), %", client["talk_cpu_percent"]],
        ["the same with the embedded echo server in the app, %", r["talk_cpu_percent"]],
        ["CPU listening to a spoken reply, mic off (server in another process), %", listening["listen_cpu_percent"]],
        ["  underruns while listening", listening["listen_underruns"]],
    ], title="(e) The app in push-to-talk on PulseAudio null devices, embedded echo server (and a remote one)."))
    _results.record("idle", "idle CPU, PTT, mic off (embedded server included)", r["idle_cpu_percent"],
                    "% of a core", "<= 1 %", r["idle_cpu_percent"] <= 1.0)
    _results.record("idle", "devices open while idle (mic, speaker)",
                    f"{r['idle_capture_open']}, {r['idle_speaker_open']}", "", "False, False",
                    not r["idle_capture_open"] and not r["idle_speaker_open"])
    _results.record("idle", f"press -> first captured sample, median of {len(presses)} (max {presses[-1]:.0f})",
                    press_median, "ms", "<= 60 ms", press_median <= 60)
    _results.record("idle", "speech from the first block sent", str(r["every_chunk_sent"]), "", "True",
                    bool(r["every_chunk_sent"]))
    talk, listen = talking["talk_only_cpu_percent"], listening["listen_cpu_percent"]
    _results.record("idle", "CPU while talking, steady (capture + send; server elsewhere)", talk, "% of a core",
                    "<= 10 %", talk <= 10)
    _results.record("idle", "CPU while listening, steady (receive + play a spoken reply, mic off; server elsewhere)",
                    listen, "% of a core", "<= 10 %", listen <= 10)
    _results.record("idle", "CPU while talking and hearing its echo at once (both directions; server elsewhere)",
                    client["talk_cpu_percent"], "% of a core")
    _results.record("idle", "the same with the embedded echo server in the app", r["talk_cpu_percent"],
                    "% of a core")
