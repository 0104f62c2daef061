"""The Settings dialog, driven as a user would: real pages, real checks, real servers on 127.0.0.1.

Async checks run both ways the dialog supports: as tasks on a qasync loop (the app's way: tests run a
scenario with ``qloop.run_until_complete``) and on a worker thread when no loop runs. Each test ends with
nothing left behind: no pending task, no job thread, no open capture.

Run as a script to write ``shots/settings.png`` (and one per tab) for design review::

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/ui/test_settings_dialog.py
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QLineEdit

from desktop.errors import AudioDeviceError, InvalidEndpoint
from desktop.processors import get_factory
from desktop.protocols.base import split_ws_url
from desktop.server import LiveServer
from desktop.settings import Settings
from desktop.ui import mic_monitor, settings_dialog
from desktop.ui.async_jobs import AsyncJobs
from desktop.ui.mic_monitor import NO_LOOP_MESSAGE, MicMonitor
from desktop.ui.settings_audio import NO_DEVICES, SYSTEM_DEFAULT
from desktop.ui.settings_checks import (
    UNENCRYPTED_WARNING,
    HeaderError,
    check_url,
    is_loopback_host,
    parse_headers,
    tone_pcm16,
)
from desktop.ui.settings_dialog import SettingsDialog
from desktop.ui.settings_server import AUTOMATIC_TITLE, KEY_WORKS, REACHABLE

TIMEOUT = 15.0
BUILTIN_PROTOCOLS = {"live_server", "adk", "adk_bidi", "ai_proxy_core"}


# -- helpers -----------------------------------------------------------------------------------


async def until(predicate: Callable[[], object], timeout: float = TIMEOUT) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


def job_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "vd-settings-job" and t.is_alive()]


@pytest.fixture
def make_dialog(qtbot) -> Iterator[Callable[..., SettingsDialog]]:
    dialogs: list[SettingsDialog] = []

    def make(settings: Settings | None = None, **kwargs: object) -> SettingsDialog:
        dialog = SettingsDialog(settings if settings is not None else Settings(), **kwargs)
        qtbot.addWidget(dialog)
        dialogs.append(dialog)
        return dialog

    yield make
    for dialog in dialogs:
        dialog.shutdown()
        assert not dialog.monitor.running
    assert not job_threads(), "a settings job thread outlived its test"


def show(qtbot, dialog: SettingsDialog) -> None:
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)


async def show_async(dialog: SettingsDialog) -> None:
    """:func:`show` from inside a running task: qtbot's waits would spin a nested Qt loop, and qasync cannot
    run the tasks that showing starts (the mic monitor's) from inside another task's step."""
    dialog.show()
    dialog.activateWindow()
    await until(dialog.isVisible)


def visible(widget) -> bool:
    """Shown on its page (pages on other tabs count as shown)."""
    page = widget
    while page.parentWidget() is not None and page.objectName() != "settingsPage":
        page = page.parentWidget()
    return widget.isVisibleTo(page)


def set_remote(dialog: SettingsDialog, url: str) -> None:
    dialog.server.remote_radio.setChecked(True)
    dialog.server.url.setText(url)


def select_data(combo, value: str) -> None:
    index = combo.findData(value)
    assert index >= 0, f"{value!r} not in the combo"
    combo.setCurrentIndex(index)


@pytest.fixture(autouse=True)
def _collect_garbage_on_the_gui_thread():
    """Qt objects left in reference cycles by earlier tests (a closed qasync loop's timers) must die on
    the GUI thread: if a job's worker thread happened to run the collector, Qt would warn."""
    gc.collect()


REAL_LIST_DEVICES = settings_dialog.list_devices


@pytest.fixture(autouse=True)
def _no_real_devices(monkeypatch):
    """Dialogs list no devices (so none is opened) unless a test says otherwise: a sound server that happens
    to run on this machine must not change what these tests see."""
    monkeypatch.setattr(settings_dialog, "list_devices", lambda: ([], [], ""))


@pytest.fixture(autouse=True)
def _main_window_stays(qapp):
    """In the app the main window outlives the dialog; here closing the dialog must not quit the
    QApplication (which would stop a qasync loop in the middle of a scenario)."""
    before = qapp.quitOnLastWindowClosed()
    qapp.setQuitOnLastWindowClosed(False)
    yield
    qapp.setQuitOnLastWindowClosed(before)


@pytest.fixture
def background_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop on its own thread, for servers the dialog reaches while no loop runs on the GUI thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="test-server-loop", daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def on(loop: asyncio.AbstractEventLoop, coro):
    return asyncio.run_coroutine_threadsafe(coro, loop).result(TIMEOUT)


# -- round trip ------------------------------------------------------------------------------


def test_apply_emits_the_edited_settings_and_leaves_the_original_alone(qtbot, make_dialog):
    original = Settings(remote_headers={"X-Old": "1"}, voice="Puck")
    before = dataclasses.replace(original, remote_headers=dict(original.remote_headers))
    dialog = make_dialog(original)
    assert dialog.settings() == original
    assert not dialog.apply_button.isEnabled()  # nothing to apply yet

    set_remote(dialog, "wss://voice.example.com/ws")
    select_data(dialog.server.protocol, "adk_bidi")
    dialog.server.secret.setText("s3cret")
    dialog.server.headers.setPlainText("X-Client: desktop\nX-Team: blue")
    dialog.server.gemini_key.setText("AIza-key")
    select_data(dialog.server.processor, "echo")
    dialog.voice.voice.setCurrentText("Kore")
    dialog.voice.model.setText("gemini-live-test")
    dialog.voice.instruction.setPlainText("Be brief.")
    dialog.audio.jitter.setValue(120)
    dialog.audio.open_mic.setChecked(True)
    dialog.keys.hotkey.setKeySequence(QKeySequence("F8"))

    assert dialog.apply_button.isEnabled()
    with qtbot.waitSignal(dialog.applied, timeout=1000) as blocker:
        dialog.apply_button.click()
    expected = Settings(
        server_mode="remote", processor="echo", remote_url="wss://voice.example.com/ws",
        remote_protocol="adk_bidi", remote_secret="s3cret",
        remote_headers={"X-Client": "desktop", "X-Team": "blue"}, gemini_api_key="AIza-key",
        voice="Kore", model="gemini-live-test", system_instruction="Be brief.", jitter_ms=120,
        talk_mode="open_mic", hotkey="F8")
    assert blocker.args == [expected]
    assert original == before  # untouched, headers dict included
    assert blocker.args[0] is not original
    assert not dialog.apply_button.isEnabled()  # applied: nothing new
    assert dialog.settings() == expected  # and the dialog goes on editing from there


def test_each_apply_emits_a_new_object(qtbot, make_dialog):
    dialog = make_dialog()
    dialog.voice.voice.setCurrentText("Aoede")
    with qtbot.waitSignal(dialog.applied, timeout=1000) as first:
        dialog.apply_button.click()
    first.args[0].remote_headers["X-Sneaky"] = "1"  # a receiver changing its copy
    dialog.voice.voice.setCurrentText("Leda")
    with qtbot.waitSignal(dialog.applied, timeout=1000) as second:
        dialog.apply_button.click()
    assert second.args[0].voice == "Leda"
    assert second.args[0].remote_headers == {}


def test_ok_emits_the_changes_and_closes(qtbot, make_dialog):
    dialog = make_dialog()
    show(qtbot, dialog)
    dialog.audio.jitter.setValue(200)
    with qtbot.waitSignal(dialog.applied, timeout=1000) as blocker:
        dialog.ok_button.click()
    assert blocker.args[0].jitter_ms == 200
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert not dialog.isVisible()


def test_the_page_in_front_is_built_when_shown_and_the_others_on_later_turns(qtbot, make_dialog):
    dialog = make_dialog(Settings(voice="Charon"))
    assert dialog.pages_built == (False,) * 5  # building the dialog holds the GUI thread for its frame only
    dialog.show()
    assert dialog.pages_built[0] and not all(dialog.pages_built)  # drawn whole, the rest still to come
    assert dialog.tabs.widget(0).widget() is dialog.server
    qtbot.waitUntil(lambda: all(dialog.pages_built))
    assert dialog.tabs.widget(1).widget() is None  # built, not yet laid out: its tab was never shown
    dialog.show_page(dialog.voice)
    assert dialog.tabs.widget(1).widget() is dialog.voice and dialog.voice.voice.currentText() == "Charon"


def test_a_problem_on_a_page_not_built_yet_still_keeps_ok_from_saving(qtbot, make_dialog):
    dialog = make_dialog(Settings(voice=""))  # e.g. a hand-edited settings file
    assert not any(dialog.pages_built) and dialog.ok_button.isEnabled()  # OK before any page was built
    with qtbot.assertNotEmitted(dialog.applied):
        dialog.ok_button.click()
    assert dialog.result() != QDialog.DialogCode.Accepted and not dialog.ok_button.isEnabled()
    assert dialog.problem_note.text() == "Voice: Choose a voice."


def test_ok_without_changes_emits_nothing(qtbot, make_dialog):
    dialog = make_dialog(Settings(voice="Charon"))
    show(qtbot, dialog)
    with qtbot.assertNotEmitted(dialog.applied):
        dialog.ok_button.click()
    assert dialog.result() == QDialog.DialogCode.Accepted


def test_cancel_emits_nothing(qtbot, make_dialog):
    original = Settings()
    dialog = make_dialog(original)
    show(qtbot, dialog)
    set_remote(dialog, "ws://127.0.0.1:9000")
    dialog.voice.voice.setCurrentText("Fenrir")
    with qtbot.assertNotEmitted(dialog.applied):
        dialog.cancel_button.click()
    assert dialog.result() == QDialog.DialogCode.Rejected
    assert original == Settings()


def test_escape_cancels(qtbot, make_dialog):
    dialog = make_dialog()
    show(qtbot, dialog)
    dialog.voice.model.setText("changed")
    with qtbot.assertNotEmitted(dialog.applied):
        QTest.keyClick(dialog, Qt.Key.Key_Escape)
    assert dialog.result() == QDialog.DialogCode.Rejected


def test_processor_choices_show_titles_and_automatic_first(make_dialog):
    combo = make_dialog().server.processor
    assert combo.itemText(0) == AUTOMATIC_TITLE and combo.itemData(0) == ""
    assert {combo.itemData(i) for i in range(combo.count())} == {"", "echo", "gemini", "local"}
    assert combo.itemText(combo.findData("gemini")) == "Gemini Live"


def test_secret_fields_hide_their_text_until_asked(make_dialog):
    dialog = make_dialog(Settings(gemini_api_key="AIza-visible?"))
    secret = dialog.server.gemini_key
    assert secret.edit.echoMode() == QLineEdit.EchoMode.Password
    secret.toggle.click()
    assert secret.revealed and secret.toggle.text() == "Hide"
    secret.toggle.click()
    assert not secret.revealed


# -- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["gopher://example.com", "", "ws://", "ws://host:99999", "just text"])
def test_bad_url_shows_the_reason_and_disables_ok(make_dialog, url):
    dialog = make_dialog()
    set_remote(dialog, url)
    with pytest.raises(InvalidEndpoint) as excinfo:
        split_ws_url(url)
    note = dialog.server.url_note
    assert visible(note) and note.kind == "error"
    assert note.text() == str(excinfo.value)
    assert not dialog.ok_button.isEnabled() and not dialog.apply_button.isEnabled()
    assert not dialog.server.test_connection_button.isEnabled()
    assert str(excinfo.value) in dialog.problem_note.text()

    dialog.server.url.setText("ws://127.0.0.1:8765")
    assert not visible(note)
    assert dialog.ok_button.isEnabled() and dialog.server.test_connection_button.isEnabled()


def test_a_bad_url_does_not_block_the_embedded_server(make_dialog):
    dialog = make_dialog()
    set_remote(dialog, "gopher://x")
    assert not dialog.ok_button.isEnabled()
    dialog.server.embedded_radio.setChecked(True)
    assert dialog.ok_button.isEnabled()
    assert not visible(dialog.server.remote_box)


@pytest.mark.parametrize("url", ["ws://192.168.1.20:8765", "ws://voice.example.com", "http://10.0.0.7/ws",
                                 "ws://[2001:db8::1]:80"])
def test_plain_ws_to_another_host_warns(make_dialog, url):
    dialog = make_dialog()
    set_remote(dialog, url)
    note = dialog.server.url_note
    assert visible(note) and note.kind == "warning"
    assert note.text() == UNENCRYPTED_WARNING
    assert dialog.ok_button.isEnabled()  # a warning, not an error


@pytest.mark.parametrize("url", ["ws://127.0.0.1:8765", "ws://127.8.9.10", "ws://localhost:1/",
                                 "ws://[::1]:8765", "http://LOCALHOST:80"])
def test_plain_ws_to_this_machine_does_not_warn(make_dialog, url):
    dialog = make_dialog()
    set_remote(dialog, url)
    assert not visible(dialog.server.url_note)
    assert UNENCRYPTED_WARNING not in dialog.server.url_note.text()


def test_wss_says_certificates_are_verified(make_dialog):
    dialog = make_dialog()
    set_remote(dialog, "wss://voice.example.com")
    note = dialog.server.url_note
    assert visible(note) and note.kind == "info" and "verified" in note.text()


@pytest.mark.parametrize(("host", "loopback"), [
    ("localhost", True), ("127.0.0.1", True), ("127.255.0.9", True), ("[::1]", True), ("::ffff:127.0.0.1", True),
    ("app.localhost", True), ("128.0.0.1", False), ("192.168.0.1", False), ("example.com", False),
    ("localhost.example.com", False), ("", False)])
def test_loopback_hosts(host, loopback):
    assert is_loopback_host(host) is loopback


def test_check_url_values():
    assert check_url("ws://127.0.0.1:1").error == ""
    assert "scheme" in check_url("ftp://x").error


# -- protocols ------------------------------------------------------------------------------------


def test_protocol_combo_lists_every_builtin_with_what_it_supports(make_dialog):
    dialog = make_dialog()
    combo = dialog.server.protocol
    names = {combo.itemData(i) for i in range(combo.count())}
    assert BUILTIN_PROTOCOLS <= names
    assert combo.itemText(combo.findData("live_server")) == "genai-processors live_server"
    set_remote(dialog, "ws://127.0.0.1:1")
    select_data(combo, "live_server")
    note = dialog.server.protocol_note.text()
    assert "16 kHz" in note and "turn events" in note and "interruption" in note
    select_data(combo, "ai_proxy_core")
    note = dialog.server.protocol_note.text()
    assert "quiet" in note and "no interruption" in note


def test_a_protocol_that_is_gone_is_kept_but_must_be_changed(make_dialog):
    dialog = make_dialog(Settings(server_mode="remote", remote_url="ws://127.0.0.1:1", remote_protocol="vanished"))
    combo = dialog.server.protocol
    assert combo.currentData() == "vanished" and "not installed" in combo.currentText()
    assert not dialog.ok_button.isEnabled()
    select_data(combo, "live_server")
    assert dialog.ok_button.isEnabled()


# -- extra headers ------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("", {}),
    ("X-Api-Version: 2", {"X-Api-Version": "2"}),
    ("  Authorization:   Bearer abc  \n\n# a comment\nX-Empty:", {"Authorization": "Bearer abc", "X-Empty": ""}),
    ("X-Url: http://a:b@c/d", {"X-Url": "http://a:b@c/d"}),
])
def test_parse_headers_accepts(text, expected):
    assert parse_headers(text) == expected


