"""A private Xvfb display and a second X client to hold the focus, for desktop-integration tests.

``xvfb`` (module fixture) starts ``Xvfb -displayfd`` on a free display number and yields an
:class:`XServer`; tests skip with a reason when Xvfb is not installed (``tools/system-deps.sh test``
installs it, and xdotool). :meth:`XServer.other_client` starts a small Qt window in another process
(a real, separate X client), gives it the input focus and reads back what was typed into it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["OtherClient", "XServer", "wait_until", "xvfb"]

START_TIMEOUT = 20.0

_OTHER_CLIENT = textwrap.dedent("""
    import sys
    from PySide6.QtWidgets import QApplication, QLineEdit
    app = QApplication(sys.argv[:1])
    edit = QLineEdit()
    edit.setWindowTitle(sys.argv[1])
    edit.textChanged.connect(lambda text: print("text:" + text, flush=True))
    edit.show()
    print("shown", flush=True)
    sys.exit(app.exec())
""")


def wait_until(condition, timeout: float = 20.0, interval: float = 0.02, what: str = "condition") -> None:
    """Poll ``condition`` (processing Qt events if a QApplication exists) until true or fail after ``timeout``."""
    from PySide6.QtCore import QCoreApplication

    deadline = time.monotonic() + timeout
    while not condition():
        app = QCoreApplication.instance()
        if app is not None:
            app.processEvents()
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


class OtherClient:
    def __init__(self, proc: subprocess.Popen[str], title: str) -> None:
        self.proc = proc
        self.title = title
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def read_until(self, prefix: str, timeout: float = 20.0) -> str:
        with self._changed:
            found = self._changed.wait_for(
                lambda: any(line.startswith(prefix) for line in self.lines), timeout=timeout)
            if not found:
                raise AssertionError(f"the other X client never printed {prefix!r}; it printed {self.lines!r}")
            return next(line for line in self.lines if line.startswith(prefix))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class XServer:
    def __init__(self, display: str, proc: subprocess.Popen[bytes]) -> None:
        self.display = display
        self.proc = proc
        self.env = {**os.environ, "DISPLAY": display}
        self.env.pop("WAYLAND_DISPLAY", None)

    def xdotool(self, *args: str) -> str:
        done = subprocess.run(["xdotool", *args], env=self.env, capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise AssertionError(f"xdotool {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout.strip()

    def other_client(self, title: str = "Other X client") -> OtherClient:
        """A separate Qt process with a text field, holding the X input focus."""
        proc = subprocess.Popen([sys.executable, "-c", _OTHER_CLIENT, title], text=True,
                                env={**self.env, "QT_QPA_PLATFORM": "xcb"},
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        client = OtherClient(proc, title)
        client.read_until("shown")
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            done = subprocess.run(["xdotool", "search", "--sync", "--onlyvisible", "--name", title],
                                  env=self.env, capture_output=True, text=True, timeout=30)
            window = done.stdout.split()
            if window:
                break
            if time.monotonic() > deadline:
                client.stop()
                raise AssertionError(f"the other X client's window never appeared: {done.stderr}")
            time.sleep(0.1)
        self.xdotool("windowfocus", "--sync", window[0])
        return client

    def focused_window_name(self) -> str:
        return self.xdotool("getwindowfocus", "getwindowname")


@pytest.fixture(scope="module")
def xvfb(tmp_path_factory) -> Iterator[XServer]:
    for tool in ("Xvfb", "xdotool"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (bash tools/system-deps.sh test installs it)")
    read_fd, write_fd = os.pipe()
    log = Path(tmp_path_factory.mktemp("xvfb")) / "xvfb.log"
    with log.open("wb") as log_file:
        proc = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1024x768x24",
                                 "-nolisten", "tcp"], pass_fds=(write_fd,), stdout=log_file, stderr=log_file)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    if not number:
        proc.kill()
        proc.wait()
        pytest.fail(f"Xvfb did not start: {log.read_text(errors='replace')}")
    server = XServer(f":{number}", proc)
    yield server
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
