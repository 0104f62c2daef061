"""Short sounds that say "talking now" and "sent": generated here, never downloaded.

Why: with the global talk key the window may be hidden, so the ear is the only
feedback that the press was heard. Two soft sine blips (rising for start,
falling for stop), 90 ms each with raised-cosine edges so they do not click.
The Settings → Keys page can turn them off.
"""

from __future__ import annotations

import functools

__all__ = ["RATE", "earcon"]

RATE = 24000
_LENGTH_S = 0.09
_EDGE_S = 0.012
_LEVEL = 0.18  # about -15 dBFS: audible, never startling
_TONES = {"start": (660.0, 880.0), "stop": (880.0, 587.0)}


@functools.cache
def earcon(kind: str) -> bytes:
    """PCM16 mono at :data:`RATE` for ``"start"`` or ``"stop"``."""
    import numpy as np  # here, not at import: the window is built before numpy is needed (start time)

    if kind not in _TONES:
        raise ValueError(f"unknown earcon {kind!r}; expected start or stop")
    first, last = _TONES[kind]
    n = int(_LENGTH_S * RATE)
    freq = np.linspace(first, last, n)
    phase = 2 * np.pi * np.cumsum(freq) / RATE
    edge = int(_EDGE_S * RATE)
    envelope = np.ones(n)
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, edge))
    envelope[:edge], envelope[-edge:] = ramp, ramp[::-1]
    samples = _LEVEL * envelope * np.sin(phase)
    return (samples * 32767).astype("<i2").tobytes()
