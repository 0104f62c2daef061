"""Read and write WAV files as PCM16 mono, with errors a user can act on."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from desktop.errors import AudioFormatError

from .dsp import resample_pcm16

__all__ = ["read_wav_pcm16", "write_wav_pcm16"]


def read_wav_pcm16(path: str | Path, rate: int | None = None) -> tuple[bytes, int]:
    """The WAV at ``path`` as PCM16 mono bytes, resampled to ``rate`` if given.

    Accepts 8/16/24/32-bit integer PCM with any channel count (mixed down).
    Returns ``(pcm, rate)``.
    """
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, src_rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            raw = wav.readframes(wav.getnframes())
    except FileNotFoundError:
        raise AudioFormatError(f"{path}: no such file") from None
    except (wave.Error, EOFError, OSError) as exc:
        raise AudioFormatError(f"{path}: not a PCM WAV file ({exc})") from None
    if channels < 1 or src_rate <= 0:
        raise AudioFormatError(f"{path}: invalid WAV header ({channels} channels, {src_rate} Hz)")
    samples = _to_float(raw, width, path)
    usable = len(samples) - len(samples) % channels
    mono = samples[:usable].reshape(-1, channels).mean(axis=1)
    pcm = (np.clip(mono, -1.0, 32767 / 32768) * 32768).astype("<i2").tobytes()
    if rate is not None and rate != src_rate:
        return resample_pcm16(pcm, src_rate, rate), rate
    return pcm, src_rate


def _to_float(raw: bytes, width: int, path: str | Path) -> np.ndarray:
    if width == 1:
        return (np.frombuffer(raw, np.uint8).astype(np.float32) - 128) / 128
    if width == 2:
        return np.frombuffer(raw, "<i2").astype(np.float32) / 32768
    if width == 3:
        bytes3 = np.frombuffer(raw[: len(raw) - len(raw) % 3], np.uint8).reshape(-1, 3)
        ints = (bytes3[:, 0].astype(np.int32) | bytes3[:, 1].astype(np.int32) << 8
                | bytes3[:, 2].astype(np.int32) << 16)
        ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints)
        return ints.astype(np.float32) / (1 << 23)
    if width == 4:
        return np.frombuffer(raw, "<i4").astype(np.float32) / (1 << 31)
    raise AudioFormatError(f"{path}: {8 * width}-bit samples are not supported")


def write_wav_pcm16(path: str | Path, pcm: bytes, rate: int) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm)
