"""Conversation history in SQLite: kept as it happens, searchable, exportable, deletable for good.

* :mod:`.schema` opens the file (WAL, versioned migrations; a damaged or foreign file is moved aside),
* :mod:`.writer` is the one thread that writes, :mod:`.recorder` feeds it from the live transcript,
* :mod:`.queries` reads, searches (FTS5) and deletes, :mod:`.export` writes Markdown/JSON,
* :mod:`.legacy` imports the JSON-lines log of earlier versions once,
* :class:`History` (:mod:`.store`) ties them together for the app.

No Qt here: the app passes the file's path in (``default_history_path`` is the
fallback for scripts; the app asks Qt for the platform's data folder).
"""

from __future__ import annotations

import os
from pathlib import Path

from .export import ExportError, export_to_file
from .queries import ConversationRow, HistoryReader, SearchHit, TurnRow
from .schema import HistoryUnavailable, open_database
from .store import History

__all__ = [
    "FILE_NAME",
    "ConversationRow",
    "ExportError",
    "History",
    "HistoryReader",
    "HistoryUnavailable",
    "SearchHit",
    "TurnRow",
    "default_history_path",
    "export_to_file",
    "open_database",
]

FILE_NAME = "history.sqlite3"


def default_history_path() -> Path:
    """``$XDG_DATA_HOME/voice-desktop/history.sqlite3`` (``~/.local/share/…``): where Qt's data folder is on Linux."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "voice-desktop" / FILE_NAME
