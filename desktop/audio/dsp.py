"""Pure signal helpers on PCM16 mono little-endian bytes (resampling, levels)."""

from __future__ import annotations

import math

import numpy as np
import soxr

from desktop.errors import AudioFormatError

__all__ = ["PCMResampler", "float_to_pcm16", "pcm16_dbfs", "pcm16_to_float", "resample_pcm16", "rms_dbfs"]

_INT16 = np.dtype("<i2")


def pcm16_to_float(pcm: bytes) -> np.ndarray:
    if len(pcm) % 2:
        raise AudioFormatError(f"{len(pcm)} bytes is not a whole number of PCM16 samples")
    return np.frombuffer(pcm, dtype=_INT16).astype(np.float32) / 32768.0


def float_to_pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 32767 / 32768) * 32768.0).astype(_INT16).tobytes()


def resample_pcm16(pcm: bytes, src_rate: int, dst_rate: int) -> bytes:
    """Resample a whole PCM16 mono clip (not for streams: use :class:`PCMResampler`)."""
    if src_rate == dst_rate:
        return pcm
    samples = np.frombuffer(pcm, dtype=_INT16)
    if not samples.size:
        return b""
    return soxr.resample(samples, src_rate, dst_rate, quality="HQ").astype(_INT16).tobytes()


class PCMResampler:
    """Streaming PCM16 mono resampler: feed chunks, get chunks, no seams between them."""

    def __init__(self, src_rate: int, dst_rate: int, *, quality: str = "HQ") -> None:
        self.src_rate, self.dst_rate = src_rate, dst_rate
        self._stream = None if src_rate == dst_rate else soxr.ResampleStream(
            src_rate, dst_rate, 1, dtype="int16", quality=quality)

    def process(self, pcm: bytes, *, last: bool = False) -> bytes:
        if self._stream is None:
            return pcm
        samples = np.frombuffer(pcm, dtype=_INT16)
        return self._stream.resample_chunk(samples, last=last).astype(_INT16, copy=False).tobytes()


def pcm16_dbfs(samples: np.ndarray) -> float:
    """RMS level of PCM16 samples in dBFS, floored at -100: what :func:`rms_dbfs` gives for them scaled to
    [-1, 1), in two numpy calls instead of six (it runs on every mic block, before the block is sent on)."""
    if samples.size == 0:
        return -100.0
    as_float = samples.astype(np.float32)
    energy = float(np.dot(as_float, as_float)) / (samples.size * 32768.0 * 32768.0)
    return max(-100.0, 10.0 * math.log10(energy)) if energy > 0 else -100.0


def rms_dbfs(samples: np.ndarray) -> float:
    """RMS level of float samples in dBFS, floored at -100."""
    if samples.size == 0:
        return -100.0
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return max(-100.0, 20.0 * np.log10(rms)) if rms > 0 else -100.0
