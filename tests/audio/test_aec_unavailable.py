"""Where livekit cannot load, open mic still works and says that headphones are needed.

Run in a fresh interpreter whose import of ``livekit`` fails, as on a platform without its wheel: the real
code path, not a patched one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_SCRIPT = textwrap.dedent("""
    import json, sys

    class NoLivekit:  # as on a platform with no livekit wheel
        def find_spec(self, name, path=None, target=None):
            if name == "livekit" or name.startswith("livekit."):
                raise ImportError(f"No module named {name!r}")
            return None

    sys.meta_path.insert(0, NoLivekit())

    from PySide6.QtWidgets import QApplication

    from desktop.audio.aec import EchoCancellerUnavailable, create, unavailable_reason
    from desktop.audio.capture import Capture
    from desktop.audio.playback import Player
    from desktop.controller import Controller
    from desktop.transcript import TranscriptModel

    app = QApplication([])
    result = {"reason": unavailable_reason()}
    try:
        create()
    except EchoCancellerUnavailable as exc:
        result["error"] = str(exc)
    controller = Controller(TranscriptModel(), None)
    notices = []
    controller.notice.connect(notices.append)
    controller.capture, controller.player = Capture(), Player()  # not opened: no device is touched
    controller.set_talk_mode("open_mic")
    result["notices"] = notices
    result["indicator"] = controller._open_mic_state(True)
    result["cancelling"] = controller.open_mic.cancelling
    step = controller.open_mic.feed(bytes(640))
    result["gate"] = controller.open_mic.gate is not None or bool(step.send)
    print(json.dumps(result))
""")


def test_without_livekit_open_mic_works_and_says_headphones_are_needed() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env=env, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert "use headphones" in result["reason"] and "livekit" in result["reason"]
    assert result["error"] == result["reason"]
    assert len(result["notices"]) == 1 and "use headphones" in result["notices"][0]
    assert result["indicator"] == "no echo cancellation, use headphones"
    assert result["cancelling"] is False
    assert result["gate"], "open mic still listens (speech detection or plain streaming)"
