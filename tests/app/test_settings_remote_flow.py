"""Issue #3 as a user tries it: in Settings switch to Remote, pick each protocol against a server of that kind
on 127.0.0.1, type; stop the server, see the reconnect countdown, start it again and carry on."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from desktop.ui.settings_dialog import SettingsDialog
from tests.app.test_window_end_to_end import model_turns, until
from tests.servers.adk_bidi_server import AdkBidiServer
from tests.servers.adk_server import AdkServer
from tests.servers.ai_proxy_core_server import AiProxyCoreServer

SERVERS = {"adk": AdkServer, "adk_bidi": AdkBidiServer, "ai_proxy_core": AiProxyCoreServer}


def choose_remote(dialog: SettingsDialog, url: str, protocol: str) -> None:
    page = dialog.server
    QTest.mouseClick(page.remote_radio, Qt.MouseButton.LeftButton)
    page.url.clear()
    QTest.keyClicks(page.url, url)
    page.protocol.setCurrentIndex(page.protocol.findData(protocol))
    assert page.protocol.currentData() == protocol
    assert dialog.ok_button.isEnabled(), dialog.problems()
    QTest.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)


@pytest.mark.parametrize("protocol", sorted(SERVERS))
def test_switch_to_remote_type_survive_a_restart(make_app, qloop, protocol, memory_keyring):
    QApplication.instance().setQuitOnLastWindowClosed(False)
    app = make_app("--no-audio", "--processor", "echo")
    server = SERVERS[protocol]()

    async def scenario():
        await server.__aenter__()
        app.window.show()
        await app.controller.apply(app._endpoint)
        await until(lambda: app.controller.session.connected)
        app.window.settings_action.trigger()  # opens once its lists are gathered off the GUI thread
        await until(lambda: (shown := app.window.findChild(SettingsDialog)) is not None and shown.isVisible())
        dialog = app.window.findChild(SettingsDialog)
        assert dialog is not None and dialog.isVisible()
        choose_remote(dialog, server.url, protocol)
        await until(lambda: app.controller.session is not None
                    and app.controller.session.codec.info.name == protocol
                    and app.controller.session.connected)
        app.window.text_submitted.emit("first")
        await until(lambda: model_turns(app) and "first" in model_turns(app)[-1].text
                    and model_turns(app)[-1].state == "complete")
        # The server goes away: the window says so and counts down to the next try.
        port = server.port
        await server.__aexit__(None, None, None)
        await until(lambda: app.window.status.connection.state == "reconnecting")
        app.window.text_submitted.emit("while down")
        assert app.transcript.turns[-1].sent is False
        restarted = SERVERS[protocol](port=port)
        await restarted.__aenter__()
        app.window.retry_requested.emit()
        await until(lambda: app.transcript.turns[-1].speaker == "model"
                    and "while down" in app.transcript.turns[-1].text
                    and app.transcript.turns[-1].state == "complete")
        await restarted.__aexit__(None, None, None)

    qloop.run_until_complete(scenario())
    assert app.settings.server_mode == "remote" and app.settings.remote_protocol == protocol
    assert [t.text for t in app.transcript.turns if t.speaker == "user"] == ["first", "while down"]
