"""The offline assistant's reply brain: skills, a local language model client, and an honest fallback.

Pure Python: no Qt, audio or WebSockets. The offline speech pipeline (``desktop.processors.local``) calls
:meth:`Assistant.respond` for each turn and speaks the :class:`Reply`'s sentences as they arrive.
"""

from __future__ import annotations

from desktop.assistant.core import Assistant, Reply
from desktop.assistant.llm import OLLAMA_URL, LocalModelServer, discover_ollama

__all__ = ["OLLAMA_URL", "Assistant", "LocalModelServer", "Reply", "discover_ollama"]
