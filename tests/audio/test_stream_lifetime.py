"""A running PortAudio stream is never garbage-collected from under PortAudio's thread (a crash), whoever
dropped it: it is held from creation until close_stream() has closed it. Real device (tests/pulse.py)."""

from __future__ import annotations

import gc
import time
import weakref
from typing import Any

import pytest

from desktop.audio._stream import close_stream, keep_until_closed

pytestmark = pytest.mark.audio


def test_a_dropped_running_stream_lives_until_it_is_closed(pulse: Any) -> None:
    import numpy as np
    import sounddevice as sd

    calls = []

    def callback(outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        outdata[:] = 0
        calls.append(frames)

    stream = keep_until_closed(sd.OutputStream(samplerate=24000, channels=1, dtype="int16", callback=callback))
    stream.start()
    ref = weakref.ref(stream)
    del stream  # the owner forgot it: only the module's hold remains
    gc.collect()
    assert ref() is not None, "a running stream was freed while PortAudio still calls its callback"
    deadline = time.monotonic() + 20
    while not calls and time.monotonic() < deadline:
        time.sleep(0.05)
    assert calls, "the dropped stream kept running (its callback was called)"
    assert close_stream(ref(), timeout=10)
    gc.collect()
    assert ref() is None, "a closed stream is let go"
