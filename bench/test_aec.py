"""Echo cancellation on the private PulseAudio room: ERLE, the near-end level in double talk, and barge-in
latency, for a few echo delays. Figures to read, not pass/fail (the floors are in tests/audio/test_aec.py)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
import pytest

from tests.audio.echo_path import RATE, run_room
from tests.audio.echo_room import erle_db, level_db
from tests.audio.signals import tone_pcm
from tests.audio.test_aec import speech_starts, windowed_erle
from tests.pulse import pulse  # noqa: F401 - the sound-server fixture (bench has no tests/conftest.py)

pytest.importorskip("livekit.rtc", reason="echo cancellation needs the 'aec' extra (livekit)")

pytestmark = [pytest.mark.bench, pytest.mark.audio]


@pytest.mark.parametrize("delay_ms", [40, 120, 200])
def test_echo_cancellation_in_a_room(pulse: Any, delay_ms: int) -> None:  # noqa: F811 - the fixture
    run = asyncio.run(run_room(pulse, delay_s=delay_ms / 1000))
    figures, spoilt = windowed_erle(run)  # windows a speaker dropout spoilt are left out
    echo_only, near = run.echo_only(), run.near()
    whole = erle_db(run.raw[echo_only], run.out[echo_only])
    residual = level_db(run.out[echo_only])
    near_level = level_db(run.out[near])
    detected = [t for t in speech_starts(run.out) if near.start / RATE <= t < near.stop / RATE]
    latency = f"{(detected[0] - run.near_at / RATE) * 1000:.0f} ms" if detected else "not detected"
    heard = _transcribe(run.raw, run.out, slice(run.near_at, run.near_at + run.near_len + int(0.8 * RATE)))
    erle = (f"ERLE median {np.median(figures):.1f} dB (per 0.5 s: {min(figures):.0f}..{max(figures):.0f})"
            if figures else f"ERLE not judged: speaker dropouts spoilt all {spoilt} audible windows")
    print(f"\nAEC, echo delay {delay_ms} ms (+ the sound server's own): {erle}, over the stretch {whole:.1f} dB; "
          f"double talk: "
          f"near end {near_level:.1f} dBFS, {near_level - residual:.1f} dB above the residual echo; speech "
          f"detected {latency} after the phrase went to the sound server; Whisper on the phrase: {heard}; {run.stats}")


def _transcribe(raw: np.ndarray, out: np.ndarray, span: slice) -> str:
    """What offline Whisper makes of the near-end phrase without and with cancellation (offline extra)."""
    try:
        from desktop.processors.local import models
    except ImportError:
        return "offline extra not installed"
    loaded = models.load_sync()
    if loaded.message is not None:
        return loaded.message

    def heard(samples: np.ndarray) -> str:
        return loaded.transcriber.transcribe((np.clip(samples[span], -1, 1) * 32767).astype("<i2").tobytes())

    return f"uncancelled {heard(raw)!r}, cancelled {heard(out)!r}"


def test_barge_in_flush_takes_effect_within_one_block(pulse: Any) -> None:  # noqa: F811 - the fixture
    from desktop.audio.playback import Player

    async def measure() -> list[float]:
        player = Player(jitter_ms=60, block_ms=20)
        player.start()
        took = []
        try:
            for _ in range(5):
                player.feed(tone_pcm(440, 2.0, 24000), 24000)
                while not player.is_playing:
                    await asyncio.sleep(0.005)
                await asyncio.sleep(0.2)
                start, blocks = time.perf_counter(), player.callbacks
                player.flush()
                while player.is_playing:
                    await asyncio.sleep(0.001)
                took.append((time.perf_counter() - start) * 1000)
                assert player.callbacks - blocks <= 2
        finally:
            player.close()
        return took

    took = asyncio.run(measure())
    print(f"\nBarge-in flush: playback stopped {np.median(took):.1f} ms after flush() (median of {len(took)}, "
          f"max {max(took):.1f} ms; one block is 20 ms)")
