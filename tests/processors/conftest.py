"""Fixtures for processor tests: a Gemini Live double on 127.0.0.1, a clean environment, a feed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.gemini_double import GeminiDouble, TlsFiles, make_tls_files

from .helpers import Feed


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """One self-signed certificate for the whole run (making one per test is wasted time)."""
    return make_tls_files(tmp_path_factory.mktemp("gemini-tls"))


@pytest.fixture
async def gemini_double(tls_files: TlsFiles) -> AsyncIterator[GeminiDouble]:
    async with GeminiDouble(tls=tls_files) as double:
        yield double


@pytest.fixture(autouse=True)
def _no_ambient_gemini_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep a developer's real key or proxy settings out of the tests."""
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GEMINI_BASE_URL", "GOOGLE_GENAI_USE_VERTEXAI",
                 "GOOGLE_GENAI_API_VERSION"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def feed() -> Feed:
    return Feed()
