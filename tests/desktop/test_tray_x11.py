"""The tray on a real X server with a tray host: the icon docks, follows the state, keeps the app on close."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .app_process import AppProcess
from .xserver import wait_until, xvfb  # noqa: F401 - the fixture

pytest.importorskip("Xlib", reason="python-xlib is not installed (make test installs it)")

HOST = Path(__file__).with_name("tray_host.py")


@pytest.fixture
def tray_host(xvfb):  # noqa: F811
    proc = subprocess.Popen([sys.executable, str(HOST)], env=xvfb.env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    yield proc
    proc.terminate()
    proc.wait(timeout=10)


def _visible(xvfb, name: str) -> bool:  # noqa: F811
    done = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", f"^{name}$"], env=xvfb.env,
                          capture_output=True, text=True, timeout=30)
    return bool(done.stdout.split())


def _ask_window_manager_close(xvfb, name: str) -> None:  # noqa: F811
    """What a window manager does when the user clicks the window's close button: WM_DELETE_WINDOW."""
    from Xlib import X, display
    from Xlib.protocol import event

    window_id = int(xvfb.xdotool("search", "--onlyvisible", "--name", f"^{name}$").split()[0])
    d = display.Display(xvfb.display)
    window = d.create_resource_object("window", window_id)
    protocols, delete = d.intern_atom("WM_PROTOCOLS"), d.intern_atom("WM_DELETE_WINDOW")
    window.send_event(event.ClientMessage(window=window, client_type=protocols,
                                          data=(32, [delete, X.CurrentTime, 0, 0, 0])), event_mask=0)
    # A round trip, not a flush: closing a Unix socket with unread input resets it, and an X server that had
    # not yet read the request then drops it (seen under load: the close never arrived).
    d.sync()
    d.close()


def test_tray_docks_follows_state_and_keeps_the_app_when_the_window_closes(xvfb, tray_host, tmp_path):  # noqa: F811
    env = {"DISPLAY": xvfb.display, "QT_QPA_PLATFORM": "xcb"}
    args = ("-v", "--no-audio", "--processor", "echo", "--settings", str(tmp_path / "settings.ini"))
    app = AppProcess(*args, env=env)
    try:
        app.wait_for_line("Tray icon shown")
        docked = tray_host.stdout.readline().strip()
        assert docked.startswith("docked "), docked
        app.wait_for_line("Tray state: idle")  # connected to the embedded echo server
        wait_until(lambda: _visible(xvfb, "Voice Desktop"), what="the window")
        xvfb.xdotool("search", "--onlyvisible", "--name", "^Voice Desktop$", "windowfocus", "--sync")
        xvfb.xdotool("type", "--delay", "20", "hello")
        xvfb.xdotool("key", "Return")
        app.wait_for_line("Tray state: speaking")  # the echo's reply streams in
        wait_until(lambda: "Tray state: idle" in app.output().split("Tray state: speaking", 1)[1],
                   what="the tray to go back to idle after the reply")

        _ask_window_manager_close(xvfb, "Voice Desktop")
        app.wait_for_line("Window closed: still running in the tray")
        wait_until(lambda: not _visible(xvfb, "Voice Desktop"), what="the window to hide")
        assert app.proc.poll() is None

        again = AppProcess(*args, env=env)  # a second launch brings the window back from the tray
        assert again.wait() == 0, again.output()
        wait_until(lambda: _visible(xvfb, "Voice Desktop"), what="the window to come back")
    finally:
        app.stop()
