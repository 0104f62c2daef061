"""The jitter policy, fed arrival times: no devices, no wall clock, deterministic."""

from __future__ import annotations

import random

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from desktop.audio.jitter import JitterPolicy

BLOCK = 0.02  # 20 ms chunks, as the echo server returns them


def feed(policy: JitterPolicy, start: float, seconds: float, jitter_s: float = 0.0, seed: int = 1) -> float:
    """Chunks sent every 20 ms from ``start``, each delayed by 0..jitter_s (delivered in order, like TCP)."""
    rng = random.Random(seed)
    last = 0.0
    for i in range(int(seconds / BLOCK)):
        arrival = max(last, start + i * BLOCK + rng.uniform(0, jitter_s))
        last = arrival
        policy.on_arrival(arrival, BLOCK)
    return start + seconds


def test_a_steady_link_keeps_the_configured_target() -> None:
    policy = JitterPolicy(initial_ms=60, min_ms=60)
    feed(policy, 0.0, 10.0)
    assert policy.target_ms == 60
    assert policy.grows == 0


def test_a_faster_than_real_time_burst_is_never_late() -> None:
    policy = JitterPolicy(initial_ms=60, min_ms=60)
    for i in range(200):  # 4 s of audio in 0.4 s
        policy.on_arrival(i * 0.002, BLOCK)
    assert policy.target_ms == 60


def test_jitter_grows_the_target_by_about_its_size_and_calm_shrinks_it_back() -> None:
    policy = JitterPolicy(initial_ms=60, min_ms=60, max_ms=400)
    t = feed(policy, 0.0, 8.0, jitter_s=0.12)
    grown = policy.target_ms
    assert 120 <= grown <= 400, grown  # covers the 120 ms spread, and is bounded
    assert policy.grows > 0
    policy.new_talkspurt()
    feed(policy, t, 30.0)  # the link calms
    assert policy.target_ms == 60
    assert policy.shrinks > 0
    assert policy.stats().peak_target_ms == grown


def test_shrinking_is_gradual_and_stops_when_jitter_returns() -> None:
    policy = JitterPolicy(initial_ms=60, min_ms=60, calm_s=3.0, window_s=4.0)
    t = feed(policy, 0.0, 6.0, jitter_s=0.2)
    high = policy.target_ms
    t = feed(policy, t, 8.5)  # window forgets at 4 s, calm after 3 s more: a couple of 10 ms steps only
    mid = policy.target_ms
    assert 60 < mid < high
    feed(policy, t, 3.0, jitter_s=0.2, seed=7)
    assert policy.target_ms >= mid


def test_underruns_grow_the_target_and_it_never_passes_max() -> None:
    policy = JitterPolicy(initial_ms=60, min_ms=60, max_ms=200, underrun_step_ms=40)
    assert policy.on_underrun(1.0) == 100
    assert policy.on_underrun(1.1) == 140
    for i in range(10):
        policy.on_underrun(1.2 + i * 0.01)
    assert policy.target_ms == 200
    assert policy.underruns == 12
    for second in range(40):  # quiet link, nothing arriving: tick lets it come back down
        policy.tick(2.0 + second)
    assert policy.target_ms == 60


def test_a_pause_between_replies_is_not_jitter() -> None:
    policy = JitterPolicy(initial_ms=60, min_ms=60)
    t = feed(policy, 0.0, 2.0)
    feed(policy, t + 5.0, 2.0)  # the next reply, 5 s later, without new_talkspurt()
    assert policy.target_ms == 60


def test_bad_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="min_ms"):
        JitterPolicy(min_ms=100, max_ms=50)


def test_a_quiet_minute_brings_the_target_down_before_the_next_reply() -> None:
    policy = JitterPolicy(initial_ms=60, min_ms=60)
    t = feed(policy, 0.0, 5.0, jitter_s=0.2)
    assert policy.target_ms > 150
    policy.new_talkspurt()
    policy.on_arrival(t + 60.0, BLOCK)  # the first chunk of the next reply, a minute later
    assert policy.target_ms == 60


@given(gaps=st.lists(st.floats(min_value=0.0, max_value=0.4), min_size=1, max_size=400))
@example(gaps=[0.25, 0.3])  # 0.55 - 0.25 > 0.3 in floating point: a pause, as the policy sees it
@settings(max_examples=200, deadline=None)
def test_the_window_s_largest_lateness_is_the_largest_of_the_arrivals_it_holds(gaps):
    """The lateness kept per window is a sliding maximum: it must equal the plain maximum over the window."""
    policy = JitterPolicy(window_s=2.0, pause_s=0.3)
    now, media, base, lateness = 0.0, 0.0, None, []  # (arrival, ms): worked out here from the definition
    for gap in gaps:
        before, now = now, now + gap
        if now - before > policy.pause_s:  # as the policy sees the gap: from the two arrival times
            media, base = 0.0, None  # a pause starts a new talkspurt
        offset = now - media
        base = offset if base is None else min(base, offset)
        if (offset - base) * 1000 > 0:
            lateness.append((now, (offset - base) * 1000))
        media += BLOCK
        policy.on_arrival(now, BLOCK)
        in_window = [ms for at, ms in lateness if now - at <= policy.window_s]
        assert policy.stats().late_ms == pytest.approx(max(in_window, default=0.0))
