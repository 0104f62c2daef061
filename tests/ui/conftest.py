"""Fixtures for widget tests: offscreen Qt, a fake clock, a shown main window."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before pytest-qt creates the QApplication

import pytest

from desktop.transcript import TranscriptModel
from desktop.ui import resources
from desktop.ui.main_window import MainWindow

_HERE = os.path.dirname(os.path.abspath(__file__))


def pytest_collection_modifyitems(config, items):
    """Qt warnings fail these tests: they usually mean a real layout or signal mistake."""
    for item in items:
        if str(item.path).startswith(_HERE):
            item.add_marker(pytest.mark.qt_log_level_fail("WARNING"))


class FakeClock:
    """Monotonic time that moves only when a test says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(autouse=True)
def _default_resources():
    """Each test finds resources the normal way, whatever another test set."""
    resources.set_resources_dir(None)
    yield
    resources.set_resources_dir(None)


@pytest.fixture
def model() -> TranscriptModel:
    return TranscriptModel()


@pytest.fixture
def window(qtbot, clock, model) -> MainWindow:
    win = MainWindow(clock=clock)
    win.set_transcript_model(model)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow)
    return win
