"""Helpers for the history tests: a History on a temporary file and a way to wait for its writer."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from desktop.history import History
from tests.app.conftest import make_app  # noqa: F401 - the real App, for the panel tests

TIMEOUT = 20


async def until(predicate, timeout: float = TIMEOUT) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def written(history: History) -> None:
    """Wait until the writer thread has written everything handed to it."""
    assert history.writer is not None
    await asyncio.to_thread(history.writer.ready.wait, TIMEOUT)
    await until(history.writer.idle)


def rows(path: Path, sql: str, *args) -> list[tuple]:
    """Read the file as an outsider would (a fresh connection, like the sqlite3 shell)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "data" / "voice-desktop" / "history.sqlite3"
