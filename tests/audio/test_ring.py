"""SampleRing: FIFO order, wrap-around, drop-oldest when full, clear from either side, and no torn reads
under a real producer thread."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from desktop.audio.ring import SampleRing


def seq(start: int, stop: int) -> np.ndarray:
    return np.arange(start, stop, dtype=np.int64)


def test_reads_what_was_written_in_order_across_the_wrap() -> None:
    ring = SampleRing(8, np.int64)
    ring.write(seq(0, 6))
    assert ring.read(4).tolist() == [0, 1, 2, 3]
    ring.write(seq(6, 12))  # wraps
    assert ring.available == 8
    assert ring.read().tolist() == list(range(4, 12))
    assert ring.available == 0
    assert ring.overruns == 0 and ring.dropped == 0


def test_read_into_fills_what_it_can_and_says_how_much() -> None:
    ring = SampleRing(16, np.int16)
    ring.write(np.array([1, 2, 3], dtype=np.int16))
    out = np.full(5, -1, dtype=np.int16)
    assert ring.read_into(out) == 3
    assert out.tolist() == [1, 2, 3, -1, -1]
    assert ring.read_into(out) == 0


def test_full_ring_drops_the_oldest_and_counts_overruns() -> None:
    ring = SampleRing(8, np.int64)
    ring.write(seq(0, 6))
    ring.write(seq(6, 10))  # 2 oldest unread samples overwritten
    assert ring.overruns == 1
    assert ring.available == 8
    assert ring.read().tolist() == list(range(2, 10))
    assert ring.dropped == 2


def test_a_write_larger_than_the_ring_keeps_its_newest_samples() -> None:
    ring = SampleRing(4, np.int64)
    ring.write(seq(0, 10))
    assert ring.read().tolist() == [6, 7, 8, 9]
    assert ring.write_index == 10


def test_clear_drops_everything_queued_but_not_later_writes() -> None:
    ring = SampleRing(8, np.int64)
    ring.write(seq(0, 5))
    ring.clear()
    assert ring.available == 0
    ring.write(seq(5, 7))
    assert ring.read().tolist() == [5, 6]


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError):
        SampleRing(0)


def test_concurrent_producer_never_yields_torn_or_reordered_samples() -> None:
    """A producer thread writes a counting sequence into a small ring while this thread reads: every
    sample read is one that was written, in increasing order, and read + dropped == written."""
    ring = SampleRing(512, np.int64)
    total, block = 400_000, 97
    done = threading.Event()

    def produce() -> None:
        for start in range(0, total, block):
            ring.write(seq(start, min(total, start + block)))
        done.set()

    thread = threading.Thread(target=produce)
    thread.start()
    out = np.empty(300, dtype=np.int64)
    last, read = -1, 0
    while not done.is_set() or ring.available:
        n = ring.read_into(out)
        if n:
            got = out[:n]
            assert got[0] > last
            assert np.all(np.diff(got) == 1), "a torn read: samples from two laps"
            last, read = int(got[-1]), read + n
    thread.join(timeout=10)
    assert last == total - 1
    assert read + ring.dropped == total
