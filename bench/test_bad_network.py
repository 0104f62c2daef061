"""Bad network: the client and the embedded echo server through 80 ± 40 ms of delay and 1 % loss in a private
network namespace (tests/net/shaped_link.py), then a calm link. Prints how the jitter buffer's depth and target
moved, the underruns, the latency it added and the loss; nothing here asserts on a figure."""

from __future__ import annotations

import statistics

import pytest

from tests.net.conftest import run_shaped_link

from . import _results

pytestmark = [pytest.mark.bench, pytest.mark.audio]

SHAPED_S = 15.0
CALM_S = 15.0


def _summary(rows: list[list[float]], start: float, end: float) -> str:
    part = [(target, depth) for t, target, depth in rows if start <= t < end]
    if not part:
        return "-"
    targets = [t for t, _ in part]
    depths = [d for _, d in part]
    return (f"target {min(targets):.0f}..{max(targets):.0f} ms, depth median {statistics.median(depths):.0f} ms, "
            f"max {max(depths):.0f} ms")


def test_bad_network(pulse) -> None:
    f = run_shaped_link(SHAPED_S, CALM_S, timeout=300)
    rows = f["timeline"]
    split = rows[0][0] + SHAPED_S if rows else 0.0
    lost = f["sent_frames"] - f["server_frames"]
    print(f"\nBad network ({f['shaping']}: 80 ms ± 40 ms, 1 % loss{'; ' + f['tc_error'] if f['tc_error'] else ''})")
    print(f"  shaped {SHAPED_S:.0f} s: {_summary(rows, 0, split)}")
    print(f"  calm   {CALM_S:.0f} s: {_summary(rows, split, float('inf'))}")
    print(f"  target: floor {f['jitter_ms']} ms, peak {f['peak_target_ms']:.0f} ms, "
          f"{f['target_after_shaped_ms']:.0f} ms after the shaped part, {f['target_after_calm_ms']:.0f} ms after "
          f"the calm part ({f['grows']} grows, {f['shrinks']} shrinks)")
    print(f"  underruns {f['underruns']} ({f['underruns_shaped']} while shaped), refill silence {f['stall_ms']:.0f} ms,"
          f" latency added at the last start {f['added_latency_ms']:.0f} ms")
    print(f"  spoken frames sent {f['sent_frames']}, at the server {f['server_frames']} (lost {lost}); "
          f"typed {f['typed']}, answered {len(f['answered'])}; TCP retransmissions {f['retransmitted_segments']}"
          + (f", emulated losses {f['emulated_losses']}" if f["shaping"] == "relay" else ""))
    area = "bad network"
    _results.record(area, f"jitter target peak / after calm ({f['shaping']})",
                    f"{f['peak_target_ms']:.0f} / {f['target_after_calm_ms']:.0f}", "ms")
    _results.record(area, "underruns / refill silence", f"{f['underruns']} / {f['stall_ms']:.0f} ms")
    _results.record(area, "latency added by the buffer (last start)", float(f["added_latency_ms"]), "ms")
    _results.record(area, "spoken frames lost / typed texts unanswered",
                    f"{lost} / {f['typed'] - len(f['answered'])}", target="0 / 0",
                    met=lost == 0 and f["typed"] == len(f["answered"]))