@pytest.mark.parametrize(("text", "words"), [
    ("no colon here", "Line 1: write it as 'Name: value'"),
    ("X-A: 1\n: value", "Line 2"),
    ("Bad Name: 1", "not a valid header name"),
    ("Host: evil", "set by the WebSocket handshake"),
    ("sec-websocket-key: x", "set by the WebSocket handshake"),
    ("X-A: 1\nx-a: 2", "Line 2: x-a is already given on line 1"),
    ("X-A: one\x07two", "control character"),
])
def test_parse_headers_refuses_with_the_line(text, words):
    with pytest.raises(HeaderError) as excinfo:
        parse_headers(text)
    assert words in str(excinfo.value)


def test_headers_box_validates_as_you_type(make_dialog):
    dialog = make_dialog()
    set_remote(dialog, "ws://127.0.0.1:1")
    dialog.server.headers.setPlainText("X-Good: yes\nbroken")
    note = dialog.server.headers_note
    assert visible(note) and note.kind == "error" and note.text().startswith("Line 2")
    assert not dialog.ok_button.isEnabled()
    dialog.server.headers.setPlainText("X-Good: yes\nX-Also: fine")
    assert not visible(note) and dialog.ok_button.isEnabled()
    assert dialog.settings().remote_headers == {"X-Good": "yes", "X-Also": "fine"}


