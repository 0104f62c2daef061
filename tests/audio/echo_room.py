"""A simulated room for echo-cancellation tests and benchmarks: speech from espeak-ng, an echo path with a
delay and a few reflections, and the figures (ERLE, levels) that say how well the echo was removed."""

from __future__ import annotations

import shutil
import subprocess
import wave
from io import BytesIO

import numpy as np
import pytest

from desktop.audio.dsp import resample_pcm16

__all__ = ["REFLECTIONS", "erle_db", "level_db", "room_response", "speak", "speech_active"]

#: (delay after the direct path in ms, gain): a wall, the desk, the far wall, a tail
REFLECTIONS = ((3.0, 0.35), (11.0, -0.25), (27.0, 0.15), (61.0, 0.08))


def speak(text: str, rate: int = 16000, *, voice: str = "en-us", words_per_minute: int = 160,
          pitch: int = 50) -> np.ndarray:
    """``text`` spoken by espeak-ng, float32 at ``rate``. Skips the test where espeak-ng is missing."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    done = subprocess.run(["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-p", str(pitch), "--stdout",
                           text], capture_output=True, timeout=60, check=True)
    with wave.open(BytesIO(done.stdout), "rb") as wav:
        pcm, source_rate = wav.readframes(wav.getnframes()), wav.getframerate()
    pcm = resample_pcm16(pcm, source_rate, rate)
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def room_response(rate: int, delay_s: float, gain: float = 0.5,
                  reflections: tuple[tuple[float, float], ...] = REFLECTIONS) -> np.ndarray:
    """An impulse response: silence for ``delay_s``, the direct path at ``gain``, then the reflections."""
    start = int(round(delay_s * rate))
    last = start + int(round(max(ms for ms, _ in reflections) * rate / 1000)) + 1
    response = np.zeros(last, dtype=np.float32)
    response[start] = gain
    for ms, g in reflections:
        response[start + int(round(ms * rate / 1000))] += gain * g
    return response


def level_db(samples: np.ndarray) -> float:
    """Mean power in dB relative to full scale (float samples in [-1, 1]); -120 for silence."""
    power = float(np.mean(np.square(samples, dtype=np.float64))) if samples.size else 0.0
    return 10 * np.log10(power) if power > 1e-12 else -120.0


def erle_db(before: np.ndarray, after: np.ndarray) -> float:
    """Echo return loss enhancement: how much quieter the echo is after cancellation, in dB."""
    return level_db(before) - level_db(after)


def speech_active(samples: np.ndarray, rate: int, *, frame_s: float = 0.02, floor_db: float = -50.0) -> np.ndarray:
    """Per-sample mask of the frames louder than ``floor_db``: where the talker actually talks."""
    frame = int(rate * frame_s)
    n = len(samples) // frame
    levels = np.array([level_db(samples[i * frame:(i + 1) * frame]) for i in range(n)])
    mask = np.repeat(levels > floor_db, frame)
    return np.concatenate((mask, np.zeros(len(samples) - len(mask), dtype=bool)))
