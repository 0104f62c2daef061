"""``python -m bench._reply_server``: ``voice-desktop-server`` with a processor that answers every typed turn
with ``REPLY_SECONDS`` of spoken-reply-like audio, sent at real time in 20 ms parts, as a voice model streams.

For the "CPU while listening" figure: the client receives and plays a long reply with its mic off, and
nothing else happens (the echo processor answers typed text with text, and speech only while it is spoken).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import numpy as np

from desktop.parts import Part
from desktop.processors import PROCESSORS
from desktop.server import cli

REPLY_SECONDS = 8.0
RATE = 24000
PART_S = 0.02


def _voice_like(seconds: float) -> bytes:
    """A 140 Hz buzz with harmonics, its loudness moving like syllables: nothing is silence."""
    t = np.arange(int(seconds * RATE)) / RATE
    buzz = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 8))
    syllables = 0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)
    return (buzz / np.max(np.abs(buzz)) * syllables * 0.3 * 32767).astype("<i2").tobytes()


class SpokenReply:
    def __init__(self, config: dict[str, Any]) -> None:
        self.pcm = _voice_like(REPLY_SECONDS)

    async def __call__(self, parts: AsyncIterable[Part]) -> AsyncIterator[Part]:
        loop = asyncio.get_running_loop()
        step = int(RATE * PART_S) * 2
        async for part in parts:
            if part.is_text and part.text and part.role == "user":
                yield Part.model_text("Here is a long spoken reply.")
                start = loop.time()
                for k, i in enumerate(range(0, len(self.pcm), step)):
                    await asyncio.sleep(max(0.0, start + k * PART_S - loop.time()))
                    yield Part.audio(self.pcm[i:i + step], RATE)
                yield Part.generation_complete()


def create(config: dict[str, Any]) -> SpokenReply:
    return SpokenReply(config)


if __name__ == "__main__":
    PROCESSORS["spoken_reply"] = ("bench._reply_server", "Spoken reply (bench)")
    sys.exit(cli.main(["--processor", "spoken_reply", *sys.argv[1:]]))
