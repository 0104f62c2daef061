"""The offline assistant (``--processor local``): listens, understands, answers and speaks with no network.

A chain of small processors over the Part stream (see :mod:`.pipeline`): voice activity detection
(:mod:`.vad`), speech to text (:mod:`.stt`), the reply (:mod:`desktop.assistant`, via :mod:`.reply`),
text to speech (:mod:`.tts`). The speech models ship inside PyPI packages, the optional extra
``voice-desktop[offline]``; :mod:`.models` loads them once per process, with progress for the window.
"""

from __future__ import annotations

from typing import Any

from .pipeline import CONFIG_KEYS, LocalProcessor

__all__ = ["CONFIG_KEYS", "TITLE", "LocalProcessor", "create"]

TITLE = "Offline assistant"


def create(config: dict[str, Any]) -> LocalProcessor:
    return LocalProcessor(config)
