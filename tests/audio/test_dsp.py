"""The resampler keeps pitch across rates; streaming it chunk by chunk gives the same audio as one call."""

from __future__ import annotations

import numpy as np
import pytest

from desktop.audio.dsp import PCMResampler, pcm16_dbfs, pcm16_to_float, resample_pcm16, rms_dbfs

from .signals import peak_hz, tone, tone_pcm

RATES = [(24000, 44100), (44100, 16000), (16000, 48000), (48000, 16000), (22050, 24000)]


@pytest.mark.parametrize(("src", "dst"), RATES)
def test_a_440_hz_tone_stays_440_hz(src: int, dst: int) -> None:
    out = pcm16_to_float(resample_pcm16(tone_pcm(440, 1.0, src), src, dst))
    assert len(out) == pytest.approx(dst, abs=dst * 0.01)
    assert peak_hz(out[len(out) // 10: -len(out) // 10], dst) == pytest.approx(440, abs=1.0)


@pytest.mark.parametrize(("src", "dst"), RATES)
@pytest.mark.parametrize("quality", ["HQ", "LQ"])
def test_streaming_in_chunks_equals_one_whole_call(src: int, dst: int, quality: str) -> None:
    pcm = tone_pcm(440, 0.7, src) + tone_pcm(1234, 0.3, src, amplitude=0.3)
    whole = PCMResampler(src, dst, quality=quality).process(pcm, last=True)
    streamed, chunker = bytearray(), PCMResampler(src, dst, quality=quality)
    rng = np.random.default_rng(7)
    pos = 0
    while pos < len(pcm):
        size = int(rng.integers(1, 1200)) * 2  # odd-sized chunks, whole samples
        streamed += chunker.process(pcm[pos:pos + size])
        pos += size
    streamed += chunker.process(b"", last=True)
    a, b = np.frombuffer(bytes(streamed), "<i2").astype(int), np.frombuffer(whole, "<i2").astype(int)
    assert len(a) == len(b)
    assert np.max(np.abs(a - b)) <= 3  # soxr rounds per internal block: a few LSB, no seams
    assert peak_hz(pcm16_to_float(whole)[: int(0.6 * dst)], dst) == pytest.approx(440, abs=1.0)


def test_same_rate_is_a_pass_through() -> None:
    pcm = tone_pcm(440, 0.1, 16000)
    assert PCMResampler(16000, 16000).process(pcm) == pcm


def test_level_of_a_full_scale_sine_is_minus_3_dbfs() -> None:
    assert rms_dbfs(tone(440, 0.5, 16000, amplitude=1.0)) == pytest.approx(-3.01, abs=0.05)
    assert rms_dbfs(np.zeros(100, dtype=np.float32)) == -100.0


@pytest.mark.parametrize("amplitude", [1.0, 0.25, 0.001])
def test_the_pcm16_level_is_the_float_level_of_the_same_samples(amplitude):
    pcm = (tone(440, 0.02, 48000, amplitude=amplitude) * 32767).astype(np.int16)
    assert pcm16_dbfs(pcm) == pytest.approx(rms_dbfs(pcm.astype(np.float32) / 32768.0), abs=1e-3)
    assert pcm16_dbfs(np.zeros(960, dtype=np.int16)) == -100.0
    assert pcm16_dbfs(np.full(960, -32768, dtype=np.int16)) == 0.0  # full scale, no overflow in int16
