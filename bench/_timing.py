"""A small ``time.perf_counter`` harness: calls per wall second (best batch) and per CPU second (all batches)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

__all__ = ["Rate", "measure"]


@dataclasses.dataclass(frozen=True)
class Rate:
    per_second: float  # calls per wall-clock second, from the fastest batch (least disturbed by the machine)
    per_cpu_second: float  # calls per CPU second of this process, over every batch
    calls: int


def measure(fn: Callable[[], object], *, seconds: float = 0.5, repeats: int = 5) -> Rate:
    """Run ``fn`` in ``repeats`` timed batches totalling about ``seconds``, after a calibration run."""
    n = 1
    while True:  # calibrate: find a batch size that takes a measurable time
        start = time.perf_counter()
        for _ in range(n):
            fn()
        took = time.perf_counter() - start
        if took >= 0.02 or n >= 1 << 24:
            break
        n *= 2
    batch = max(1, round(n * (seconds / repeats) / max(took, 1e-9)))
    best = float("inf")
    cpu = 0.0
    for _ in range(repeats):
        cpu_start, start = time.process_time(), time.perf_counter()
        for _ in range(batch):
            fn()
        took = time.perf_counter() - start
        cpu += time.process_time() - cpu_start
        best = min(best, took / batch)
    calls = batch * repeats
    return Rate(per_second=1 / best, per_cpu_second=calls / cpu if cpu > 0 else float("inf"), calls=calls)
