"""Player through a real PortAudio device: PulseAudio's vd_speaker null sink, read back from its monitor."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from desktop.audio.playback import Player
from desktop.errors import AudioDeviceError, AudioFormatError

from .signals import dbfs, loud_part, peak_hz, tone_pcm, wait_until

pytestmark = pytest.mark.audio


@pytest.fixture
async def player(pulse: Any) -> Any:
    player = Player(jitter_ms=60)
    player.start()
    yield player
    player.close()


async def play_all(player: Player, pcm: bytes, rate: int, chunk_ms: int = 40) -> None:
    """Feed like a network would (in chunks, faster than real time), end the turn, wait until played."""
    step = rate * chunk_ms // 1000 * 2
    for i in range(0, len(pcm), step):
        player.feed(pcm[i:i + step], rate)
    player.mark_end()
    await wait_until(lambda: player.buffered_ms == 0 and not player.is_playing, timeout=10,
                     what="the player to play everything")


@pytest.mark.parametrize(("rate", "hz"), [(24000, 440.0), (44100, 660.0), (16000, 523.0)])
async def test_a_tone_fed_at_any_rate_comes_out_at_its_pitch(pulse: Any, player: Player, rate: int,
                                                             hz: float) -> None:
    recording = pulse.start_recording()
    await asyncio.sleep(0.1)
    await play_all(player, tone_pcm(hz, 0.8, rate), rate)
    await asyncio.sleep(0.2)
    heard = loud_part(recording.stop(), recording.rate)
    assert len(heard) > 0.5 * recording.rate, "the tone did not reach the speaker"
    assert peak_hz(heard, recording.rate) == pytest.approx(hz, abs=3)
    assert dbfs(heard) == pytest.approx(-9, abs=3)  # a 0.5-amplitude sine: -9 dBFS, not distorted or lost


async def test_flush_silences_what_was_queued(pulse: Any, player: Player) -> None:
    player.feed(tone_pcm(440, 4.0, 24000), 24000)
    await wait_until(lambda: player.is_playing, what="playback to start")
    before = await asyncio.to_thread(pulse.record_speaker, 0.3)
    assert dbfs(before) > -15, "the tone should be audible before the flush"
    player.flush()
    flushed_at = player.callbacks
    await wait_until(lambda: player.callbacks >= flushed_at + 2, what="one whole callback after flush()")
    assert player.buffered_ms == 0 and not player.is_playing, "flush() took more than one callback period"
    await asyncio.sleep(0.2)  # what the device and the sound server had already taken plays out
    after = await asyncio.to_thread(pulse.record_speaker, 0.5)
    assert dbfs(after) < -60, "audio queued before flush() was still played"
    assert player.underruns == 0, "a flush is not an underrun"


async def test_underruns_are_counted_when_fed_too_slowly_but_not_when_idle(pulse: Any) -> None:
    player = Player(jitter_ms=40, jitter_max_ms=40)  # a fixed target: an adaptive one learns to avoid them
    player.start()
    try:
        await asyncio.sleep(0.3)
        assert player.underruns == 0, "silence while idle is not an underrun"
        chunk = tone_pcm(440, 0.04, 16000)
        for _ in range(12):  # 40 ms of audio every 100 ms: the buffer runs dry each time
            player.feed(chunk, 16000)
            await asyncio.sleep(0.1)
        await wait_until(lambda: player.underruns >= 3, timeout=3, what="underruns to be counted")
        assert player.overruns == 0
    finally:
        player.close()


async def test_a_callback_held_up_past_the_device_buffer_is_counted_as_the_speaker_starving(pulse: Any) -> None:
    """A busy machine: the process is held up longer than the device's buffer in the middle of a reply, so the
    device runs dry although the jitter buffer is full. PortAudio flags the next callback; the player counts it
    apart from its own underruns (the network's), which it is not."""
    import time

    player = Player(jitter_ms=60)
    player.start()
    real = player._ring
    held = {"armed": False}

    class HeldUpRing:  # fault injection: one read of the callback takes 0.4 s, as if the process was not run
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def read_into(self, out: np.ndarray) -> int:
            if held["armed"]:
                held["armed"] = False
                time.sleep(0.4)
            return real.read_into(out)

    player._ring = HeldUpRing()  # type: ignore[assignment]
    try:
        player.feed(tone_pcm(440, 3.0, 24000), 24000)
        player.mark_end()
        await wait_until(lambda: player.is_playing, what="the reply playing")
        await asyncio.sleep(0.3)
        before = player.device_underflows  # 0 on an idle machine; a loaded one may starve the device itself
        held["armed"] = True
        await wait_until(lambda: player.device_underflows > before, timeout=5, what="the held-up callback counted")
        assert player.underruns == 0, "the jitter buffer never ran dry: not an underrun"
        assert player.stats().device_underflows == player.device_underflows
    finally:
        player.close()


async def test_mark_end_plays_a_remainder_below_the_jitter_target(pulse: Any) -> None:
    player = Player(jitter_ms=500)
    player.start()
    try:
        player.feed(tone_pcm(440, 0.1, 24000), 24000)
        await asyncio.sleep(0.3)
        assert not player.is_playing and player.buffered_ms > 50, "below target: it waits for more"
        player.mark_end()
        await wait_until(lambda: player.buffered_ms == 0 and not player.is_playing, what="the remainder")
        assert player.underruns == 0, "the end of a turn is not an underrun"
    finally:
        player.close()


async def test_a_full_buffer_drops_the_oldest_and_counts_overruns(pulse: Any) -> None:
    """2 s arrive at once into a 0.5 s buffer: the newest 0.5 s play (all of the last, higher tone), the rest
    is dropped and counted."""
    player = Player(jitter_ms=100, capacity_ms=500)
    player.start()
    recording = pulse.start_recording()
    try:
        rate = player.rate
        await asyncio.sleep(0.1)
        player.feed(tone_pcm(440, 1.4, rate) + tone_pcm(880, 0.6, rate), rate)  # one write: nothing plays between
        assert player.overruns == 1
        assert player.buffered_ms == pytest.approx(500, abs=25)
        player.mark_end()
        await wait_until(lambda: player.buffered_ms == 0 and not player.is_playing, timeout=10,
                         what="the player to play what it kept")
        await asyncio.sleep(0.2)
    finally:
        heard = loud_part(recording.stop(), recording.rate, trim_s=0.01)
        player.close()
    assert len(heard) / recording.rate == pytest.approx(0.5, abs=0.06), "the newest 0.5 s, no more, no less"
    assert peak_hz(heard, recording.rate) == pytest.approx(880, abs=3), "the oldest audio was dropped"


async def test_a_dying_stream_is_reported_not_raised(pulse: Any) -> None:
    errors: list[str] = []
    player = Player(on_error=errors.append)
    player.start()

    class BrokenRing:
        available = write_index = 10**6
        overruns = 0

        def read_into(self, out: np.ndarray) -> int:
            raise OSError("device unplugged")

    player._ring = BrokenRing()  # type: ignore[assignment]  # fault injection: the callback fails
    await wait_until(lambda: bool(errors), what="on_error")
    assert len(errors) == 1
    assert errors[0].startswith(f"The speaker {player.device.name!r} stopped unexpectedly "
                                "(OSError('device unplugged'))")
    assert player.error == errors[0]
    player.close()


async def test_bad_input_and_missing_devices_are_readable_errors(pulse: Any, player: Player) -> None:
    with pytest.raises(AudioFormatError, match="not a whole number of PCM16 samples"):
        player.feed(b"\x00\x01\x02", 24000)
    with pytest.raises(AudioDeviceError, match=r"No speaker named 'Nope'\. Available speakers: "):
        Player("Nope").start()