def test_headers_are_shown_one_per_line(make_dialog):
    dialog = make_dialog(Settings(remote_headers={"X-A": "1", "X-B": "two words"}))
    assert dialog.server.headers.toPlainText() == "X-A: 1\nX-B: two words"


# -- Test key, against the real SDK and the Gemini double -------------------------------------------


@pytest.mark.parametrize(("key", "works"), [("double-test-key", True), ("wrong-key", False)])
def test_test_key_on_the_qasync_loop(qtbot, qloop, make_dialog, key, works):
    from tests.gemini_double import GeminiDouble

    async def scenario():
        async with GeminiDouble() as double:
            dialog = make_dialog(gemini_http_options=double.http_options())
            show(qtbot, dialog)
            dialog.server.gemini_key.setText(key)
            dialog.server.test_key_button.click()
            note = dialog.server.key_note
            assert note.kind == "busy" and dialog.jobs.busy("key")
            await until(lambda: note.kind != "busy")
            return dialog

    dialog = qloop.run_until_complete(scenario())
    note = dialog.server.key_note
    if works:
        assert (note.kind, note.text()) == ("ok", KEY_WORKS)
    else:
        assert note.kind == "error" and note.text().startswith("Gemini rejected the API key")
    assert not dialog.jobs.pending
    assert not [t for t in asyncio.all_tasks(qloop) if not t.done()]


