"""Applying Settings redoes only what changed, through the real window and dialog.

The buffer, the talk key and the devices do not touch the endpoint: the embedded server and the model session
stay (Gemini would otherwise forget the conversation the window still shows). A change that does touch it
(the voice) reconnects.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from desktop.audio.backend import AudioBackend
from desktop.controller import Controller
from desktop.endpoint import Endpoint
from desktop.transcript import TranscriptModel
from desktop.ui.settings_dialog import SettingsDialog
from tests.app.test_window_end_to_end import model_turns, until


async def open_settings(app) -> SettingsDialog:
    app.window.settings_action.trigger()  # opens once its lists are gathered off the GUI thread
    await until(lambda: (shown := app.window.findChild(SettingsDialog)) is not None and shown.isVisible())
    dialog = app.window.findChild(SettingsDialog)
    assert dialog is not None and dialog.isVisible()
    return dialog


async def say(app, text: str) -> None:
    app.window.text_submitted.emit(text)
    await until(lambda: model_turns(app) and model_turns(app)[-1].text == text
                and model_turns(app)[-1].state == "complete")


async def shown_and_connected(app) -> None:
    app.window.show()
    await app.controller.apply(app._endpoint)
    await until(lambda: app.controller.session.connected)


def test_buffer_and_talk_key_changes_keep_the_server_and_the_session(make_app, qloop, memory_keyring):
    QApplication.instance().setQuitOnLastWindowClosed(False)
    app = make_app("--no-audio", "--processor", "echo")

    async def scenario():
        await shown_and_connected(app)
        await say(app, "before")
        server, session = app.controller.server, app.controller.session
        dialog = await open_settings(app)
        dialog.audio.jitter.setValue(dialog.audio.jitter.value() + 40)
        dialog.keys.hotkey.set_portable_text("F8")
        QTest.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
        await until(lambda: app.settings.hotkey == "F8")
        await app.controller.wait_idle()  # the apply task (saving included) has finished
        assert app.controller.server is server and app.controller.session is session
        assert session.connected and server.port == app.controller.server.port
        await say(app, "after")
        return server

    qloop.run_until_complete(scenario())
    assert [t.text for t in app.transcript.turns if t.speaker == "user"] == ["before", "after"]
    assert app.store.load().jitter_ms == 100 and app.store.load().hotkey == "F8"  # saved, off the GUI thread
    assert app.window._space.key == Qt.Key.Key_F8


def test_a_change_of_voice_reconnects(make_app, qloop, memory_keyring):
    QApplication.instance().setQuitOnLastWindowClosed(False)
    app = make_app("--no-audio", "--processor", "echo")

    async def scenario():
        await shown_and_connected(app)
        session = app.controller.session
        dialog = await open_settings(app)
        dialog.voice.voice.setCurrentText("Kore")
        QTest.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
        await until(lambda: app.controller.session is not session and app.controller.session is not None
                    and app.controller.session.connected)
        await say(app, "still here")

    qloop.run_until_complete(scenario())
    assert dict(app.controller.endpoint.config)["voice"] == "Kore"


@pytest.mark.audio
def test_a_new_buffer_reopens_only_the_speaker_and_a_new_mic_only_the_mic(pulse, qapp, qloop):
    controller = Controller(TranscriptModel(), AudioBackend())

    async def scenario():
        await controller.apply(Endpoint(processor="echo"))
        await controller.start_audio()
        capture, player = controller.capture, controller.player
        assert capture is not None and player is not None
        await controller.reopen_audio("", "", 120)
        assert controller.capture is capture and controller.player is not player
        assert controller.player.jitter_ms == 120 and controller.player.rate > 0
        player = controller.player
        await controller.reopen_audio("default", "", 120)
        assert controller.capture is not capture and controller.capture is not None
        assert controller.player is player
        assert controller.mic_state[0] == "off"

    try:
        qloop.run_until_complete(scenario())
    finally:
        qloop.run_until_complete(controller.shutdown())


def test_the_app_starts_with_a_bad_settings_file(make_app, tmp_path, caplog):
    from PySide6.QtCore import QSettings

    qsettings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    for name, value in {"talk_mode": "foo", "jitter_ms": "lots", "server_mode": "both"}.items():
        qsettings.setValue(name, value)
    qsettings.sync()
    app = make_app("--no-audio")
    assert (app.settings.talk_mode, app.settings.jitter_ms, app.settings.server_mode) == (
        "push_to_talk", 60, "embedded")
    assert app.window.talk_button.text() == "Hold to talk"
    assert sum("talk_mode" in r.getMessage() for r in caplog.records if r.levelname == "WARNING") == 1
