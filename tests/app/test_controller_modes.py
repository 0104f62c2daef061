"""Open mic and push-to-talk through the real controller, devices and embedded echo server."""

from __future__ import annotations

import asyncio

import pytest

from desktop.controller import AudioBackend, Controller, Endpoint
from desktop.protocols.events import Audio
from desktop.transcript import TranscriptModel
from tests.app.test_window_end_to_end import until
from tests.audio.echo_room import speak

pytestmark = pytest.mark.audio


def test_open_mic_streams_without_a_key_and_the_key_mutes(pulse, qapp, qloop):
    controller = Controller(TranscriptModel(), AudioBackend())
    controller.talk_mode = "open_mic"
    states = []
    controller.mic_changed.connect(lambda state, reason: states.append(state))
    received = []

    async def scenario():
        await controller.apply(Endpoint(processor="echo"))
        await until(lambda: controller.session is not None and controller.session.connected)
        original = controller._on_event
        controller.session.on_event = lambda e: (received.append(e), original(e))
        await controller.start_audio()
        assert controller.mic_state[0] == "listening"
        # Speech, not a tone: open mic sends what its local voice detection takes for speech.
        tone = (speak("testing one two three", 16000) * 0.5 * 32767).astype("<i2").tobytes()
        pulse.play_into_mic(tone, 16000)
        await until(lambda: any(isinstance(e, Audio) for e in received))  # echoed with no key held
        controller.on_talk_started()  # holding the key mutes
        assert controller.mic_state[0] == "muted" and not controller.talking
        await asyncio.sleep(0.3)
        count = len(received)
        pulse.play_into_mic(tone, 16000)
        await asyncio.sleep(0.5)
        muted_audio = [e for e in received[count:] if isinstance(e, Audio)]
        controller.on_talk_stopped()
        assert controller.mic_state[0] == "listening"
        return muted_audio

    try:
        muted_audio = qloop.run_until_complete(scenario())
    finally:
        qloop.run_until_complete(controller.shutdown())
    assert sum(len(a.pcm) for a in muted_audio) < 24000 * 2 * 0.1  # at most the tail in flight
    assert "muted" in states


def test_switching_modes_changes_what_the_key_does(qapp, qloop):
    controller = Controller(TranscriptModel(), None)
    controller.set_talk_mode("open_mic")
    controller.on_talk_started()  # no microphone: nothing to mute, and no crash
    assert not controller.talking
