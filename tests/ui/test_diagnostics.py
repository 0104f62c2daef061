"""The Diagnostics panel in the real (offscreen) window, after a spoken turn through the embedded echo server
on the private PulseAudio daemon's virtual mic and speaker (tests/pulse.py)."""

from __future__ import annotations

import asyncio
import logging

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desktop.app import App, build_parser
from desktop.ui.diagnostics import FIGURES, DiagnosticsDialog
from tests.app.test_window_end_to_end import until

# The offscreen platform says it cannot raise or size a top-level window: that is the plugin, not the panel.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


def test_the_panel_shows_what_it_is_given_and_a_dash_for_what_is_unknown(qtbot) -> None:
    dialog = DiagnosticsDialog()
    qtbot.addWidget(dialog)
    dialog.set_figures({"first_audio_ms": 212.4, "underruns": 3, "round_trip_ms": None})
    assert dialog.text("first_audio_ms") == "212 ms"
    assert dialog.text("underruns") == "3"
    assert dialog.text("round_trip_ms") == "—"
    assert dialog.text("frames_dropped") == "—"
    assert {key for key, _, _ in FIGURES} == set(dialog.values)


def test_refreshes_only_while_shown(qtbot) -> None:
    dialog = DiagnosticsDialog()
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.refresh_requested, timeout=5000):
        dialog.show()
    with qtbot.waitSignal(dialog.refresh_requested, timeout=5000):
        pass  # the one-second timer, while visible
    dialog.hide()
    assert not dialog._timer.isActive()
    with qtbot.assertNotEmitted(dialog.refresh_requested, wait=1500):
        pass  # hidden: no timer runs


@pytest.mark.audio
def test_after_a_spoken_turn_the_panel_shows_time_to_first_audio_and_round_trip(pulse, qapp, qloop, tmp_path,
                                                                                 caplog) -> None:
    caplog.set_level(logging.INFO, logger="desktop.controller")
    args = build_parser().parse_args(["--processor", "echo", "--settings", str(tmp_path / "s.ini")])
    app = App(qapp, args)
    window = app.window
    t = np.arange(16000) / 16000
    tone = (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes()

    async def scenario():
        window.show()
        window.activateWindow()
        await app.controller.apply(app._endpoint)
        await app.controller.start_audio()
        await until(lambda: app.controller.session.connected)
        QTest.keyPress(window, Qt.Key.Key_Space)
        await until(lambda: window.mic.state == "listening")
        played = pulse.play_into_mic(tone, 16000, wait=False)
        await until(lambda: played.poll() is not None, timeout=30)
        await asyncio.sleep(0.2)
        QTest.keyRelease(window, Qt.Key.Key_Space)
        await until(lambda: any("Turn figures" in r.getMessage() for r in caplog.records), timeout=30)
        window.diagnostics_action.trigger()  # Conversation → Diagnostics…
        panel = app.diagnostics
        assert panel is not None and panel.isVisible()
        # The round trip comes with the first keepalive pong (every few seconds); the panel refreshes itself.
        await until(lambda: panel.text("round_trip_ms") != "—" and panel.text("first_audio_ms") != "—",
                    timeout=30)
        return panel

    try:
        panel = qloop.run_until_complete(scenario())
        assert panel.text("first_audio_ms").endswith(" ms")
        assert panel.text("round_trip_ms").endswith(" ms")
        assert panel.text("target_ms") != "—" and panel.text("underruns") != "—"
        assert panel.text("device_underflows") != "—", "the speaker was open: its count is known"
        assert panel.text("frames_dropped") == "0"
        turn_logs = [r.getMessage() for r in caplog.records if "Turn figures" in r.getMessage()]
        assert len(turn_logs) == 1, turn_logs  # once per turn
        assert "first_audio_ms" in turn_logs[0] and "first_audio_ms -" not in turn_logs[0]

        async def typed_turn():  # the echo answers typed text in text only: the next turn has no first audio
            window.input.setText("hello")
            window.on_submit()
            await until(lambda: sum("Turn figures" in r.getMessage() for r in caplog.records) == 2, timeout=30)
            panel.set_figures(app.controller.diagnostics())

        qloop.run_until_complete(typed_turn())
        assert panel.text("first_audio_ms") == "—"
        assert panel.text("round_trip_ms").endswith(" ms")
    finally:
        if app.diagnostics is not None:
            app.diagnostics.close()  # its refresh timer stops: nothing of this test ticks into the next
        qloop.run_until_complete(app.controller.shutdown())
        qloop.run_until_complete(app.history.close())
        window.close()
