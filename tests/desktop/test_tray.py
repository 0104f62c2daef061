"""The tray: its state follows the app, its menu drives the same talk as the window; no tray is fine."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desktop.integration import tray_state
from desktop.ui.tray import TRAY_STATES, TrayIcon

from .conftest import until


def test_every_state_has_its_own_icon_and_tooltip(qapp):
    tray = TrayIcon()
    images = set()
    for state in TRAY_STATES:
        tray.set_state(state)
        assert tray.state == state and TRAY_STATES[state][0] in tray.tooltip()
        images.add(tray.icon.icon().pixmap(32, 32).toImage().pixel(28, 28))
    assert len(images) == len(TRAY_STATES)  # the dot's colour tells them apart
    with pytest.raises(ValueError, match="unknown tray state"):
        tray.set_state("sleeping")
    tray.close()


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"connection": "reconnecting", "mic": "listening", "talking": True, "speaking": True, "muted": True},
     "disconnected"),
    ({"connection": "connected", "mic": "off", "talking": False, "speaking": True, "muted": True}, "muted"),
    ({"connection": "connected", "mic": "listening", "talking": True, "speaking": True, "muted": False},
     "listening"),
    ({"connection": "connected", "mic": "off", "talking": False, "speaking": True, "muted": False}, "speaking"),
    ({"connection": "connected", "mic": "listening", "talking": False, "speaking": False, "muted": False},
     "listening"),  # open mic
    ({"connection": "connected", "mic": "off", "talking": False, "speaking": False, "muted": False}, "idle"),
])
def test_the_tray_state_says_the_most_important_thing(kwargs, expected):
    assert tray_state(**kwargs) == expected


def test_tray_follows_the_app_and_drives_its_talk(make_desktop_app, qloop):
    app = make_desktop_app("--no-audio", "--processor", "echo")
    tray = app.integration.tray
    assert tray.state == "disconnected"
    talks: list[str] = []
    app.window.talk_started.connect(lambda: talks.append("start"))
    app.window.talk_stopped.connect(lambda: talks.append("stop"))

    async def scenario():
        await app.controller.apply(app._endpoint)
        await until(lambda: tray.state == "idle")
        tray.talk_action.trigger()  # Talk: starts the same talk the button would
        assert app.window.talk.talking and tray.state == "listening" and tray.talk_action.isChecked()
        assert app.window.talk_button.text() == "Release to send"
        tray.talk_action.trigger()
        assert not app.window.talk.talking and tray.state == "idle" and not tray.talk_action.isChecked()
        tray.mute_action.trigger()
        assert tray.state == "muted"
        tray.talk_action.trigger()  # refused while muted
        assert not app.window.talk.talking and not tray.talk_action.isChecked()
        tray.mute_action.trigger()
        tray.talk_action.trigger()
        assert app.window.talk.talking
        tray.talk_action.trigger()
        await app.controller.server.close()  # the server goes away
        await until(lambda: tray.state == "disconnected")

    qloop.run_until_complete(scenario())
    assert talks == ["start", "stop", "start", "stop"]


def test_an_open_reply_shows_as_speaking(make_desktop_app, qloop):
    app = make_desktop_app("--no-audio", "--processor", "echo")
    tray = app.integration.tray
    seen: list[str] = []
    tray_set = tray.set_state

    def record(state):
        seen.append(state)
        tray_set(state)

    tray.set_state = record  # see every state it is given, not only the last

    async def scenario():
        await app.controller.apply(app._endpoint)
        await until(lambda: tray.state == "idle")
        app.window.text_submitted.emit("hello")
        await until(lambda: any(t.speaker == "model" and t.state == "complete" for t in app.transcript.turns))

    qloop.run_until_complete(scenario())
    assert "speaking" in seen and seen[-1] == "idle"


def test_without_a_tray_the_window_still_works(make_desktop_app, qloop):
    app = make_desktop_app("--no-audio", "--processor", "echo")
    assert not app.integration.tray.available  # offscreen has no tray host
    assert not app.integration.tray_shown and not app.integration.tray.visible

    async def scenario():
        app.window.show()
        await app.controller.apply(app._endpoint)
        await until(lambda: app.controller.session.connected)
        QTest.keyClicks(app.window.input, "still here")
        QTest.keyClick(app.window.input, Qt.Key.Key_Return)
        await until(lambda: any(t.speaker == "model" and t.text == "still here" for t in app.transcript.turns))

    qloop.run_until_complete(scenario())
    app.window.close()  # with no tray, closing the window is not swallowed
    assert not app.window.isVisible()


def test_tray_quit_ends_the_app(make_desktop_app):
    app = make_desktop_app("--no-audio", "--processor", "echo")
    app.window.show()
    app.integration.tray.quit_action.trigger()
    assert app.quit_event.is_set() and not app.window.isVisible()


def test_keys_page_round_trips_the_desktop_settings(qapp):
    from desktop.settings import Settings
    from desktop.ui.settings_keys import KeysPage

    page = KeysPage()
    settings = Settings(global_hotkey="Ctrl+F9", global_hotkey_mode="toggle", close_to_tray=False, earcons=False)
    page.load(settings)
    assert page.global_enabled.isChecked() and page.global_hotkey.isEnabled()
    out = Settings()
    page.store(out)
    assert (out.global_hotkey, out.global_hotkey_mode, out.close_to_tray, out.earcons) == \
        ("Ctrl+F9", "toggle", False, False)
    page.global_enabled.setChecked(False)
    assert not page.global_hotkey.isEnabled()
    page.store(out)
    assert out.global_hotkey == ""
    page.global_enabled.setChecked(True)
    page.global_hotkey.set_portable_text("")
    assert page.problems() == ["Choose a global talk key, or turn it off."]
