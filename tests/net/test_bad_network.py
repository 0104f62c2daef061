"""Client and embedded echo server through a jittery, lossy link (80 ± 40 ms, 1 % loss) in a network namespace
the test makes: the jitter buffer grows, shrinks back once the link calms, counts what it cost, and nothing the
user said or typed is lost. Real sockets, real Player on the private PulseAudio (tests/pulse.py)."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import run_shaped_link

pytestmark = pytest.mark.audio


def test_the_jitter_buffer_adapts_and_nothing_said_is_lost(pulse: Any) -> None:
    figures = run_shaped_link(shaped_s=8.0, calm_s=10.0)
    # Nothing lost: every spoken frame reached the server, every typed text was answered exactly once.
    assert figures["audio_dropped"] == 0
    assert figures["server_frames"] == figures["sent_frames"] > 0
    assert figures["typed"] >= 4
    assert sorted(figures["answered"].values()) == [1] * figures["typed"], figures["answered"]
    # It grew under jitter, within its bounds, and came back down once the link calmed.
    assert figures["target_after_shaped_ms"] > figures["jitter_ms"], figures
    assert figures["peak_target_ms"] <= 400
    assert figures["grows"] > 0 and figures["shrinks"] > 0
    assert figures["target_after_calm_ms"] < figures["peak_target_ms"], figures
    # What it cost is counted: the latency it added when playback started, and the underruns (if any).
    assert figures["added_latency_ms"] > 0
    assert figures["underruns"] >= 0 and figures["stall_ms"] >= 0
    assert len(figures["timeline"]) > 10