def test_test_key_without_an_event_loop_uses_a_worker_thread(qtbot, make_dialog, background_loop):
    from tests.gemini_double import GeminiDouble

    double = GeminiDouble()
    on(background_loop, double.start())
    try:
        dialog = make_dialog(gemini_http_options=double.http_options())
        dialog.server.gemini_key.setText("not-the-key")
        dialog.server.test_key_button.click()
        assert job_threads()  # the check runs off the GUI thread
        note = dialog.server.key_note
        qtbot.waitUntil(lambda: note.kind != "busy", timeout=int(TIMEOUT * 1000))
        assert note.kind == "error" and "API key" in note.text()
        qtbot.waitUntil(lambda: not dialog.jobs.pending, timeout=int(TIMEOUT * 1000))
    finally:
        on(background_loop, double.close())


def test_editing_the_key_clears_the_old_answer(make_dialog):
    dialog = make_dialog()
    dialog.server.show_key_result(None)
    assert visible(dialog.server.key_note)
    dialog.server.gemini_key.setText("another")
    assert not visible(dialog.server.key_note)


# -- Test connection, against the real embedded server -----------------------------------------------


def test_test_connection_reaches_a_live_server_with_its_token_and_not_without(qtbot, qloop, make_dialog):
    answers: dict[str, tuple[str, str]] = {}

    async def scenario():
        async with LiveServer(get_factory("echo")) as server:
            dialog = make_dialog()
            show(qtbot, dialog)
            set_remote(dialog, f"ws://127.0.0.1:{server.port}")
            note = dialog.server.connection_note
            for label, token in (("with", server.token), ("without", "")):
                dialog.server.secret.setText(token)
                dialog.server.test_connection_button.click()
                assert note.kind == "busy"
                await until(lambda: note.kind != "busy")
                answers[label] = (note.kind, note.text())
            dialog.close()
            await until(lambda: not dialog.jobs.pending)

    qloop.run_until_complete(scenario())
    assert answers["with"] == ("ok", REACHABLE)
    kind, text = answers["without"]
    assert kind == "error" and "HTTP 401" in text
    assert not [t for t in asyncio.all_tasks(qloop) if not t.done()]


