"""What the embedded server runs: processors over a stream of :class:`~desktop.parts.Part`.

A processor is any callable taking an async iterator of input parts and
returning an async iterator of output parts. A *factory* builds one from the
client's config dict; the server calls it again after every config or reset.
Processors are found by name so the CLI, the settings and tests agree.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import Any, Protocol

from desktop.errors import VoiceDesktopError
from desktop.parts import Part

__all__ = ["PROCESSORS", "Processor", "ProcessorFactory", "UnknownProcessor", "get_factory"]


class Processor(Protocol):
    def __call__(self, parts: AsyncIterable[Part]) -> AsyncIterator[Part]: ...


ProcessorFactory = Callable[[dict[str, Any]], Processor]


class UnknownProcessor(VoiceDesktopError, LookupError):
    """No processor has the requested name."""


#: name -> (module, human title). Each module defines ``create(config) -> Processor``.
PROCESSORS: dict[str, tuple[str, str]] = {
    "echo": ("desktop.processors.echo", "Echo (mic check: plays back what you say)"),
    "gemini": ("desktop.processors.gemini", "Gemini Live"),
    "local": ("desktop.processors.local", "Offline assistant"),
}


def get_factory(name: str) -> ProcessorFactory:
    try:
        module_name, _title = PROCESSORS[name]
    except KeyError:
        known = ", ".join(sorted(PROCESSORS))
        raise UnknownProcessor(f"Unknown processor {name!r}. Known processors: {known}.") from None
    return importlib.import_module(module_name).create
