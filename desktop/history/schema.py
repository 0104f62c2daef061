"""The history database file: opened, checked, migrated; a broken or foreign file is moved aside.

Why these pragmas:

* ``journal_mode=WAL``: the window's reader (the History panel) never waits for
  the writer and the writer never waits for a reader; a crash mid-write leaves
  the last committed state, replayed from the WAL on the next open.
* ``synchronous=NORMAL``: in WAL mode every commit is written to the WAL before
  ``COMMIT`` returns, so killing the app (``kill -9``, a crash) loses nothing that
  was committed; only a power cut or kernel panic can lose the last commits, and
  even then the file stays consistent. ``FULL`` would add an fsync per commit,
  which streaming turns would pay many times a minute for that rarer case.
* ``secure_delete=ON``: deleted text is overwritten with zeros, not left in free
  pages, so "Delete" means gone from the file (``VACUUM`` after big deletes too).
* ``application_id``: tells our file from any other SQLite file at that path.

The file is created ``0600`` (SQLite gives its ``-wal``/``-shm`` files the same
mode) in a ``0700`` directory: conversations are private.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "HistoryUnavailable", "connect", "open_database"]

log = logging.getLogger(__name__)

APPLICATION_ID = 0x56444853  # "VDHS"
BUSY_TIMEOUT_MS = 5000  # a second instance of the app may be committing

# One entry per schema version; entry N migrates version N to N+1. Never edit a shipped entry: add one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE conversations (
        id       INTEGER PRIMARY KEY,
        started  REAL NOT NULL,             -- Unix time of the first turn
        title    TEXT NOT NULL DEFAULT '',  -- the first thing the user said, shortened
        endpoint TEXT NOT NULL DEFAULT ''   -- processor or server used (never a secret)
    );
    CREATE INDEX conversations_by_start ON conversations(started);
    CREATE TABLE turns (
        id              INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        seq             INTEGER NOT NULL,   -- the transcript's turn id: the order within the conversation
        speaker         TEXT NOT NULL,      -- 'user' or 'model'
        text            TEXT NOT NULL DEFAULT '',
        kind            TEXT NOT NULL DEFAULT 'text',  -- 'text' (written) or 'transcription' (spoken)
        typed           INTEGER NOT NULL DEFAULT 0,
        sent            INTEGER NOT NULL DEFAULT 1,
        started         REAL NOT NULL,
        finished        REAL,               -- NULL while streaming
        state           TEXT NOT NULL,      -- 'streaming', 'complete', 'interrupted'
        UNIQUE (conversation_id, seq)
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);  -- e.g. which old logs were imported
    CREATE VIRTUAL TABLE turns_fts USING fts5(
        text, content='turns', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
    CREATE TRIGGER turns_fts_insert AFTER INSERT ON turns BEGIN
        INSERT INTO turns_fts(rowid, text) VALUES (new.id, new.text);
    END;
    CREATE TRIGGER turns_fts_delete AFTER DELETE ON turns BEGIN
        INSERT INTO turns_fts(turns_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END;
    CREATE TRIGGER turns_fts_update AFTER UPDATE OF text ON turns BEGIN
        INSERT INTO turns_fts(turns_fts, rowid, text) VALUES ('delete', old.id, old.text);
        INSERT INTO turns_fts(rowid, text) VALUES (new.id, new.text);
    END;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class HistoryUnavailable(Exception):
    """The history cannot be kept (disk full, read-only, no space for a fresh file); the message says why."""


class _NotOurs(Exception):
    """The file is readable SQLite, or unreadable bytes, but not a history this app can use."""


def connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    """A connection with our pragmas; autocommit mode, transactions are explicit (``BEGIN``)."""
    if read_only:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None,
                               check_same_thread=False)
    else:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys=ON")
    if not read_only:
        conn.execute("PRAGMA secure_delete=ON")
    return conn


def _create_private(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)


def _check_and_migrate(conn: sqlite3.Connection) -> None:
    # Look before touching: switching to WAL would already change another program's file.
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    if app_id not in (0, APPLICATION_ID) or (app_id == 0 and tables):
        raise _NotOurs("it belongs to another program")
    if version > SCHEMA_VERSION:
        raise _NotOurs(f"it was written by a newer Voice Desktop (schema {version})")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    problem = conn.execute("PRAGMA quick_check").fetchone()[0]
    if problem != "ok":
        raise _NotOurs(f"it is damaged ({problem})")
    for number in range(version, SCHEMA_VERSION):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(MIGRATIONS[number]):
                conn.execute(statement)
            conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version={number + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        log.info("History schema migrated to version %d", number + 1)


def _statements(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies whole (sqlite3.complete_statement)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return statements


def _is_damage(exc: sqlite3.DatabaseError) -> bool:
    name = getattr(exc, "sqlite_errorname", "")
    return name in ("SQLITE_NOTADB", "SQLITE_CORRUPT") or "malformed" in str(exc) or "not a database" in str(exc)


def move_aside(path: Path) -> Path:
    """Rename the file (and its WAL/SHM) out of the way; returns the new name. Nothing is deleted."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.broken-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.broken-{stamp}-{n}")
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.replace(side, target.with_name(target.name + suffix))
    os.replace(path, target)
    return target


def open_database(path: Path) -> tuple[sqlite3.Connection, list[str]]:
    """Open (creating or migrating) the history at ``path``; returns the connection and notices for the user.

    A file that is damaged or not ours is moved aside (never deleted) and a fresh one started.
    Raises :class:`HistoryUnavailable` when no history can be kept there at all.
    """
    notices: list[str] = []
    for attempt in (1, 2):
        conn = None
        try:
            _create_private(path)
            conn = connect(path)
            _check_and_migrate(conn)
            return conn, notices
        except OSError as exc:
            raise HistoryUnavailable(f"cannot create {path}: {exc.strerror or exc}") from exc
        except (_NotOurs, sqlite3.DatabaseError) as exc:
            if conn is not None:
                conn.close()
            if isinstance(exc, sqlite3.DatabaseError) and not _is_damage(exc):
                raise HistoryUnavailable(f"cannot use {path}: {exc}") from exc
            if attempt == 2:
                raise HistoryUnavailable(f"cannot start a fresh history at {path}: {exc}") from exc
            reason = str(exc) if isinstance(exc, _NotOurs) else "it is not a readable history database"
            try:
                aside = move_aside(path)
            except OSError as move_exc:
                raise HistoryUnavailable(f"{path} is unusable ({reason}) and cannot be moved aside: "
                                         f"{move_exc.strerror or move_exc}") from move_exc
            log.warning("History %s unusable (%s); moved to %s", path, reason, aside)
            notices.append(f"The history file could not be used ({reason}). It was moved to {aside} "
                           "and a new history started.")
    raise AssertionError("unreachable")