def test_test_connection_says_when_nothing_listens(qtbot, qloop, make_dialog):
    async def scenario():
        dialog = make_dialog()
        set_remote(dialog, "ws://127.0.0.1:1")
        dialog.server.test_connection_button.click()
        await until(lambda: dialog.server.connection_note.kind != "busy")
        return dialog

    dialog = qloop.run_until_complete(scenario())
    note = dialog.server.connection_note
    assert note.kind == "error" and "refused" in note.text().lower()


def test_closing_the_dialog_cancels_a_running_check(qtbot, qloop, make_dialog):
    async def scenario():
        hung = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)  # accepts, never answers
        port = hung.sockets[0].getsockname()[1]
        try:
            dialog = make_dialog()
            show(qtbot, dialog)
            set_remote(dialog, f"ws://127.0.0.1:{port}")
            with qtbot.assertNotEmitted(dialog.applied):
                dialog.server.test_connection_button.click()
                await asyncio.sleep(0.1)
                assert dialog.jobs.busy("connection")
                dialog.reject()
                assert not dialog.jobs.busy("connection")
                await until(lambda: not dialog.jobs.pending)
            assert not visible(dialog.server.connection_note)  # no stale "Connecting…"
        finally:
            hung.close()
            await hung.wait_closed()

    qloop.run_until_complete(scenario())


# -- async jobs on their own -----------------------------------------------------------------------------


def test_jobs_without_a_loop_answer_on_the_gui_thread(qtbot):
    jobs = AsyncJobs()
    answers: list[tuple[str | None, bool]] = []

    async def job() -> str | None:
        await asyncio.sleep(0)
        return "answer"

    jobs.start("x", job, lambda a: answers.append((a, threading.current_thread() is threading.main_thread())))
    qtbot.waitUntil(lambda: bool(answers), timeout=5000)
    assert answers == [("answer", True)]
    assert not jobs.busy("x")


def test_a_new_job_replaces_the_old_one_and_its_answer_is_dropped(qtbot):
    jobs = AsyncJobs()
    answers: list[str | None] = []
    release = threading.Event()

    async def slow() -> str | None:
        while not release.is_set():
            await asyncio.sleep(0.01)
        return "stale"

    async def fast() -> str | None:
        return "fresh"

    jobs.start("x", slow, answers.append)
    jobs.start("x", fast, answers.append)
    release.set()
    qtbot.waitUntil(lambda: bool(answers), timeout=5000)
    qtbot.waitUntil(lambda: not jobs.pending, timeout=5000)
    QApplication.processEvents()
    assert answers == ["fresh"]


def test_a_failing_job_answers_in_words(qtbot):
    jobs = AsyncJobs()
    answers: list[str | None] = []

    async def broken() -> str | None:
        raise ValueError("bad thing")

    jobs.start("x", broken, answers.append)
    qtbot.waitUntil(lambda: bool(answers), timeout=5000)
    assert answers == ["Unexpected error: bad thing"]


