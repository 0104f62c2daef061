"""Audio: device capture and playback, resampling and levels. No Qt, no sockets.

Modules include ``ring`` (the lock-free SPSC sample ring), ``dsp`` (resampling, levels), ``devices`` (listing and
resolving devices), ``capture`` (mic -> 20 ms chunks of 16 kHz PCM16), ``playback`` (PCM16 at any rate ->
speaker, with a jitter buffer). Import them directly; this package imports nothing, so ``import desktop.audio``
never loads PortAudio.
"""

from __future__ import annotations

__all__: list[str] = []
