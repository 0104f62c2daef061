"""The real window, controller and embedded echo server, driven as a user would (offscreen)."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desktop.app import App

TIMEOUT = 15


async def until(predicate, timeout: float = TIMEOUT) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


def model_turns(app: App):
    return [t for t in app.transcript.turns if t.speaker == "model"]


def test_typed_hello_comes_back_in_the_window(make_app, qloop):
    app = make_app("--no-audio", "--processor", "echo")

    async def scenario():
        app.window.show()
        await app.controller.apply(app._endpoint)
        await until(lambda: app.controller.session.connected)
        assert app.window.status.connection.state == "connected"
        QTest.keyClicks(app.window.input, "hello")
        QTest.keyClick(app.window.input, Qt.Key.Key_Return)
        await until(lambda: model_turns(app) and model_turns(app)[-1].state == "complete")

    qloop.run_until_complete(scenario())
    user, model = app.transcript.turns
    assert (user.speaker, user.text, user.sent) == ("user", "hello", True)
    assert model.text == "hello"  # once: the echo's text and its transcription are not both shown
    app.window.transcript.flush()
    widget = app.window.transcript.turn_widget(model.id)
    assert widget is not None and widget.text == "hello"
    assert app.window.input.text() == ""


def test_text_typed_while_the_server_is_gone_is_marked_unsent_then_delivered(make_app, qloop):
    app = make_app("--no-audio", "--processor", "echo")

    async def scenario():
        await app.controller.apply(app._endpoint)
        await until(lambda: app.controller.session.connected)
        server = app.controller.server
        port, token = server.port, server.token
        await server.close()
        await until(lambda: app.window.status.connection.state == "reconnecting")
        app.window.text_submitted.emit("are you there?")
        typed = app.transcript.turns[-1]
        assert typed.sent is False
        # The server comes back on the same address; the session finds it.
        from desktop.processors import get_factory
        from desktop.server import LiveServer

        app.controller.server = LiveServer(get_factory("echo"), port=port, token=token)
        await app.controller.server.start()
        app.window.retry_requested.emit()
        await until(lambda: app.transcript.get(typed.id).sent and model_turns(app)
                    and model_turns(app)[-1].text == "are you there?")

    qloop.run_until_complete(scenario())


def test_unreachable_remote_shows_the_reason_and_keeps_running(make_app, qloop):
    app = make_app("--no-audio", "--url", "ws://127.0.0.1:1")

    async def scenario():
        await app.controller.apply(app._endpoint)
        await until(lambda: app.window.status.connection.state == "reconnecting")

    qloop.run_until_complete(scenario())
    assert "refused" in app.window.status.connection.reason.lower()


def test_bad_remote_url_is_an_error_in_the_window_not_a_crash(make_app, qloop):
    app = make_app("--no-audio", "--url", "gopher://nowhere")
    qloop.run_until_complete(app.controller.apply(app._endpoint))
    assert app.window.status.connection.state == "error"
    assert "scheme" in app.window.status.connection.reason


def test_the_conversation_is_back_after_a_restart(make_app, qloop):
    first = make_app("--no-audio", "--processor", "echo")

    async def talk():
        await first.history.start()
        await first.controller.apply(first._endpoint)
        await until(lambda: first.controller.session.connected)
        first.window.text_submitted.emit("remember me")
        await until(lambda: model_turns(first) and model_turns(first)[-1].state == "complete")
        await first.history.close()  # as at quit: what is pending is written

    qloop.run_until_complete(talk())
    second = make_app("--no-audio", "--processor", "echo")
    qloop.run_until_complete(second.history.start())  # App.run does this before connecting
    assert [(t.speaker, t.text) for t in second.transcript.turns] == [("user", "remember me"),
                                                                       ("model", "remember me")]
    second.window.transcript.flush()
    assert len(second.window.transcript.turn_widgets()) == 2
