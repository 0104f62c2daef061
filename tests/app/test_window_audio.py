"""Hold Space while the virtual microphone plays speech: the real window sends it to the embedded echo
server and plays the reply on the virtual speaker. Real PortAudio devices (tests/pulse.py)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desktop.audio.wavio import read_wav_pcm16
from tests.app.test_window_end_to_end import until

pytestmark = pytest.mark.audio


def speech(tmp_path) -> tuple[bytes, int]:
    """Real speech from espeak-ng when it is installed, else a warbling tone with pauses."""
    if shutil.which("espeak-ng"):
        path = tmp_path / "speech.wav"
        subprocess.run(["espeak-ng", "-w", str(path), "hello, this is a microphone check"], check=True,
                       capture_output=True)
        return read_wav_pcm16(path, 16000)
    t = np.arange(32000) / 16000
    signal = np.sin(2 * np.pi * (300 + 100 * np.sin(2 * np.pi * 3 * t)) * t) * (np.sin(2 * np.pi * t) > 0)
    return (signal * 12000).astype("<i2").tobytes(), 16000


def active_seconds(samples: np.ndarray, rate: int, threshold: float = 0.01) -> float:
    """Seconds of 20 ms windows whose RMS is above ``threshold``."""
    window = rate // 50
    frames = samples[: len(samples) // window * window].reshape(-1, window)
    return float(np.sum(np.sqrt(np.mean(frames ** 2, axis=1)) > threshold) / 50)


def test_hold_space_speak_and_hear_the_echo(pulse, make_app, qloop, tmp_path):
    pcm, rate = speech(tmp_path)
    spoken = active_seconds(np.frombuffer(pcm, "<i2") / 32768, rate)
    app = make_app("--processor", "echo")
    window = app.window

    held: list[float] = []

    async def scenario():
        window.show()
        window.activateWindow()
        await app.controller.apply(app._endpoint)
        await app.controller.start_audio()
        await until(lambda: app.controller.session.connected)
        assert window.mic.state == "off", window.mic.reason
        recording = pulse.start_recording()
        QTest.keyPress(window, Qt.Key.Key_Space)
        pressed = time.monotonic()
        await until(lambda: window.mic.state == "listening")
        player = pulse.play_into_mic(pcm, rate, wait=False)
        await until(lambda: player.poll() is not None, timeout=30)
        await asyncio.sleep(0.2)
        QTest.keyRelease(window, Qt.Key.Key_Space)
        held.append(time.monotonic() - pressed)
        await until(lambda: window.mic.state == "off")
        # The echo plays back what it heard; wait for the speaker to drain.
        await until(lambda: app.controller.player.is_playing, timeout=10)
        await until(lambda: not app.controller.player.is_playing and app.controller.player.buffered_ms == 0,
                    timeout=30)
        await asyncio.sleep(0.3)
        return recording.stop()

    try:
        heard = qloop.run_until_complete(scenario())
        session = app.controller.session
        assert session.audio_dropped == 0
    finally:
        qloop.run_until_complete(app.shutdown())
    # The echo transcribes nothing: the spoken turn still shows, with its length.
    user_turns = [t.text for t in app.transcript.turns if t.speaker == "user"]
    assert len(user_turns) == 1 and user_turns[0].startswith("(spoken, ") and user_turns[0].endswith(" s)"), \
        user_turns
    # As long as the key was held (less the moment the microphone takes to open on the press).
    assert float(user_turns[0][len("(spoken, "):-len(" s)")]) == pytest.approx(held[0], abs=0.3)
    echoed = active_seconds(heard, 48000)
    # What came out of the speaker is as long as what went into the mic: the whole utterance made the trip.
    assert spoken > 0.5
    assert abs(echoed - spoken) < 0.35 * spoken, (echoed, spoken)
