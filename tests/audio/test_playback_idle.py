"""The speaker closes its device when nothing plays and reopens on demand without losing the first audio.
Real PortAudio device (tests/pulse.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from desktop.audio.playback import Player

from .signals import tone_pcm, wait_until

pytestmark = pytest.mark.audio


async def test_idle_speaker_closes_and_reopens_with_every_sample_played(pulse: Any) -> None:
    player = Player(jitter_ms=60, idle_close_s=0.3)
    player.start(loop=asyncio.get_running_loop())
    try:
        await wait_until(lambda: player.is_asleep, timeout=10, what="the idle speaker to close")
        for round_ in range(2):  # reopen twice: the second sleep/wake cycle must work as the first
            pcm = tone_pcm(440, 0.5, 24000)
            before = player.samples_played
            player.feed(pcm, 24000)
            player.mark_end()
            assert player.buffered_ms > 0  # queued while the device reopens, not dropped
            expected = len(pcm) // 2 * player.rate / 24000
            # Counters, not the transient "awake and done" state: on a loaded machine the poll can miss the
            # moment between the last sample and the next idle close (0.3 s here).
            target = before + 0.99 * expected
            await wait_until(lambda t=target: player.buffered_ms == 0 and player.samples_played >= t,
                             timeout=10, what=f"round {round_}: the reopened speaker to play everything")
            played = player.samples_played - before
            assert abs(played - expected) < 0.01 * expected, (played, expected)
            assert player.underruns == 0
            await wait_until(lambda: player.is_asleep, timeout=10, what="the speaker to close again")
        assert player.error is None
    finally:
        await asyncio.to_thread(player.close)
