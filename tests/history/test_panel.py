"""The History panel in the real app (offscreen): list, search, read, export, delete, New conversation."""

from __future__ import annotations

import asyncio
import json

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox

from desktop.app import history_path
from desktop.ui.history_panel import highlight

from .conftest import rows, until, written


def replies(app):
    return [t for t in app.transcript.turns if t.speaker == "model" and t.state == "complete"]


async def say(app, text: str) -> None:
    count = len(replies(app))
    QTest.keyClicks(app.window.input, text)
    QTest.keyClick(app.window.input, Qt.Key.Key_Return)
    await until(lambda: len(replies(app)) == count + 1)


def test_find_read_export_and_delete_a_past_conversation(make_app, qloop, tmp_path):
    app = make_app("--no-audio", "--processor", "echo")
    path = history_path()
    assert path.parent.name == "voice-desktop" and ".local/share" in str(path)

    async def scenario():
        app.window.show()
        await app.history.start()
        await app.controller.apply(app._endpoint)
        await until(lambda: app.controller.session.connected)
        await say(app, "tell me about the aardvark")
        app.window.reset_action.trigger()  # New conversation (Ctrl+N)
        assert len(app.transcript) == 0
        await say(app, "something else entirely")
        await written(app.history.history)

        app.window.history_action.trigger()
        panel = app.history.panel
        await until(lambda: panel.rows.rowCount() == 2)
        assert "something else entirely" in panel.rows.data(panel.rows.index(0))  # newest first
        assert "echo" in panel.rows.data(panel.rows.index(1))

        QTest.keyClicks(panel.search, "aardv")
        await until(lambda: panel.count_label.text() == "2 matches")  # the question and its echo
        assert '<span style="background:#ffe58a">aardvark</span>' in panel.rows.data(panel.rows.index(0))
        QTest.keyClick(panel.search, Qt.Key.Key_Return)  # Enter goes to the first result (and presses no button)
        await until(lambda: panel.shown_conversation is not None)
        assert panel.file_dialog is None and panel.confirm is None
        assert panel.view.isReadOnly()
        assert "aardvark" in panel.view.toPlainText() and "You" in panel.view.toPlainText()
        assert "#ffe58a" in panel.view.toHtml()  # the word is highlighted in the conversation too
        panel.copy_button.click()
        from PySide6.QtGui import QGuiApplication

        assert "tell me about the aardvark" in QGuiApplication.clipboard().text()

        panel.export_button.click()
        panel.file_dialog.fileSelected.emit(str(tmp_path / "aardvark.md"))
        await until(lambda: panel.message.text().startswith("Exported"))
        panel.export_all_button.click()
        panel.file_dialog.fileSelected.emit(str(tmp_path / "all.json"))
        await until(lambda: "to " + str(tmp_path / "all.json") in panel.message.text())

        shown = panel.shown_conversation
        panel.delete_button.click()
        panel.confirm.button(QMessageBox.StandardButton.Cancel).click()
        await asyncio.sleep(0.1)
        assert rows(path, "SELECT count(*) FROM conversations WHERE id=?", shown) == [(1,)]
        panel.delete_button.click()
        [b for b in panel.confirm.buttons() if b.text() == "&Delete"][0].click()
        await until(lambda: panel.message.text() == "Deleted 1 conversation.")
        await until(lambda: panel.count_label.text() == "No matches")
        panel.search.clear()
        await until(lambda: panel.rows.rowCount() == 1)
        return shown

    shown = qloop.run_until_complete(scenario())
    markdown = (tmp_path / "aardvark.md").read_text()
    assert "tell me about the aardvark" in markdown and "something else" not in markdown
    assert len(json.loads((tmp_path / "all.json").read_text())["conversations"]) == 2
    assert rows(path, "SELECT count(*) FROM conversations WHERE id=?", shown) == [(0,)]
    assert rows(path, "SELECT count(*) FROM turns WHERE text LIKE '%aardvark%'") == [(0,)]
    assert b"aardvark" not in b"".join(p.read_bytes() for p in path.parent.iterdir())


def test_continue_is_offered_honestly_for_a_processor_that_cannot_take_context(make_app, qloop):
    app = make_app("--no-audio", "--processor", "echo")

    async def scenario():
        await app.history.start()
        await app.controller.apply(app._endpoint)
        await until(lambda: app.controller.session.connected)
        await say(app, "first words")
        await written(app.history.history)
        app.history.open_panel(app.window)
        panel = app.history.panel
        await until(lambda: panel.rows.rowCount() == 1)
        panel.select_row(0)
        await until(lambda: panel.shown_conversation is not None)
        assert panel.continue_button.text() == "Co&ntinue (show only)"
        panel.continue_button.click()
        assert "cannot be given an earlier conversation" in panel.message.text()

    qloop.run_until_complete(scenario())


def test_snippet_markup_is_escaped_before_highlighting():
    assert highlight("<b>x</b> \x02hit\x03") == '&lt;b&gt;x&lt;/b&gt; <span style="background:#ffe58a">hit</span>'


def test_deleting_says_where_the_old_imported_log_still_is(make_app, qloop):
    import os
    from pathlib import Path

    legacy = Path(os.environ["XDG_STATE_HOME"]) / "voice-desktop" / "history.jsonl"
    legacy.parent.mkdir(parents=True)
    legacy.write_text('{"id": 1, "speaker": "user", "text": "from the old version"}\n', encoding="utf-8")
    app = make_app("--no-audio", "--processor", "echo")

    async def scenario():
        await app.history.start()
        assert [t.text for t in app.transcript.turns] == ["from the old version"]
        app.history.open_panel(app.window)
        panel = app.history.panel
        await until(lambda: panel.rows.rowCount() == 1)
        panel.delete_requested.emit(None)
        await until(lambda: panel.message.text().startswith("Deleted 1 conversation."))
        assert str(legacy) in panel.message.text()
        assert len(app.transcript) == 0  # the open conversation was among them: the window starts afresh

    qloop.run_until_complete(scenario())
