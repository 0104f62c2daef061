"""Reading and deleting the history: plain functions over a connection, run off the GUI thread.

The panel's reads go through :class:`HistoryReader` (its own read-only
connection, which WAL lets read while the writer writes); deletes run on the
writer thread through :meth:`HistoryWriter.submit`. Nothing here knows Qt.
"""

from __future__ import annotations

import dataclasses
import re
import sqlite3
import threading
from pathlib import Path

from desktop.transcript import Turn

from .schema import connect

__all__ = [
    "MARK_END",
    "MARK_START",
    "ConversationRow",
    "HistoryReader",
    "SearchHit",
    "TurnRow",
    "conversation_turns",
    "delete_conversations",
    "fts_query",
    "latest_conversation",
    "list_conversations",
    "search",
]

MARK_START, MARK_END = "\x02", "\x03"  # around matched words in a snippet; the panel turns them into bold
RESTORE_TURNS = 500  # the newest turns of the last conversation shown again at start


@dataclasses.dataclass(frozen=True, slots=True)
class ConversationRow:
    id: int
    started: float
    title: str
    endpoint: str


@dataclasses.dataclass(frozen=True, slots=True)
class TurnRow:
    seq: int
    speaker: str
    text: str
    kind: str
    typed: bool
    sent: bool
    state: str
    started: float
    finished: float | None

    def to_turn(self) -> Turn:
        return Turn.from_dict({"id": self.seq, "speaker": self.speaker, "text": self.text, "kind": self.kind,
                               "typed": self.typed, "sent": self.sent, "state": self.state})


@dataclasses.dataclass(frozen=True, slots=True)
class SearchHit:
    conversation: ConversationRow
    seq: int
    speaker: str
    snippet: str  # with MARK_START/MARK_END around the matches


def list_conversations(conn: sqlite3.Connection, limit: int = -1) -> list[ConversationRow]:
    """Newest first. Conversations without a turn (all deleted while streaming) are not listed."""
    rows = conn.execute("SELECT id, started, title, endpoint FROM conversations ORDER BY started DESC, id DESC"
                        " LIMIT ?", (limit,))
    return [ConversationRow(*row) for row in rows]


def conversation_turns(conn: sqlite3.Connection, conversation_id: int, *, last: int = -1) -> list[TurnRow]:
    query = ("SELECT seq, speaker, text, kind, typed, sent, state, started, finished FROM turns"
             " WHERE conversation_id=? ORDER BY seq")
    if last >= 0:
        query = f"SELECT * FROM ({query} DESC LIMIT {int(last)}) ORDER BY seq"
    return [TurnRow(s, sp, t, k, bool(ty), bool(se), st, a, f)
            for s, sp, t, k, ty, se, st, a, f in conn.execute(query, (conversation_id,))]


def latest_conversation(conn: sqlite3.Connection) -> tuple[int, list[Turn]] | None:
    """The conversation to show again at start (its newest turns), or None."""
    row = conn.execute("SELECT id FROM conversations ORDER BY started DESC, id DESC LIMIT 1").fetchone()
    if row is None:
        return None
    return row[0], [t.to_turn() for t in conversation_turns(conn, row[0], last=RESTORE_TURNS)]


_WORD = re.compile(r"\w+", re.UNICODE)


def fts_query(text: str) -> str:
    """The user's words as an FTS5 query: every word must occur, each as a prefix.

    Quoting every word means FTS5 syntax typed by the user (``AND``, ``"``,
    ``*``, ``-``) is searched for as text and never raises a syntax error.
    """
    return " ".join(f'"{word}"*' for word in _WORD.findall(text))


def search(conn: sqlite3.Connection, text: str, *, limit: int = 200) -> list[SearchHit]:
    """Turns matching every word of ``text``, newest first, with the matches marked."""
    query = fts_query(text)
    if not query:
        return []
    rows = conn.execute(
        "SELECT c.id, c.started, c.title, c.endpoint, t.seq, t.speaker,"
        f" snippet(turns_fts, 0, '{MARK_START}', '{MARK_END}', '…', 16)"
        " FROM turns_fts JOIN turns t ON t.id = turns_fts.rowid JOIN conversations c ON c.id = t.conversation_id"
        " WHERE turns_fts MATCH ? ORDER BY turns_fts.rowid DESC LIMIT ?", (query, limit))
    return [SearchHit(ConversationRow(cid, started, title, endpoint), seq, speaker, snippet)
            for cid, started, title, endpoint, seq, speaker, snippet in rows]


def delete_conversations(conn: sqlite3.Connection, ids: list[int] | None) -> int:
    """Delete these conversations (``None``: all) so their text is gone from the file; returns how many.

    ``secure_delete`` zeroes the freed pages, FTS5's ``optimize`` rewrites the
    index without the deleted words (FTS5 otherwise keeps them behind a
    tombstone), ``VACUUM`` rebuilds the file, and a truncating checkpoint
    empties the WAL, which still holds copies of the old pages.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        if ids is None:
            count = conn.execute("SELECT count(*) FROM conversations").fetchone()[0]
            conn.execute("DELETE FROM turns")
            conn.execute("DELETE FROM conversations")
        else:
            count = 0
            for cid in ids:
                conn.execute("DELETE FROM turns WHERE conversation_id=?", (cid,))
                count += conn.execute("DELETE FROM conversations WHERE id=?", (cid,)).rowcount
        conn.execute("INSERT INTO turns_fts(turns_fts) VALUES ('optimize')")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("VACUUM")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return count


class HistoryReader:
    """A read-only connection for the panel, used from worker threads one query at a time."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def run(self, query, *args, **kwargs):
        """``query(connection, *args)`` under the lock; call it through ``asyncio.to_thread``."""
        with self._lock:
            if self._conn is None:
                if not self.path.exists():
                    raise FileNotFoundError(f"no history at {self.path}")
                self._conn = connect(self.path, read_only=True)
            try:
                return query(self._conn, *args, **kwargs)
            except sqlite3.DatabaseError:
                self._conn.close()  # the file may have been moved aside: open afresh next time
                self._conn = None
                raise

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
