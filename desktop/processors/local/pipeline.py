"""The offline assistant: VAD → STT → reply → TTS, each a :class:`~.stage.Stage` over the Part stream.

What a client sees, per turn:

- spoken: tentative ``input_transcription`` parts while the user speaks (when affordable), the final
  one when the utterance ends (VAD silence, mic off or activity end), then the reply's words as
  ``output_transcription`` with its audio (≤ 100 ms parts, 24 kHz), ``generation_complete``,
  ``turn_complete``;
- typed: the reply's words once, as model text, with its audio, then the same turn ends;
- barge-in (user speech, or a new typed turn, while a reply is made or played): ``interrupted``.

Models come from :mod:`.models` (loaded once per process); when some are missing the processor says
so in an error part and keeps answering typed turns.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

from desktop.parts import Part

from . import models as models_module
from .reply import ReplyStage
from .stage import is_marker
from .stt import SttStage
from .tts import SpeakStage
from .vad import VadStage

__all__ = ["LocalProcessor"]

log = logging.getLogger(__name__)

#: The config keys the offline assistant reads (all optional); they go to the Assistant as they are.
CONFIG_KEYS = ("llm_url", "llm_model", "language", "timezone")


class LocalProcessor:
    """One conversation with the offline assistant. Build it with :func:`desktop.processors.local.create`."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.config = dict(config or {})

    async def __call__(self, parts: AsyncIterable[Part]) -> AsyncIterator[Part]:
        loaded = await models_module.preload()  # at once when the app preloaded; else waits here, off the loop
        if loaded.message:
            yield Part.error(loaded.message)
        detector = None
        if loaded.can_listen:
            try:
                detector = await asyncio.to_thread(loaded.new_detector)
            except models_module.LoadFailure as exc:
                yield Part.error(str(exc))
        unavailable = loaded.message or models_module.NOT_INSTALLED
        from desktop.assistant import Assistant  # the reply step; imported here so a bug there is this turn's error

        assistant = Assistant({k: v for k, v in self.config.items() if k in CONFIG_KEYS})
        stream = SpeakStage(loaded.synthesizer)(
            ReplyStage(assistant)(
                SttStage(loaded.transcriber if detector is not None else None, unavailable=unavailable)(
                    VadStage(detector, unavailable=unavailable)(parts))))
        try:
            async for part in stream:
                if not is_marker(part):
                    yield part
        finally:
            await stream.aclose()
            await assistant.aclose()
