"""Start time: what the first frame needs is all that loads before it."""

from __future__ import annotations

import os
import subprocess
import sys

# What desktop.app.main imports before the window is shown (App, the controller, the desktop integration).
BEFORE_THE_WINDOW = ("desktop.app", "desktop.integration", "desktop.controller", "desktop.theme",
                     "desktop.single_instance", "desktop.settings", "desktop.ui.main_window", "desktop.ui.tray")
AUDIO_STACK = ("numpy", "soxr", "sounddevice")


def test_the_window_does_not_wait_for_the_audio_stack():
    """numpy, soxr and PortAudio (~70 ms to import here) load after the first frame, when the devices open."""
    code = (f"import sys\nfor name in {BEFORE_THE_WINDOW!r}: __import__(name)\n"
            f"print(','.join(name for name in {AUDIO_STACK!r} if name in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"imported before the window: {done.stdout.strip()}"
