"""Fixtures for whole-app tests: the real App (window, controller, embedded server) on a qasync loop."""

from __future__ import annotations

import gc

import pytest
from PySide6.QtCore import QCoreApplication, QEvent

from desktop.app import App, build_parser


def dispose(app: App, loop) -> None:
    """Shut ``app`` down and free its window now, at a safe point.

    Left to the garbage collector, an App (its window and the window's timers) is freed whenever a
    collection happens to run, which can be inside Qt's dispatch of one of those very timers: a crash.
    """
    loop.run_until_complete(app.shutdown())
    app.window.close()
    app.window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


@pytest.fixture
def make_app(qapp, qloop, tmp_path):
    apps = []

    def make(*argv: str) -> App:
        args = build_parser().parse_args([*argv, "--settings", str(tmp_path / "settings.ini")])
        app = App(qapp, args)
        apps.append(app)
        return app

    yield make
    for app in apps:
        dispose(app, qloop)
    apps.clear()
    gc.collect()
