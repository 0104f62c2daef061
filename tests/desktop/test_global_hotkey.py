"""The global talk key under a real X server (Xvfb): pressed with xdotool while another X client has focus."""

from __future__ import annotations

import importlib.util

import pytest

if importlib.util.find_spec("pynput") is None:
    pytest.skip("pynput is not installed (make test installs it)", allow_module_level=True)

from desktop.global_hotkey import GlobalHotkey, HotkeyError, parse_hotkey, support

from .xserver import wait_until, xvfb  # noqa: F401 - the fixture

pytestmark = pytest.mark.usefixtures("qapp")


@pytest.fixture
def x_display(xvfb, monkeypatch):  # noqa: F811
    monkeypatch.setenv("DISPLAY", xvfb.display)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    return xvfb


@pytest.fixture
def hotkey(x_display):
    key = GlobalHotkey(poll_ms=50)
    events: list[str] = []
    key.pressed.connect(lambda: events.append("pressed"))
    key.released.connect(lambda: events.append("released"))
    key.events = events
    yield key
    key.stop()


@pytest.fixture
def other(x_display):
    client = x_display.other_client()
    yield client
    client.stop()


def test_the_key_is_seen_while_another_client_has_focus_and_is_not_stolen(x_display, hotkey, other):
    hotkey.start("F8")
    assert x_display.focused_window_name() == other.title
    x_display.xdotool("keydown", "F8")
    wait_until(lambda: hotkey.events == ["pressed"], what="the press")
    x_display.xdotool("keyup", "F8")
    wait_until(lambda: hotkey.events == ["pressed", "released"], what="the release")
    # Typing goes on reaching the focused client: the listener observes, it does not grab.
    x_display.xdotool("type", "hi")
    assert other.read_until("text:hi") == "text:hi"
    assert x_display.focused_window_name() == other.title


def test_auto_repeat_is_one_press(x_display, hotkey, other):
    hotkey.start("F8")
    x_display.xdotool("keydown", "F8")
    # Xvfb auto-repeats a held key: presses keep coming with no release between them.
    wait_until(lambda: hotkey.repeats_ignored >= 3, what="auto-repeated presses")
    x_display.xdotool("keyup", "F8")
    wait_until(lambda: "released" in hotkey.events, what="the release")
    assert hotkey.events == ["pressed", "released"]


def test_a_combination_needs_its_modifiers(x_display, hotkey, other):
    hotkey.start("Ctrl+Alt+T")
    x_display.xdotool("key", "t")
    x_display.xdotool("keydown", "ctrl+alt+t")
    wait_until(lambda: hotkey.events == ["pressed"], what="the combination")
    x_display.xdotool("keyup", "ctrl+alt+t")
    wait_until(lambda: hotkey.events == ["pressed", "released"], what="the release")
    assert other.read_until("text:t") == "text:t"  # the plain t went to the other client, and did not talk


def test_a_lost_key_up_still_releases(x_display, hotkey, other):
    from pynput.keyboard import Key

    hotkey.start("F9")
    # pynput reporting a press whose key-up will never arrive (the key is not down on the X server):
    # the watchdog asks the server for the real keyboard state and ends the talk.
    hotkey._on_press(Key.f9)
    wait_until(lambda: hotkey.events == ["pressed", "released"], what="the watchdog's release")
    assert not hotkey.held


def test_stop_releases_a_held_key(x_display, hotkey, other):
    hotkey.start("F8")
    x_display.xdotool("keydown", "F8")
    wait_until(lambda: hotkey.events == ["pressed"], what="the press")
    hotkey.stop()
    assert hotkey.events == ["pressed", "released"]
    x_display.xdotool("keyup", "F8")


@pytest.mark.parametrize("text", ["", "Ctrl+", "Hyper+F8", "VolumeUp"])
def test_unusable_keys_are_refused_in_words(x_display, text):
    with pytest.raises(HotkeyError) as caught:
        parse_hotkey(text)
    assert str(caught.value)


def test_wayland_without_x_says_why(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    ok, why = support()
    assert not ok and "Wayland" in why
    with pytest.raises(HotkeyError, match="Wayland"):
        GlobalHotkey().start("F8")


@pytest.mark.parametrize("mode", ["hold", "toggle"])
def test_the_global_key_drives_the_apps_talk_while_another_client_has_focus(x_display, other, make_desktop_app,
                                                                         qloop, mode):
    from .conftest import until

    app = make_desktop_app("--no-audio", "--processor", "echo",
                           settings={"global_hotkey": "F8", "global_hotkey_mode": mode})
    assert app.integration.hotkey.running
    talks: list[str] = []
    app.window.talk_started.connect(lambda: talks.append("start"))
    app.window.talk_stopped.connect(lambda: talks.append("stop"))

    async def scenario():
        await app.controller.apply(app._endpoint)
        await until(lambda: app.controller.session.connected)
        assert x_display.focused_window_name() == other.title
        x_display.xdotool("keydown", "F8")
        await until(lambda: talks == ["start"])
        x_display.xdotool("keyup", "F8")
        if mode == "hold":
            await until(lambda: talks == ["start", "stop"])
        else:
            await until(lambda: not app.integration.hotkey.held)
            assert app.window.talk.talking  # toggle: still talking until the next press
            x_display.xdotool("key", "F8")
            await until(lambda: talks == ["start", "stop"])

    qloop.run_until_complete(scenario())
    assert not app.window.talk.talking


def test_an_unusable_global_key_is_said_and_the_window_key_still_works(x_display, make_desktop_app, qloop):
    app = make_desktop_app("--no-audio", "--processor", "echo", settings={"global_hotkey": "Hyper+F8"})
    assert not app.integration.hotkey.running
    assert "cannot be used" in app.window.banner.text() and "Hyper" in app.window.banner.text()
