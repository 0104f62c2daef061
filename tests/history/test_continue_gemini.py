""""Continue" with the embedded Gemini processor: the past conversation is the context of a new session.

The real SDK talks to the local double of the Live API (tests/gemini_double.py); what reaches it is checked.
"""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desktop.app import App, build_parser, history_path
from tests.gemini_double import DEFAULT_KEY, GeminiDouble

from .conftest import rows, until, written

TIMEOUT = 60


def test_continue_sends_the_conversation_as_context_and_what_follows_joins_it(qapp, qloop, tmp_path, monkeypatch):
    double = GeminiDouble()
    qloop.run_until_complete(double.start())
    for name, value in double.environ().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GEMINI_API_KEY", DEFAULT_KEY)
    app = App(qapp, build_parser().parse_args(["--no-audio", "--settings", str(tmp_path / "s.ini")]))

    def replies():
        return [t for t in app.transcript.turns if t.speaker == "model" and t.state == "complete"]

    async def say(text: str) -> None:
        count = len(replies())
        QTest.keyClicks(app.window.input, text)
        QTest.keyClick(app.window.input, Qt.Key.Key_Return)
        await until(lambda: len(replies()) == count + 1, timeout=TIMEOUT)

    async def scenario():
        await app.history.start()
        await app.controller.apply(app._endpoint)
        await until(lambda: app.controller.session.connected, timeout=TIMEOUT)
        await say("my cat is called Miso")
        app.window.reset_action.trigger()  # New conversation
        await written(app.history.history)
        assert "Miso" not in json.dumps(double.setups)

        app.window.history_action.trigger()
        panel = app.history.panel
        await until(lambda: panel.rows.rowCount() == 1)
        panel.select_row(0)
        await until(lambda: panel.shown_conversation is not None)
        assert panel.continue_button.text() == "Co&ntinue"
        setups = len(double.setups)
        panel.continue_button.click()
        # New conversation above also restarts the session: wait for the setup that carries the context.
        await until(lambda: any("my cat is called Miso" in json.dumps(s) for s in double.setups[setups:])
                    and app.controller.session.connected, timeout=TIMEOUT)
        assert [t.text for t in app.transcript.turns][0] == "my cat is called Miso"  # shown in the window
        await say("what is my cat called?")
        assert "my cat is called Miso" in json.dumps(double.setups[-1])  # the session that answered had it
        await written(app.history.history)

    try:
        qloop.run_until_complete(scenario())
    finally:
        qloop.run_until_complete(app.controller.shutdown())
        qloop.run_until_complete(app.history.close())
        qloop.run_until_complete(double.close())
        app.window.close()
    assert rows(history_path(), "SELECT conversation_id, text FROM turns WHERE speaker='user' ORDER BY seq") == [
        (1, "my cat is called Miso"), (1, "what is my cat called?")]
    assert rows(history_path(), "SELECT count(*) FROM conversations") == [(1,)]
