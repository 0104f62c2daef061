"""Idle costs nothing: in push-to-talk the window open with the mic off holds no microphone (no PulseAudio
source-output of this process), the speaker closes after a few quiet seconds, a press opens the microphone and
what is said is sent and echoed back whole, through a speaker that had to reopen for it. Real PortAudio devices
(tests/pulse.py), the real window and embedded echo server."""

from __future__ import annotations

import asyncio
import os

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desktop.app import App, build_parser
from tests.app.test_window_audio import active_seconds, speech
from tests.app.test_window_end_to_end import until

pytestmark = pytest.mark.audio


def streams_of_this_process(pulse, kind: str) -> int:
    """How many PulseAudio ``source-outputs`` (recording) or ``sink-inputs`` (playing) this process holds."""
    listing = pulse.pactl("list", kind).stdout.decode(errors="replace")
    return listing.count(f'application.process.id = "{os.getpid()}"')


def test_push_to_talk_idle_holds_no_device_and_a_press_records_and_sends(pulse, qapp, qloop, tmp_path):
    pcm, rate = speech(tmp_path)
    spoken = active_seconds(np.frombuffer(pcm, "<i2") / 32768, rate)
    args = build_parser().parse_args(["--processor", "echo", "--settings", str(tmp_path / "s.ini")])
    app = App(qapp, args)
    window, controller = app.window, app.controller

    async def scenario():
        window.show()
        window.activateWindow()
        await controller.apply(app._endpoint)
        await controller.start_audio()
        await until(lambda: controller.session.connected)
        assert controller.talk_mode == "push_to_talk"
        assert window.mic.state == "off", window.mic.reason
        # Mic off: nothing records. Nothing played: the speaker closes after its idle time.
        assert not controller.capture.is_running
        assert streams_of_this_process(pulse, "source-outputs") == 0
        await until(lambda: controller.player.is_asleep, timeout=30)
        await until(lambda: streams_of_this_process(pulse, "sink-inputs") == 0, timeout=10)

        recording = pulse.start_recording()
        QTest.keyPress(window, Qt.Key.Key_Space)
        await until(lambda: controller.capture.is_running, timeout=10)
        assert streams_of_this_process(pulse, "source-outputs") == 1  # the OS sees the mic in use now
        player = pulse.play_into_mic(pcm, rate, wait=False)
        await until(lambda: player.poll() is not None, timeout=30)
        await asyncio.sleep(0.2)
        QTest.keyRelease(window, Qt.Key.Key_Space)
        await until(lambda: not controller.capture.is_running, timeout=10)
        await until(lambda: streams_of_this_process(pulse, "source-outputs") == 0, timeout=10)
        # The echo comes back; the speaker reopens for it and plays all of it.
        await until(lambda: controller.player.is_playing, timeout=15)
        await until(lambda: not controller.player.is_playing and controller.player.buffered_ms == 0, timeout=30)
        await asyncio.sleep(0.3)
        return recording.stop()

    try:
        heard = qloop.run_until_complete(scenario())
        assert controller.session.audio_dropped == 0
        assert controller.capture.chunks_delivered > 0
    finally:
        qloop.run_until_complete(controller.shutdown())
        window.close()
    echoed = active_seconds(heard, 48000)
    assert spoken > 0.5
    assert abs(echoed - spoken) < 0.35 * spoken, (echoed, spoken)  # nothing lost at either reopen


def test_open_mic_keeps_the_microphone_open(pulse, qapp, qloop, tmp_path):
    args = build_parser().parse_args(["--processor", "echo", "--settings", str(tmp_path / "s.ini")])
    app = App(qapp, args)
    controller = app.controller

    async def scenario():
        await controller.apply(app._endpoint)
        await controller.start_audio()
        await until(lambda: controller.session.connected)
        controller.set_talk_mode("open_mic")
        await until(lambda: controller.capture.is_running, timeout=10)
        await until(lambda: streams_of_this_process(pulse, "source-outputs") == 1, timeout=10)
        delivered = controller.capture.chunks_delivered
        await until(lambda: controller.capture.chunks_delivered > delivered + 10, timeout=10)
        controller.set_talk_mode("push_to_talk")
        await until(lambda: not controller.capture.is_running, timeout=10)
        await until(lambda: streams_of_this_process(pulse, "source-outputs") == 0, timeout=10)

    try:
        qloop.run_until_complete(scenario())
    finally:
        qloop.run_until_complete(controller.shutdown())
        app.window.close()
