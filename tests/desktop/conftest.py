"""The real App with its desktop integration (tray, global key) on a qasync loop."""

from __future__ import annotations

import asyncio

import pytest

from desktop.app import App, build_parser
from desktop.integration import DesktopIntegration
from tests.app.conftest import dispose


@pytest.fixture
def make_desktop_app(qapp, qloop, tmp_path):
    built: list[App] = []

    def make(*argv: str, settings: dict[str, str] | None = None) -> App:
        path = tmp_path / "settings.ini"
        if settings:
            path.write_text("[General]\n" + "".join(f"{k}={v}\n" for k, v in settings.items()))
        app = App(qapp, build_parser().parse_args([*argv, "--settings", str(path)]))
        app.quit_event = asyncio.Event()
        app.integration = DesktopIntegration(app, None, quit=app.quit_event.set)
        built.append(app)
        return app

    yield make
    for app in built:
        app.integration.close()
        dispose(app, qloop)  # freed now, at a safe point, not by a later collection inside Qt's dispatch


async def until(predicate, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)