def test_cancel_all_leaves_no_thread(qtbot):
    jobs = AsyncJobs()
    answers: list[str | None] = []

    async def forever() -> str | None:
        await asyncio.sleep(3600)
        return "never"

    jobs.start("x", forever, answers.append)
    qtbot.waitUntil(lambda: bool(job_threads()), timeout=5000)
    jobs.cancel_all()
    assert not jobs.pending and not job_threads()
    QApplication.processEvents()
    assert answers == []


# -- audio ------------------------------------------------------------------------------------------


def test_device_lists_start_with_the_system_default(monkeypatch, make_dialog):
    monkeypatch.setattr(settings_dialog, "list_devices", REAL_LIST_DEVICES)  # what PortAudio really lists
    inputs, outputs, problem = settings_dialog.list_devices()
    dialog = make_dialog()
    for combo, note, listed in ((dialog.audio.input, dialog.audio.input_note, inputs),
                                (dialog.audio.output, dialog.audio.output_note, outputs)):
        assert combo.itemText(0) == SYSTEM_DEFAULT and combo.itemData(0) == ""
        assert combo.currentIndex() == 0
        if listed:
            assert combo.count() >= 2
        else:  # the usual case here: no sound server runs during these tests
            assert visible(note) and note.text() == (problem or NO_DEVICES)


def test_no_devices_shows_the_hint_and_keeps_the_default(make_dialog):
    dialog = make_dialog(Settings())
    for combo, note in ((dialog.audio.input, dialog.audio.input_note),
                        (dialog.audio.output, dialog.audio.output_note)):
        assert [combo.itemText(i) for i in range(combo.count())] == [SYSTEM_DEFAULT]
        assert visible(note) and note.text() == NO_DEVICES
    assert dialog.settings().input_device == "" and dialog.ok_button.isEnabled()


def test_listed_devices_and_a_missing_one(monkeypatch, make_dialog):
    monkeypatch.setattr(settings_dialog, "list_devices", lambda: (
        [("USB Mic", "USB Mic (ALSA, 48000 Hz)"), ("USB Mic", "USB Mic (JACK, 48000 Hz)")],
        [("Speakers", "Speakers (ALSA, 48000 Hz)")], ""))
    dialog = make_dialog(Settings(input_device="USB Mic", output_device="Old headset"))
    inputs = [dialog.audio.input.itemText(i) for i in range(dialog.audio.input.count())]
    assert inputs == [SYSTEM_DEFAULT, "USB Mic"]  # one name under two host APIs: listed once
    assert dialog.audio.input.currentData() == "USB Mic"
    assert dialog.audio.output.currentText() == "Old headset (not found)"
    assert not visible(dialog.audio.input_note)
    assert dialog.settings().output_device == "Old headset"  # kept unless the user picks another
    select_data(dialog.audio.output, "")
    assert dialog.settings().output_device == ""


def test_portaudio_missing_is_shown_not_raised(monkeypatch, make_dialog):
    monkeypatch.setattr(settings_dialog, "list_devices", lambda: ([], [], "Audio is unavailable: no PortAudio"))
    dialog = make_dialog()
    assert dialog.audio.input_note.text() == "Audio is unavailable: no PortAudio"
    assert dialog.audio.input_note.kind == "error"


class FakeCapture:
    """Stands in for desktop.audio.capture.Capture: records what the monitor asks of it."""

    made: ClassVar[list[FakeCapture]] = []
    fail_with: ClassVar[str | None] = None

    def __init__(self, device, on_level, on_error):
        self.device, self.on_level, self.on_error = device, on_level, on_error
        self.running = False
        FakeCapture.made.append(self)

    def start(self, loop=None, on_chunk=None, on_error=None):
        assert loop is not None
        if FakeCapture.fail_with:
            raise AudioDeviceError(FakeCapture.fail_with)
        self.running = True

    def stop(self):
        self.running = False


@pytest.fixture
def fake_capture(monkeypatch):
    FakeCapture.made, FakeCapture.fail_with = [], None
    monkeypatch.setattr(mic_monitor, "_make_capture", FakeCapture)
    monkeypatch.setattr(settings_dialog, "list_devices", lambda: (
        [("Mic A", "Mic A"), ("Mic B", "Mic B")], [("Out", "Out")], ""))
    return FakeCapture


