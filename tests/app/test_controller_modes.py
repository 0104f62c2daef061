"""Open mic and push-to-talk through the real controller, devices and embedded echo server."""

from __future__ import annotations

import pytest

from desktop.audio.backend import AudioBackend
from desktop.controller import Controller
from desktop.endpoint import Endpoint
from desktop.protocols.events import Audio, Transcript, TurnComplete
from desktop.transcript import TranscriptModel
from tests.app.test_window_end_to_end import until
from tests.audio.echo_room import speak

pytestmark = pytest.mark.audio


def test_open_mic_streams_without_a_key_and_the_key_mutes(pulse, qapp, qloop):
    """No sleeps, no thresholds on amounts: the wire keeps order, so audio sent while muted would be echoed
    back before the reply to a text typed after the muted tone has passed through the microphone."""
    controller = Controller(TranscriptModel(), AudioBackend())
    controller.talk_mode = "open_mic"
    states = []
    controller.mic_changed.connect(lambda state, reason: states.append(state))
    levels: list[float] = []
    controller.level_changed.connect(levels.append)
    received = []

    async def tone_passes_through_the_mic(tone) -> None:
        start = len(levels)
        played = pulse.play_into_mic(tone, 16000, wait=False)
        await until(lambda: any(level > -30 for level in levels[start:]))  # the speech is heard...
        # ...and has passed: all of it (a pause between words is quiet too), then the mic's last block
        await until(lambda: played.poll() is not None, timeout=30)
        heard = len(levels)
        await until(lambda: len(levels) > heard + 2 and levels[-1] < -50)

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
        controller.on_talk_started()  # holding the key mutes: the spoken turn ends
        assert controller.mic_state[0] == "muted" and not controller.talking
        await until(lambda: any(isinstance(e, TurnComplete) for e in received))
        muted_from = len(received)
        await tone_passes_through_the_mic(tone)
        controller.on_text_submitted("marker")
        await until(lambda: any(isinstance(e, Transcript) and e.text == "marker" for e in received[muted_from:]))
        controller.on_talk_stopped()
        assert controller.mic_state[0] == "listening" and controller.talking
        return received[muted_from:]

    try:
        while_muted = qloop.run_until_complete(scenario())
    finally:
        qloop.run_until_complete(controller.shutdown())
    first_reply = next(i for i, e in enumerate(while_muted) if isinstance(e, Transcript))
    assert not [e for e in while_muted[:first_reply] if isinstance(e, Audio)], "audio was sent while muted"
    assert states[-3:] == ["listening", "muted", "listening"]


def test_switching_modes_changes_what_the_key_does(qapp, qloop):
    controller = Controller(TranscriptModel(), None)
    controller.set_talk_mode("open_mic")
    controller.on_talk_started()  # no microphone: nothing to mute, and no crash
    assert not controller.talking and controller.talk_mode == "open_mic"
    controller.set_talk_mode("push_to_talk")
    controller.on_talk_started()  # no microphone: says so instead of talking
    assert not controller.talking


def test_repeated_presses_with_no_microphone_try_to_open_it_once_at_a_time(pulse, qapp, qloop):
    """Each press on an unavailable mic asks to open it again; a press while an attempt runs joins it, so two
    captures are never opened at once."""
    controller = Controller(TranscriptModel(), AudioBackend(input_device="No Such Microphone 9"))
    errors: list[str] = []
    controller.error.connect(errors.append)

    async def scenario():
        await controller.start_audio()
        assert controller.mic_state[0] == "unavailable"
        attempts = set()
        for _ in range(5):
            controller.on_talk_started()
            controller.on_talk_stopped()
            attempts.add(controller._capture_retry)
        assert len(attempts) == 1 and None not in attempts  # one opener, not five
        await controller.wait_idle()
        assert controller.capture is None and controller.mic_state[0] == "unavailable"

    try:
        qloop.run_until_complete(scenario())
    finally:
        qloop.run_until_complete(controller.shutdown())
    assert len(errors) == 5 and all("Microphone unavailable" in e for e in errors)
