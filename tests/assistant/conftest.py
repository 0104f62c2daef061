"""The assistant's tests share one real llama.cpp server (SmolLM2) for the session."""

from __future__ import annotations

from tests.llm_server import llm_server  # noqa: F401  (a session fixture, shared with other test packages)
