"""One app per user and settings file, tested with real processes (offscreen, and on Xvfb for the focus)."""

from __future__ import annotations

import pytest

from .app_process import AppProcess
from .xserver import wait_until, xvfb  # noqa: F401 - the fixture

LISTENING = "Single instance: listening as"
CONNECTED = "live_server listening on"


@pytest.fixture
def launch(tmp_path):
    started: list[AppProcess] = []
    settings = str(tmp_path / "settings.ini")

    def start(*extra: str, env: dict[str, str] | None = None) -> AppProcess:
        process = AppProcess("--no-audio", "--processor", "echo", "--settings", settings, *extra,
                             env={"QT_QPA_PLATFORM": "offscreen", **(env or {})})
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def test_a_second_launch_asks_the_first_and_exits_0(launch):
    first = launch()
    first.wait_for_line(LISTENING)
    second = launch()
    assert second.wait() == 0, second.output()
    assert "already running" in second.output()
    first.wait_for_line("Another launch asked for the window")
    assert first.proc.poll() is None  # the first one carries on
    assert LISTENING not in second.output()


def test_a_different_settings_file_is_a_different_app(launch, tmp_path):
    first = launch()
    first.wait_for_line(LISTENING)
    other = AppProcess("--no-audio", "--processor", "echo", "--settings", str(tmp_path / "other.ini"),
                       env={"QT_QPA_PLATFORM": "offscreen"})
    try:
        other.wait_for_line(LISTENING)
        assert other.proc.poll() is None
    finally:
        other.stop()


def test_a_crash_leaves_nothing_that_blocks_the_next_start(launch):
    first = launch()
    first.wait_for_line(LISTENING)
    first.kill()  # kill -9: the socket file stays behind
    again = launch()
    again.wait_for_line(LISTENING)
    again.wait_for_line(CONNECTED)
    assert again.proc.poll() is None
    # ... and the new one answers the launch after it.
    third = launch()
    assert third.wait() == 0, third.output()
    again.wait_for_line("Another launch asked for the window")


def test_the_second_launch_raises_the_first_window_on_x11(launch, xvfb):  # noqa: F811
    # Xvfb has no window manager, and X ignores Qt's focus request when another client took the focus later
    # (its timestamp is older), so the focus itself is not asserted here: the request and the raise are.
    env = {"DISPLAY": xvfb.display, "QT_QPA_PLATFORM": "xcb"}
    first = launch(env=env)
    first.wait_for_line(LISTENING)
    wait_until(lambda: _has_window(xvfb, "Voice Desktop"), what="the app's window")
    other = xvfb.other_client("Somebody else")
    try:
        assert xvfb.focused_window_name() == "Somebody else"
        second = launch(env=env)
        assert second.wait() == 0, second.output()
        first.wait_for_line("Window shown and raised for another launch")
        assert _has_window(xvfb, "Voice Desktop")
    finally:
        other.stop()


def _has_window(xvfb, name: str) -> bool:  # noqa: F811
    import subprocess

    done = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", name], env=xvfb.env,
                          capture_output=True, text=True, timeout=30)
    return bool(done.stdout.split())
