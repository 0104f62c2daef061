"""Fixtures for the offline assistant: the real models (loaded once per session) and real speech.

Speech is made at test time: espeak-ng speaks a phrase into a WAV, which the project's own reader
resamples to 16 kHz with soxr, as a microphone's audio would arrive.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from desktop.audio.wavio import read_wav_pcm16
from desktop.processors.local import models

RATE = 16000

Say = Callable[[str], bytes]


@pytest.fixture(scope="session")
def offline_models() -> models.Models:
    loaded = models.load_sync()
    assert loaded.message is None, loaded.message
    return loaded


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is needed to make test speech: run tools/system-deps.sh test")
    return tmp_path_factory.mktemp("speech")


@pytest.fixture(scope="session")
def speech_wav(speech_dir: Path) -> Callable[[str], Path]:
    """The WAV espeak-ng makes for a phrase (at its own rate, 22.05 kHz)."""
    made: dict[str, Path] = {}

    def wav(text: str) -> Path:
        if text not in made:
            path = speech_dir / f"phrase-{len(made)}.wav"
            subprocess.run(["espeak-ng", "-s", "150", "-w", str(path), text], check=True, timeout=60)
            made[text] = path
        return made[text]

    return wav


@pytest.fixture(scope="session")
def say(speech_wav: Callable[[str], Path]) -> Say:
    """PCM16 mono 16 kHz of espeak-ng saying ``text``."""

    def speak(text: str) -> bytes:
        pcm, _ = read_wav_pcm16(speech_wav(text), RATE)
        return pcm

    return speak


def silence(seconds: float) -> bytes:
    return bytes(2 * int(RATE * seconds))


def words(text: str) -> str:
    """Lower case, letters, digits and single spaces: for comparing transcripts."""
    kept = "".join(c.lower() if c.isalnum() else " " for c in text)
    return " ".join(kept.split())
