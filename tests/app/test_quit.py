"""Quitting: Ctrl+Q, closing the window, SIGTERM and Ctrl+C all shut down cleanly and exit 0.

The real thing each time: ``python -m desktop`` as a separate process (offscreen), or :func:`desktop.app.main`
itself with a real key press on its window. "Cleanly" means the session, the embedded server and the history
were closed (the app says so in its log) and nothing was printed as a traceback.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from desktop import app as app_module
from desktop.ui.main_window import MainWindow

READY = "Connection connected"  # the session's log line once the embedded server answered
CLEAN = "Voice Desktop closed cleanly"
TIMEOUT = 60


class Process:
    """``python -m desktop`` with its stderr read on a thread, so the pipe never fills."""

    def __init__(self, home: Path, *args: str) -> None:
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(home),
               "XDG_STATE_HOME": str(home / "state"), "XDG_CONFIG_HOME": str(home / "config"),
               "XDG_DATA_HOME": str(home / "data"), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "desktop", "--no-audio", "--processor", "echo",
                                      "--settings", str(home / "s.ini"), *args],
                                     env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while text not in self.stderr:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"never logged {text!r}:\n{self.stderr}")
            time.sleep(0.05)

    def finish(self) -> int:
        try:
            code = self.proc.wait(timeout=TIMEOUT)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=10)
        return code


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl+C"])
def test_a_signal_closes_the_running_app_cleanly_with_exit_code_0(tmp_path, signum):
    app = Process(tmp_path)
    try:
        app.wait_for(READY)
        app.proc.send_signal(signum)
    finally:
        code = app.finish()
    assert code == 0, app.stderr
    assert "Traceback" not in app.stderr and "RuntimeError" not in app.stderr, app.stderr
    assert CLEAN in app.stderr
    assert "Session from" in app.stderr and "closed" in app.stderr.split("Session from")[-1]  # the server's side


@pytest.fixture
def restore_qapp(qapp):
    """main() changes the shared QApplication and the root logger; put both back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield qapp
    qapp.setQuitOnLastWindowClosed(True)
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def _main_window() -> MainWindow | None:
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, MainWindow) and widget.isVisible():
            return widget
    return None


def _drive(action, ready) -> tuple[list[str], QTimer]:
    """Every 50 ms until done: once the window is up and ``ready()``, do ``action(window)`` once.

    Returns what happened and a watchdog timer that ends main() with SIGTERM (and fails the test) if the
    action did not quit within TIMEOUT; stop it once main() has returned.
    """
    done: list[str] = []

    def tick() -> None:
        window = _main_window()
        if window is None or not ready():
            QTimer.singleShot(50, tick)
            return
        if not window.isActiveWindow():
            window.activateWindow()
            QTimer.singleShot(50, tick)
            return
        done.append("acted")
        action(window)

    def give_up() -> None:
        done.append("timed out")
        os.kill(os.getpid(), signal.SIGTERM)

    watchdog = QTimer()
    watchdog.setSingleShot(True)
    watchdog.timeout.connect(give_up)
    watchdog.start(TIMEOUT * 1000)
    QTimer.singleShot(50, tick)
    return done, watchdog


@pytest.mark.parametrize("how", ["ctrl+q", "close the window"])
def test_ctrl_q_or_closing_the_window_runs_main_to_a_clean_exit(restore_qapp, tmp_path, caplog, how):
    caplog.set_level(logging.INFO)
    connected = lambda: READY in caplog.text  # noqa: E731

    def act(window: MainWindow) -> None:
        if how == "ctrl+q":
            QTest.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
        else:
            window.close()

    acted, watchdog = _drive(act, connected)
    try:
        code = app_module.main(["--no-audio", "--processor", "echo", "--settings", str(tmp_path / "s.ini")])
    finally:
        watchdog.stop()
    assert acted == ["acted"]
    assert code == 0
    assert CLEAN in caplog.text
    assert "Shutting down" not in caplog.text  # no step of the shutdown failed
    assert _main_window() is None
