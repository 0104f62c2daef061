"""Capture through a real PortAudio device: a tone played into PulseAudio's vd_mic sink, whose monitor is
the default source, comes out as 640-byte chunks of 16 kHz PCM16 at the same pitch."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from desktop.audio.capture import CHUNK_BYTES, OUT_RATE, Capture
from desktop.errors import AudioDeviceError

from .signals import dbfs, loud_part, pcm_to_float, peak_hz, tone, tone_pcm, wait_until

pytestmark = pytest.mark.audio


def tone_source(kind: str, hz: float, tmp_path: Path) -> tuple[Any, int]:
    """The same tone as float samples at 24 kHz, or as a 44.1 kHz stereo WAV file."""
    if kind == "samples":
        return tone(hz, 0.8, 24000), 24000
    path = tmp_path / "tone.wav"
    mono = tone_pcm(hz, 0.8, 44100)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(44100)
        wav.writeframes(b"".join(mono[i:i + 2] * 2 for i in range(0, len(mono), 2)))
    return path, 44100


@pytest.mark.parametrize(("kind", "hz"), [("samples", 523.0), ("wav", 784.0)])
async def test_a_tone_into_the_mic_comes_out_as_16_khz_chunks_at_its_pitch(pulse: Any, tmp_path: Path,
                                                                           kind: str, hz: float) -> None:
    levels: list[float] = []
    capture = Capture(on_level=levels.append)
    capture.start()
    chunks: list[bytes] = []

    async def collect() -> None:
        async for chunk in capture.chunks():
            chunks.append(chunk)

    collector = asyncio.create_task(collect())
    try:
        await asyncio.sleep(0.1)
        audio, rate = tone_source(kind, hz, tmp_path)
        player = pulse.play_into_mic(audio, rate, wait=False)
        await asyncio.to_thread(player.wait, 10)
        await asyncio.sleep(0.3)
        assert capture.level < -60, "the mic is quiet again after the tone"
    finally:
        capture.stop()
    await asyncio.wait_for(collector, timeout=5)  # stop() ends chunks()

    assert capture.overruns == 0 and capture.chunks_dropped == 0, "the capture lost audio"
    assert chunks and {len(c) for c in chunks} == {CHUNK_BYTES}
    heard = loud_part(pcm_to_float(b"".join(chunks)), OUT_RATE)
    assert len(heard) > 0.5 * OUT_RATE, "the tone did not reach the capture"
    # Pitch per 100 ms window, then the median: a gap the sound server inserted (its source underran under
    # CPU load) jumps the phase, and one FFT across that jump reads a few Hz off; the windows beside it do not.
    window = OUT_RATE // 10
    windows = [heard[i:i + window] for i in range(0, len(heard) - window + 1, window)]
    pitches = [peak_hz(w, OUT_RATE) for w in windows]
    assert float(np.median(pitches)) == pytest.approx(hz, abs=3), pitches
    assert float(np.median([dbfs(w) for w in windows])) == pytest.approx(-9, abs=3)
    assert max(levels) == pytest.approx(-9, abs=3), "the meter saw the tone"


async def test_started_and_stopped_from_a_worker_thread_it_calls_back_on_the_loop(pulse: Any) -> None:
    """As the controller uses it: start/stop in asyncio.to_thread, on_chunk(chunk, level) on the loop."""
    loop = asyncio.get_running_loop()
    chunks: list[bytes] = []
    levels: list[float] = []
    errors: list[str] = []
    capture = Capture(block_ms=10)

    def on_chunk(chunk: bytes, level: float) -> None:
        assert asyncio.get_running_loop() is loop
        chunks.append(chunk)
        levels.append(level)

    await asyncio.to_thread(capture.start, loop, on_chunk, errors.append)
    assert capture.is_running and capture.rate > 0
    await wait_until(lambda: len(chunks) >= 10, what="ten chunks")
    await asyncio.to_thread(capture.stop)
    await wait_until(lambda: not capture.is_running, what="the flush on the loop")
    count = len(chunks)
    assert {len(c) for c in chunks} == {CHUNK_BYTES}
    assert count == capture.chunks_delivered
    assert all(-100.0 <= level <= 0.0 for level in levels)
    await asyncio.sleep(0.1)
    assert len(chunks) == count, "nothing arrives after stop()"
    capture.start(on_chunk=on_chunk)  # a stopped capture can start again, here on the loop
    await wait_until(lambda: len(chunks) > count + 2, what="chunks after a restart")
    capture.stop()
    assert errors == []


async def test_a_missing_microphone_is_a_readable_error(pulse: Any) -> None:
    with pytest.raises(AudioDeviceError) as err:
        Capture("Nonexistent USB Mic").start()
    assert str(err.value).startswith("No microphone named 'Nonexistent USB Mic'. Available microphones: ")


async def test_a_stream_that_dies_is_reported_through_on_error(pulse: Any) -> None:
    errors: list[str] = []
    capture = Capture(on_error=errors.append)
    capture.start()
    ended = asyncio.ensure_future(_drain(capture))
    await asyncio.sleep(0.1)
    capture._stream.abort()  # as when PortAudio ends the stream on its own (device gone, server died)
    await wait_until(lambda: bool(errors), what="on_error")
    assert errors[0].startswith(f"The microphone {capture.device.name!r} stopped unexpectedly")
    assert not capture.is_running
    await asyncio.wait_for(ended, timeout=5)  # chunks() ends too


async def _drain(capture: Capture) -> int:
    return len([chunk async for chunk in capture.chunks()])


def test_start_without_a_loop_says_so() -> None:
    with pytest.raises(RuntimeError, match="needs the event loop"):
        Capture().start()
