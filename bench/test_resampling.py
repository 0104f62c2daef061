"""(b) Resampling cost of the live paths: capture 48k -> 16k (LQ, the default, and HQ), playback 24k -> 48k (HQ,
the player's), and the echo processor's 16k -> 24k (QQ), in 20 ms chunks as the streams deliver them."""

from __future__ import annotations

import numpy as np
import pytest

from desktop.audio.dsp import PCMResampler
from tests.soak._support import CHUNK_SECONDS, table

from ._timing import measure

pytestmark = pytest.mark.bench

PATHS = [
    # (what, src, dst, quality)
    ("capture (default)", 48000, 16000, "LQ"),
    ("capture", 48000, 16000, "HQ"),
    ("playback", 24000, 48000, "HQ"),
    ("playback", 24000, 48000, "LQ"),
    ("echo processor", 16000, 24000, "QQ"),
]


def chunk(rate: int, seed: int) -> bytes:
    """20 ms of speech-like noise at ``rate``."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(rate * CHUNK_SECONDS)) * 3000).astype("<i2").tobytes()


def test_resampling_cost():
    rows = []
    base = None
    for what, src, dst, quality in PATHS:
        resampler = PCMResampler(src, dst, quality=quality)
        pcm = chunk(src, src + dst)
        out = b"".join(resampler.process(pcm) for _ in range(50))  # one second in, to check the output rate
        assert abs(len(out) / 2 - dst) < dst * 0.05, (what, len(out))
        rate = measure(lambda resampler=resampler, pcm=pcm: resampler.process(pcm))
        x_real_time = rate.per_cpu_second * CHUNK_SECONDS
        if base is None:
            base = x_real_time
        rows.append([what, f"{src // 1000}k -> {dst // 1000}k", quality, rate.per_second, 1e6 / rate.per_second,
                     x_real_time,
                     100.0 / x_real_time, f"{x_real_time / base:.2f}x"])
    print()
    print(table(
        ["path", "rates", "quality", "chunks/s", "µs/chunk", "x real time", "% of one core per stream",
         "vs capture LQ"],
        rows,
        title="(b) Streaming resampling (PCMResampler, soxr), 20 ms chunks. "
              "'% of one core' = CPU a live stream costs = 100 / x real time.",
    ))