def test_the_meter_follows_the_chosen_microphone_while_the_audio_tab_is_shown(qtbot, qloop, make_dialog, fake_capture):
    """Opening and closing run on a worker thread (PortAudio may block): each step is awaited, not assumed."""
    async def scenario():
        dialog = make_dialog(Settings(input_device="Mic A"))
        assert fake_capture.made == []  # nothing opened before the dialog shows
        await show_async(dialog)
        await dialog.monitor.wait()
        assert fake_capture.made == [], "Settings opened on the Server tab listened to the microphone"
        dialog.show_page(dialog.audio)
        await until(lambda: dialog.monitor.running and not dialog.monitor.busy)
        first = fake_capture.made[-1]
        assert first.device == "Mic A" and dialog.monitor.running
        first.on_level(-12.0)
        assert dialog.audio.meter.target_level == -12.0 and visible(dialog.audio.meter)
        select_data(dialog.audio.input, "Mic B")
        await until(lambda: fake_capture.made[-1] is not first and dialog.monitor.running
                    and not dialog.monitor.busy)
        second = fake_capture.made[-1]
        assert not first.running and second.device == "Mic B"
        second.on_error("The microphone 'Mic B' stopped unexpectedly")
        assert not visible(dialog.audio.meter)
        assert dialog.audio.meter_note.text() == "The microphone 'Mic B' stopped unexpectedly"
        select_data(dialog.audio.input, "Mic A")
        await until(lambda: fake_capture.made[-1] is not second and dialog.monitor.running
                    and not dialog.monitor.busy)
        third = fake_capture.made[-1]
        assert visible(dialog.audio.meter) and not visible(dialog.audio.meter_note)
        dialog.show_page(dialog.keys)  # another tab: the microphone is let go
        await dialog.monitor.wait()
        assert not dialog.monitor.running and not third.running
        dialog.show_page(dialog.audio)  # and taken again on coming back
        await until(lambda: dialog.monitor.running and not dialog.monitor.busy)
        fourth = fake_capture.made[-1]
        assert fourth is not third and fourth.device == "Mic A" and fourth.running
        dialog.close()
        assert not dialog.monitor.running
        await dialog.monitor.wait()
        assert not fourth.running

    qloop.run_until_complete(scenario())


def test_quick_changes_monitor_only_the_last_microphone(qtbot, qloop, make_dialog, fake_capture):
    async def scenario():
        dialog = make_dialog(Settings(input_device="Mic A"))
        await show_async(dialog)
        dialog.show_page(dialog.audio)
        select_data(dialog.audio.input, "Mic B")
        select_data(dialog.audio.input, "Mic A")
        select_data(dialog.audio.input, "Mic B")
        await dialog.monitor.wait()
        assert [c.device for c in fake_capture.made if c.running] == ["Mic B"]
        assert dialog.monitor.running
        dialog.close()
        await dialog.monitor.wait()
        assert not any(c.running for c in fake_capture.made)

    qloop.run_until_complete(scenario())


def test_a_microphone_that_cannot_open_shows_why_instead_of_the_meter(qtbot, qloop, make_dialog, fake_capture):
    fake_capture.fail_with = "Could not open microphone 'Mic A': Device unavailable"

    async def scenario():
        dialog = make_dialog(Settings(input_device="Mic A"))
        await show_async(dialog)
        dialog.show_page(dialog.audio)
        await dialog.monitor.wait()
        return dialog

    dialog = qloop.run_until_complete(scenario())
    assert not visible(dialog.audio.meter)
    assert dialog.audio.meter_note.text() == fake_capture.fail_with
    assert not dialog.monitor.running


def test_the_monitor_needs_a_running_loop(qtbot, fake_capture):
    monitor = MicMonitor()
    with qtbot.waitSignal(monitor.failed, timeout=1000) as blocker:
        monitor.start("Mic A")
    assert blocker.args == [NO_LOOP_MESSAGE]
    assert fake_capture.made == []


def test_test_tone_failure_is_shown_as_text(qtbot, make_dialog):
    dialog = make_dialog(Settings(output_device="No Such Speaker 7"))  # unplugged since last time
    dialog.audio.tone_button.click()
    assert not dialog.audio.tone_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.audio.tone_button.isEnabled(), timeout=int(TIMEOUT * 1000))
    note = dialog.audio.tone_note
    assert note.kind == "error" and "speaker" in note.text().lower()
    assert "Traceback" not in note.text()


def test_tone_is_half_a_second_of_pcm16():
    pcm = tone_pcm16()
    assert len(pcm) == 24000 // 2 * 2
    assert pcm[:2] == b"\x00\x00"  # faded in: no click


def test_jitter_is_limited(make_dialog):
    dialog = make_dialog()
    dialog.audio.jitter.setValue(5)
    assert dialog.audio.jitter.value() == 20
    dialog.audio.jitter.setValue(5000)
    assert dialog.audio.jitter.value() == 500


# -- keys -----------------------------------------------------------------------------------------------


