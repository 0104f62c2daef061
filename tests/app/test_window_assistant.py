"""Issue 7, the window's side: it says who answers and what that assistant can do, the Settings offer the
offline assistant and a local model server, and loading the offline models shows its progress.
Through the real window, controller and embedded server (offscreen)."""

from __future__ import annotations

import pytest
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from desktop.about import SpokenTurns, describe_assistant
from desktop.processors import PROCESSORS
from desktop.protocols.events import Speaker, TextKind, Transcript, TurnComplete
from desktop.ui.settings_dialog import SettingsDialog
from tests.app.test_window_end_to_end import until

needs_offline = pytest.mark.skipif("local" not in PROCESSORS, reason="the offline assistant is not registered")


def test_the_window_names_the_echo_and_says_how_to_get_an_assistant(make_app, qloop):
    app = make_app("--no-audio", "--processor", "echo")
    app.window.show()
    qloop.run_until_complete(app.controller.apply(app._endpoint))
    assert app.window.status.assistant.text() == "Echo" and app.window.status.assistant.isVisible()
    about = app.window.transcript.about_text()
    assert about.startswith("Echo\n") and "microphone check" in about and "Gemini key in Settings" in about
    assert app.window.transcript.placeholder.isVisible()  # the empty conversation shows it


def test_a_remote_server_is_named_by_its_host(make_app, qloop):
    app = make_app("--no-audio", "--url", "ws://127.0.0.1:1/ws")
    qloop.run_until_complete(app.controller.apply(app._endpoint))
    assert app.window.status.assistant.text() == "Remote: 127.0.0.1"


def test_what_each_assistant_can_do_and_how_to_get_more():
    name, about = describe_assistant("local")
    assert name == "Offline assistant" and "timer" in about and "Ollama" in about and "Gemini key" in about
    name, about = describe_assistant("local", config={"llm_url": "http://127.0.0.1:11434/v1"})
    assert "127.0.0.1:11434" in about and "Ollama" not in about
    assert describe_assistant("gemini")[0] == "Gemini"


def test_settings_name_the_offline_assistant_and_keep_the_local_model_server(make_app, qloop, monkeypatch):
    monkeypatch.setitem(PROCESSORS, "local", ("desktop.processors.local", "Offline assistant"))
    QApplication.instance().setQuitOnLastWindowClosed(False)
    app = make_app("--no-audio", "--processor", "echo")
    app.window.show()

    async def open_settings():
        app.window.settings_action.trigger()
        await until(lambda: (shown := app.window.findChild(SettingsDialog)) is not None and shown.isVisible())

    qloop.run_until_complete(open_settings())
    dialog = app.window.findChild(SettingsDialog)
    page = dialog.server
    titles = [page.processor.itemText(i) for i in range(page.processor.count())]
    assert "Offline assistant" in titles and "offline assistant" in titles[0]
    page.processor.setCurrentIndex(page.processor.findData("local"))
    QTest.keyClicks(page.llm_url, "http://127.0.0.1:8080/v1")
    QTest.keyClicks(page.llm_model, "smollm2")
    edited = dialog.settings()
    assert (edited.processor, edited.llm_url, edited.llm_model) == ("local", "http://127.0.0.1:8080/v1", "smollm2")
    config = edited.processor_config()
    assert config["llm_url"] == "http://127.0.0.1:8080/v1" and config["llm_model"] == "smollm2"
    dialog.reject()


def test_a_spoken_turn_nothing_transcribed_shows_its_length():
    spoken = SpokenTurns(chunk_ms=20)
    spoken.started()
    for _ in range(105):
        spoken.sent()
    spoken.ended()
    placeholder = spoken.before(TurnComplete())
    assert placeholder == Transcript(Speaker.USER, "(spoken, 2.1 s)", final=True, kind=TextKind.TRANSCRIPTION)
    assert spoken.before(TurnComplete()) is None  # once
    spoken.started()
    spoken.sent()
    spoken.before(Transcript(Speaker.USER, "what time is it", final=False, kind=TextKind.TRANSCRIPTION))
    spoken.ended()
    assert spoken.before(Transcript(Speaker.MODEL, "It is ten.", kind=TextKind.TRANSCRIPTION)) is None


@needs_offline
def test_loading_offline_speech_shows_its_progress_then_clears(make_app, qloop):
    app = make_app("--no-audio", "--processor", "local")
    shown: list[str] = []
    app.controller.loading_changed.connect(shown.append)

    async def scenario():
        app.window.show()
        await app.start()
        await until(lambda: shown and shown[-1] == "" and not app.controller._tasks, timeout=120)

    qloop.run_until_complete(scenario())
    assert shown[0] == "Loading offline speech… 0 of 3" and shown[-1] == ""
    assert not app.window.status.loading.isVisible()
    assert app.window.status.assistant.text() == "Offline assistant"
