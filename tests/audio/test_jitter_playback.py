"""The adaptive jitter buffer in the real Player (PulseAudio's null sink): it grows where audio comes late."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from desktop.audio.playback import Player

from .signals import tone_pcm, wait_until

pytestmark = pytest.mark.audio


async def test_late_audio_grows_the_target_and_the_cost_is_counted(pulse: Any) -> None:
    player = Player(jitter_ms=40, jitter_max_ms=300)
    player.start()
    try:
        assert player.target_ms == 40
        chunk = tone_pcm(440, 0.04, 16000)
        for _ in range(15):  # 40 ms of audio every 100 ms: late, again and again
            player.feed(chunk, 16000)
            await asyncio.sleep(0.1)
        await wait_until(lambda: player.underruns >= 1, timeout=5, what="an underrun")
        player.feed(chunk, 16000)  # the loop side hears of underruns on the next feed
        assert player.target_ms > 40
        assert player.target_ms <= 300
        stats = player.stats()
        assert stats.target_ms == player.target_ms
        assert stats.stall_ms > 0, "the silence spent refilling is counted"
        assert stats.added_latency_ms >= 40 - 1000 / player.rate * 2, "playback started on a full target"
    finally:
        player.close()


async def test_a_turn_fed_on_time_keeps_the_configured_target(pulse: Any) -> None:
    player = Player(jitter_ms=60)
    player.start()
    try:
        pcm = tone_pcm(440, 1.0, 24000)
        for i in range(0, len(pcm), 1920):  # 40 ms parts, far faster than real time: never late
            player.feed(pcm[i:i + 1920], 24000)
        player.mark_end()
        await wait_until(lambda: player.buffered_ms == 0 and not player.is_playing, timeout=10, what="playing")
        assert player.target_ms == 60
        assert player.underruns == 0 and player.stall_ms == 0
        assert player.added_latency_ms >= 60
    finally:
        player.close()
