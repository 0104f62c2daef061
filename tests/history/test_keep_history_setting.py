"""Settings → Privacy → Keep history: saved, shown, and applied to the running app (off: nothing written)."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QSettings

from desktop.app import history_path
from desktop.settings import Settings, SettingsStore
from desktop.ui.settings_dialog import SettingsDialog

from .conftest import rows, until, written


def test_the_setting_is_saved_and_the_dialog_edits_it(qtbot, tmp_path, memory_keyring):
    store = SettingsStore(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    assert store.load().keep_history is True  # on by default
    store.save(dataclasses.replace(Settings(), keep_history=False))
    assert store.load().keep_history is False
    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    assert dialog.privacy.keep_history.isChecked()
    with qtbot.waitSignal(dialog.applied) as applied:
        dialog.privacy.keep_history.setChecked(False)
        dialog.apply_button.click()
    assert applied.args[0].keep_history is False


def test_turning_it_off_in_the_running_app_stops_writing(make_app, qloop, memory_keyring):
    app = make_app("--no-audio", "--processor", "echo")

    async def scenario():
        await app.history.start()
        await app.controller.apply(app._endpoint)
        await until(lambda: app.controller.session.connected)
        app.window.text_submitted.emit("kept")
        await until(lambda: len(app.transcript) == 2 and app.transcript.turns[-1].state == "complete")
        await written(app.history.history)
        app.apply_settings(dataclasses.replace(app.settings, keep_history=False))
        app.window.text_submitted.emit("not kept")
        await until(lambda: len(app.transcript) == 4 and app.transcript.turns[-1].state == "complete")
        app.history.open_panel(app.window)
        await until(lambda: "Keep history is off" in app.history.panel.message.text())

    qloop.run_until_complete(scenario())
    qloop.run_until_complete(app.history.close())
    assert [r[0] for r in rows(history_path(), "SELECT text FROM turns ORDER BY seq")] == ["kept", "kept"]
