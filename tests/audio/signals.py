"""Test signals and measurements: tones in, pitch and level out."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import numpy as np

__all__ = ["dbfs", "loud_part", "peak_hz", "tone", "tone_pcm", "wait_until", "wait_until_sync"]


def tone(hz: float, seconds: float, rate: int, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def tone_pcm(hz: float, seconds: float, rate: int, amplitude: float = 0.5) -> bytes:
    return (tone(hz, seconds, rate, amplitude) * 32767).astype("<i2").tobytes()


def pcm_to_float(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def peak_hz(samples: np.ndarray, rate: int) -> float:
    """Frequency of the strongest component (Hann window, parabolic interpolation: sub-bin accurate)."""
    x = samples.astype(np.float64) - np.mean(samples)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)))) + 1e-12
    k = int(np.argmax(spectrum[1:-1])) + 1
    a, b, c = np.log(spectrum[k - 1:k + 2])
    shift = 0.5 * (a - c) / (a - 2 * b + c)
    return (k + shift) * rate / len(x)


def dbfs(samples: np.ndarray) -> float:
    if samples.size == 0:
        return -100.0
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return max(-100.0, 20 * np.log10(rms)) if rms > 0 else -100.0


def loud_part(samples: np.ndarray, rate: int, threshold: float = 0.05, trim_s: float = 0.05) -> np.ndarray:
    """The stretch between the first and last sample above ``threshold``, trimmed at both ends
    (onsets and fades are not part of the steady tone)."""
    loud = np.flatnonzero(np.abs(samples) > threshold)
    if loud.size == 0:
        return samples[:0]
    trim = int(trim_s * rate)
    return samples[loud[0] + trim:loud[-1] - trim]


async def wait_until(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    """Poll (every 10 ms) until ``predicate()``; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)


def wait_until_sync(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)
