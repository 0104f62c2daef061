"""Fixtures for whole-app tests: the real App (window, controller, embedded server) on a qasync loop."""

from __future__ import annotations

import pytest

from desktop.app import App, build_parser


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
        qloop.run_until_complete(app.controller.shutdown())
        qloop.run_until_complete(app.history.close())
        app.window.close()
