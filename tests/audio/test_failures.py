"""Streams that die are reported through on_error, on the loop, and never hang or raise.

Two ways a stream dies on a real system: the sound server goes away (PortAudio ends the stream), or the
device stops delivering (suspended, unplugged: no more callbacks; see desktop.audio._stream)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from desktop.audio._stream import StallWatch
from desktop.audio.capture import Capture
from desktop.audio.playback import Player
from tests.pulse import MIC, SPEAKER

from .signals import wait_until

# Runs in a child process with its own daemon: when a sound server dies, PortAudio 19.6's ALSA thread can
# (rarely) spin forever instead of ending the stream. The app then reports it via the stall watch and
# abandons the stream; a test run must not carry such a thread (it floods stderr) to the end of the session.
_DEATH_SCRIPT = """
import asyncio, json, os, sys
from desktop.audio.capture import Capture
from desktop.audio.devices import reinitialize
from desktop.audio.playback import Player
from tests.pulse import PulseServer
from tests.audio.signals import tone_pcm, wait_until

async def main(doomed):
    errors = []
    capture, player = Capture(on_error=errors.append), Player(on_error=errors.append)
    capture.start(on_chunk=lambda chunk, level: None)
    player.start()
    player.feed(tone_pcm(440, 5.0, 24000), 24000)
    await wait_until(lambda: capture.chunks_delivered > 2 and player.is_playing, what="streams to run")
    doomed.kill()
    await wait_until(lambda: len(errors) == 2, timeout=8, what="both streams to report")
    print(json.dumps({"errors": errors, "capture_running": capture.is_running,
                      "playing": player.is_playing}), flush=True)
    capture.stop()
    player.close()

doomed = PulseServer()
doomed.start()
reinitialize()
try:
    asyncio.run(main(doomed))
finally:
    doomed.stop()
    os._exit(0)  # no Pa_Terminate: it would wait for a stuck PortAudio thread
"""


@pytest.mark.audio
def test_streams_report_a_sound_server_that_dies(pulse: Any) -> None:
    root = Path(__file__).resolve().parents[2]
    path = os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    done = subprocess.run([sys.executable, "-c", _DEATH_SCRIPT], cwd=root, env=env, timeout=40,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False)
    lines = done.stdout.decode().strip().splitlines()
    assert lines, f"the child printed nothing (exit code {done.returncode})"
    result = json.loads(lines[-1])
    errors = result["errors"]
    assert sorted(e.split(" ")[1] for e in errors) == ["microphone", "speaker"]
    assert all("stopped unexpectedly" in e and "the sound server stopped" in e for e in errors)
    assert not result["capture_running"] and not result["playing"]


@pytest.mark.audio
async def test_devices_that_stop_delivering_are_reported(pulse: Any) -> None:
    errors: list[str] = []
    capture = Capture(on_error=errors.append, stall_s=0.5)
    player = Player(on_error=errors.append, stall_s=0.5)
    try:
        capture.start(on_chunk=lambda chunk, level: None)
        player.start()
        await wait_until(lambda: capture.chunks_delivered > 2, what="the capture to run")
        pulse.pactl("suspend-sink", MIC, "1")
        pulse.pactl("suspend-sink", SPEAKER, "1")
        await wait_until(lambda: len(errors) == 2, what="both stalls to be reported")
        assert any(e.startswith("The microphone") and "(no audio for 0.5 s)" in e for e in errors)
        assert any(e.startswith("The speaker") and "(no callback for 0.5 s)" in e for e in errors)
        assert not capture.is_running
    finally:
        pulse.pactl("suspend-sink", MIC, "0")
        pulse.pactl("suspend-sink", SPEAKER, "0")
        capture.stop()
        player.close()
    again = Capture()
    again.start(on_chunk=lambda chunk, level: None)  # the devices work again once resumed
    await wait_until(lambda: again.chunks_delivered > 2, what="capture after resume")
    again.stop()


async def test_stall_watch_fires_once_when_the_counter_stops() -> None:
    loop = asyncio.get_running_loop()
    moving, stopped, fired = [0], [0], []
    watches = [StallWatch(loop, lambda: stopped[0], lambda: fired.append("stopped"), 0.1),
               StallWatch(loop, lambda: moving[0], lambda: fired.append("moving"), 0.1)]
    for _ in range(40):
        moving[0] += 1
        await asyncio.sleep(0.01)
    for watch in watches:
        watch.cancel()
    assert fired == ["stopped"]
