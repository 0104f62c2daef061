"""A preallocated, bounded single-producer/single-consumer ring of samples.

Why: audio callbacks run on PortAudio's thread and must not block, allocate or take locks that the event loop
also takes. This ring is the one hand-over point between that thread and the loop.

* Exactly one thread calls :meth:`SampleRing.write` (the producer) and exactly one calls
  :meth:`SampleRing.read_into` / :meth:`SampleRing.read` (the consumer). :meth:`SampleRing.clear` may be
  called from either side.
* Positions are two ever-growing integers (samples written, samples read), each stored by one thread only;
  under the GIL an attribute store is atomic, so no lock is needed.
* **When full, the writer never blocks: it overwrites the oldest unread samples** and counts an overrun.
  The reader notices that it was lapped and skips what was lost (counted in :attr:`SampleRing.dropped`).
  A write announces the range it is about to touch before copying, so a reader that copied samples while
  they were being overwritten detects it and discards exactly those (a seqlock, without a lock).
* :meth:`SampleRing.clear` only raises a mark; the reader skips up to it on its next read. That is what makes
  "drop everything queued" safe from the producer's side: it takes effect at the next callback.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

__all__ = ["SampleRing"]


class SampleRing:
    """A bounded ring of ``capacity`` mono samples of ``dtype`` (drop-oldest when full)."""

    def __init__(self, capacity: int, dtype: DTypeLike = np.int16) -> None:
        if capacity <= 0:
            raise ValueError(f"ring capacity must be positive, not {capacity}")
        self._buf = np.zeros(capacity, dtype=dtype)
        self._cap = capacity
        self._w = 0  # samples published (producer stores)
        self._w_claim = 0  # samples the producer may be writing right now (producer stores)
        self._r = 0  # samples consumed (consumer stores)
        self._clear_to = 0  # the consumer skips everything before this (either side stores)
        self.overruns = 0  # writes that overwrote unread samples (producer stores)
        self.dropped = 0  # samples lost to overruns, counted by the consumer (consumer stores)

    @property
    def capacity(self) -> int:
        return self._cap

    @property
    def dtype(self) -> np.dtype:
        return self._buf.dtype

    @property
    def write_index(self) -> int:
        """How many samples were ever written: a position marker (e.g. "the turn ends here")."""
        return self._w

    @property
    def read_index(self) -> int:
        """How many samples the consumer has taken (or skipped): the position of the next one it reads."""
        return self._r

    @property
    def available(self) -> int:
        """Samples ready to read (a snapshot: may grow or shrink as the other side runs)."""
        return max(0, min(self._cap, self._w - max(self._r, self._clear_to)))

    def __len__(self) -> int:
        return self.available

    # -- producer side ---------------------------------------------------------

    def write(self, samples: np.ndarray) -> None:
        """Append ``samples`` (1-D); never blocks. When full, the oldest unread samples are overwritten."""
        total = len(samples)
        if total == 0:
            return
        if total > self._cap:
            samples = samples[-self._cap:]
        n = len(samples)
        end = self._w + total
        start = end - n
        self._w_claim = end
        i = start % self._cap
        first = min(n, self._cap - i)
        self._buf[i:i + first] = samples[:first]
        if first < n:
            self._buf[:n - first] = samples[first:]
        if end - max(self._r, self._clear_to) > self._cap:
            self.overruns += 1
        self._w = end

    # -- either side -----------------------------------------------------------

    def clear(self) -> None:
        """Drop every sample written so far; the reader applies it on its next read."""
        self._clear_to = self._w

    # -- consumer side ---------------------------------------------------------

    def read_into(self, out: np.ndarray) -> int:
        """Copy up to ``len(out)`` of the oldest samples into ``out``; return how many. Allocates nothing."""
        w = self._w
        r = max(self._r, self._clear_to)
        if w - r > self._cap:  # lapped by the writer: the oldest are gone
            self.dropped += w - r - self._cap
            r = w - self._cap
        n = min(len(out), w - r)
        if n <= 0:
            self._r = max(self._r, r)
            return 0
        i = r % self._cap
        first = min(n, self._cap - i)
        out[:first] = self._buf[i:i + first]
        if first < n:
            out[first:n] = self._buf[:n - first]
        # Samples below claim - capacity may have been overwritten while we copied them.
        lost = min(n, self._w_claim - self._cap - r)
        if lost > 0:
            self.dropped += lost
            out[:n - lost] = out[lost:n]
            r += lost
            n -= lost
        self._r = r + n
        return n

    def read(self, max_samples: int | None = None) -> np.ndarray:
        """Take up to ``max_samples`` (default: all available) into a new array (loop side, may allocate)."""
        want = self.available if max_samples is None else min(max_samples, self._cap)
        out = np.empty(want, dtype=self._buf.dtype)
        return out[: self.read_into(out)]