def test_hotkey_is_stored_as_portable_text(make_dialog):
    dialog = make_dialog(Settings(hotkey="Ctrl+F9"))
    assert dialog.keys.hotkey.keySequence() == QKeySequence("Ctrl+F9")
    dialog.keys.hotkey.clear()
    assert not dialog.ok_button.isEnabled()
    assert "push-to-talk key" in dialog.keys.hotkey_note.text()
    dialog.keys.default_button.click()
    assert dialog.settings().hotkey == "Space" and dialog.ok_button.isEnabled()


def test_hotkey_records_a_key_but_tab_moves_on(qtbot, make_dialog):
    dialog = make_dialog()
    show(qtbot, dialog)
    dialog.show_page(dialog.keys)
    edit = dialog.keys.hotkey
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus)
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_F7)
    assert dialog.settings().hotkey == "F7"
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    assert not edit.hasFocus() and not edit.isAncestorOf(QApplication.focusWidget())
    assert dialog.settings().hotkey == "F7"


def test_enter_in_a_field_means_ok_not_a_test_button(qtbot, make_dialog):
    dialog = make_dialog()
    show(qtbot, dialog)
    set_remote(dialog, "ws://127.0.0.1:1")
    dialog.server.url.setFocus()
    qtbot.waitUntil(dialog.server.url.hasFocus)
    with qtbot.waitSignal(dialog.applied, timeout=1000):
        QTest.keyClick(dialog.server.url, Qt.Key.Key_Return)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert not dialog.server.connection_note.text()  # no connection test was started


def test_blank_voice_is_refused(make_dialog):
    dialog = make_dialog()
    dialog.voice.voice.setCurrentText("  ")
    assert not dialog.ok_button.isEnabled()
    assert dialog.voice.voice_note.text() == "Choose a voice."
    dialog.voice.voice.setCurrentText("Zephyr")
    assert dialog.ok_button.isEnabled()


# -- look ------------------------------------------------------------------------------------------------


def test_screenshot_is_not_blank(qtbot, make_dialog, tmp_path):
    dialog = make_dialog()
    show(qtbot, dialog)
    pixmap = dialog.grab()
    assert not pixmap.isNull() and pixmap.width() >= 500
    assert pixmap.save(str(tmp_path / "settings.png"))


async def write_screenshots(out: Path) -> list[Path]:
    """Render each tab (the Server tab twice: remote and embedded) to PNGs in ``out``.

    Runs on a qasync loop like the app, so the Audio tab shows the real devices and meter of this machine.
    """
    out.mkdir(exist_ok=True)
    dialog = SettingsDialog(Settings(
        server_mode="remote", remote_url="ws://192.168.1.20:8765", remote_secret="token",
        remote_headers={"X-Client": "desktop"}, system_instruction="Answer briefly, in a friendly tone."))
    dialog.show()
    written = []

    async def save(name: str) -> None:
        await asyncio.sleep(0.2)
        path = out / name
        dialog.grab().save(str(path))
        written.append(path)

    await save("settings.png")
    dialog.server.embedded_radio.setChecked(True)
    dialog.server.show_key_result(None)
    await save("settings-embedded.png")
    for index, name in ((1, "voice"), (2, "audio"), (3, "keys")):
        dialog.tabs.setCurrentIndex(index)
        await save(f"settings-{name}.png")
    dialog.close()
    return written


if __name__ == "__main__":
    import qasync

    app = QApplication.instance() or QApplication(sys.argv)
    app.setStyle("Fusion")
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        for shot in loop.run_until_complete(write_screenshots(ROOT / "shots")):
            print(shot)


def test_every_page_fits_the_default_width_without_scrolling_sideways(qtbot, make_dialog, monkeypatch):
    """Long items (the Automatic processor's title, a device's full name) once widened the whole Server
    page past the dialog: a horizontal scroll bar, hints cut off, the Test key button out of sight."""
    long_name = "USB Audio Device with a very long name, analog stereo input, front panel jack (hw:3,0)"
    monkeypatch.setattr(settings_dialog, "list_devices", lambda: (
        [(long_name, long_name)], [(long_name + " output", long_name + " output")], ""))
    for mode in ("embedded", "remote"):
        dialog = make_dialog(Settings(server_mode=mode))
        dialog.show()
        qtbot.waitExposed(dialog)
        for index in range(dialog.tabs.count()):
            dialog.tabs.setCurrentIndex(index)
            scroll = dialog.tabs.widget(index)
            qtbot.waitUntil(lambda scroll=scroll: scroll.viewport().width() > 0)
            assert scroll.horizontalScrollBar().maximum() == 0, (
                f"{mode}, {dialog.tabs.tabText(index)}: page {scroll.widget().minimumSizeHint().width()} px wide "
                f"in a {scroll.viewport().width()} px view")
        dialog.close()
