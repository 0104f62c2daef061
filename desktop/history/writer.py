"""The one thread that writes the history, so the window never waits on the disk.

The GUI thread hands over plain snapshots (:class:`TurnRecord`) and returns at
once. Snapshots of the same turn replace each other while they wait, so what
is pending is bounded by the number of turns, not by how fast text streams.
A turn that finished (or was typed) is committed at once; streaming text is
written in place at most every :data:`STREAM_WRITE_S`.

Other work that must not race the writer (delete, vacuum, import) is sent
with :meth:`HistoryWriter.submit` and runs on this thread between batches.

When the disk refuses (full, read-only, unwritable directory) the writer says
so once through ``on_notice`` and stops writing; the conversation goes on in
memory. A file that turns out damaged is moved aside and a fresh one started.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .queries import TurnRow
from .schema import HistoryUnavailable, _is_damage, move_aside, open_database

__all__ = ["STREAM_WRITE_S", "HistoryWriter", "TurnRecord"]

log = logging.getLogger(__name__)

STREAM_WRITE_S = 0.5
MAX_JOBS = 1000  # submitted jobs are user actions (delete, export); more than this waiting is a bug


@dataclasses.dataclass(frozen=True, slots=True)
class TurnRecord:
    """One turn as it is now, copied on the GUI thread (the live Turn keeps changing)."""

    conversation: int  # the recorder's conversation token, mapped to a row id here
    turn: TurnRow
    urgent: bool  # commit now (finished or typed), not at the next streaming tick


@dataclasses.dataclass(frozen=True, slots=True)
class _Conversation:
    token: int
    started: float
    endpoint: str
    row_id: int | None  # set when continuing a conversation already in the file


class HistoryWriter:
    def __init__(self, path: Path, *, on_notice: Callable[[str], None] = lambda _m: None) -> None:
        self.path = Path(path)
        self._on_notice = on_notice
        self._cond = threading.Condition()
        self._conversations: collections.deque[_Conversation] = collections.deque()
        self._turns: dict[tuple[int, int], TurnRecord] = {}
        self._jobs: collections.deque[tuple[Callable[[sqlite3.Connection], Any], concurrent.futures.Future]] = \
            collections.deque()
        self._urgent = False
        self._busy = False
        self._stopping = False
        self._rows: dict[int, int] = {}  # conversation token -> conversations.id
        self.ready = threading.Event()  # the file is open (or known unusable)
        self.failed: str | None = None  # why nothing is written any more
        self._thread = threading.Thread(target=self._run, name="vd-history-writer", daemon=True)
        self._thread.start()

    # -- from the GUI thread (never blocks on the disk) -------------------------------

    def begin_conversation(self, token: int, started: float, endpoint: str, row_id: int | None = None) -> None:
        with self._cond:
            if self.failed is None:
                self._conversations.append(_Conversation(token, started, endpoint, row_id))
                self._urgent = True
                self._cond.notify()

    def put_turn(self, record: TurnRecord) -> None:
        with self._cond:
            if self.failed is not None:
                return
            self._turns[(record.conversation, record.turn.seq)] = record
            if record.urgent:
                self._urgent = True
                self._cond.notify()

    def submit(self, job: Callable[[sqlite3.Connection], Any]) -> concurrent.futures.Future:
        """Run ``job(connection)`` on the writer thread after pending writes; await it with asyncio.wrap_future."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        with self._cond:
            if self.failed is not None and self._conn is None:
                future.set_exception(HistoryUnavailable(self.failed))
            elif len(self._jobs) >= MAX_JOBS:
                future.set_exception(HistoryUnavailable("too many history operations are waiting"))
            else:
                self._jobs.append((job, future))
                self._urgent = True
                self._cond.notify()
        return future

    def row_id(self, token: int) -> int | None:
        """The conversation's id in the file, once its first turn was written."""
        with self._cond:
            return self._rows.get(token)

    def idle(self) -> bool:
        """Nothing waits to be written (tests and shutdown wait for this)."""
        with self._cond:
            return not (self._busy or self._turns or self._conversations or self._jobs)

    def close_soon(self) -> None:
        """Ask the thread to write what is pending and stop; returns at once."""
        with self._cond:
            self._stopping = True
            self._cond.notify()

    def close(self, timeout: float = 10.0) -> None:
        """Write what is pending, then stop the thread and close the file (waits: call it off the GUI thread)."""
        self.close_soon()
        self._thread.join(timeout)

    # -- the writer thread -------------------------------------------------------------

    _conn: sqlite3.Connection | None = None

    def _run(self) -> None:
        try:
            self._conn, notices = open_database(self.path)
            for notice in notices:
                self._on_notice(notice)
        except HistoryUnavailable as exc:
            self._fail(str(exc))
        finally:
            self.ready.set()
        last_write = 0.0
        while True:
            with self._cond:
                while not self._stopping and not self._urgent and not (
                        self._turns and time.monotonic() - last_write >= STREAM_WRITE_S):
                    wait = STREAM_WRITE_S - (time.monotonic() - last_write) if self._turns else None
                    self._cond.wait(wait)
                conversations, self._conversations = list(self._conversations), collections.deque()
                turns, self._turns = list(self._turns.values()), {}
                jobs, self._jobs = list(self._jobs), collections.deque()
                self._urgent = False
                self._busy = True
                stopping = self._stopping
            try:
                if self._conn is not None and self.failed is None and (conversations or turns):
                    self._write(conversations, turns)
                self._run_jobs(jobs)
            finally:
                with self._cond:
                    self._busy = False
                last_write = time.monotonic()
            if stopping:
                with self._cond:
                    if not (self._turns or self._conversations or self._jobs):
                        break
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _run_jobs(self, jobs: list) -> None:
        for job, future in jobs:
            if not future.set_running_or_notify_cancel():
                continue
            if self._conn is None:
                future.set_exception(HistoryUnavailable(self.failed or "the history is not open"))
                continue
            try:
                future.set_result(job(self._conn))
            except BaseException as exc:  # the caller gets it, the thread lives on
                future.set_exception(exc)

    def _write(self, conversations: list[_Conversation], turns: list[TurnRecord]) -> None:
        conn = self._conn
        assert conn is not None
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for conversation in conversations:
                    self._insert_conversation(conn, conversation)
                for record in turns:
                    self._upsert_turn(conn, record)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.DatabaseError as exc:
            if _is_damage(exc):
                self._replace_damaged(exc)
            else:
                self._fail(f"cannot write to {self.path}: {exc}")

    def _insert_conversation(self, conn: sqlite3.Connection, conversation: _Conversation) -> None:
        if conversation.row_id is not None and conn.execute(
                "SELECT 1 FROM conversations WHERE id=?", (conversation.row_id,)).fetchone():
            row = conversation.row_id
        else:
            row = conn.execute("INSERT INTO conversations(started, endpoint) VALUES (?, ?)",
                               (conversation.started, conversation.endpoint)).lastrowid
        with self._cond:
            self._rows[conversation.token] = row

    def _upsert_turn(self, conn: sqlite3.Connection, record: TurnRecord) -> None:
        row, r = self._rows.get(record.conversation), record.turn
        if row is None:  # its conversation was deleted meanwhile, or never begun: not kept
            return
        conn.execute(
            "INSERT INTO turns(conversation_id, seq, speaker, text, kind, typed, sent, started, finished, state)"
            " VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(conversation_id, seq) DO UPDATE SET"
            " text=excluded.text, kind=excluded.kind, sent=excluded.sent, finished=excluded.finished,"
            " state=excluded.state WHERE text IS NOT excluded.text OR sent IS NOT excluded.sent"
            " OR state IS NOT excluded.state OR kind IS NOT excluded.kind",
            (row, r.seq, r.speaker, r.text, r.kind, int(r.typed), int(r.sent), r.started, r.finished, r.state))
        if r.speaker == "user" and r.state != "streaming" and r.text.strip():
            conn.execute("UPDATE conversations SET title=? WHERE id=? AND title=''", (_title(r.text), row))

    def forget(self, row_ids: set[int] | None) -> None:
        """After a delete (on this thread): turns still streaming into a deleted conversation are dropped."""
        with self._cond:
            for token, row in list(self._rows.items()):
                if row_ids is None or row in row_ids:
                    del self._rows[token]

    def _replace_damaged(self, exc: Exception) -> None:
        log.warning("History damaged while writing: %s", exc)
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        try:
            aside = move_aside(self.path)
            self._conn, notices = open_database(self.path)
        except (OSError, HistoryUnavailable) as again:
            self._fail(f"the history file is damaged and cannot be replaced: {again}")
            return
        with self._cond:
            self._rows.clear()  # earlier conversations went with the damaged file
        for notice in notices:
            self._on_notice(notice)
        self._on_notice(f"The history file was damaged; it was moved to {aside} and a new one started.")

    def _fail(self, reason: str) -> None:
        with self._cond:
            if self.failed is not None:
                return
            self.failed = reason
            self._turns.clear()
            self._conversations.clear()
        log.error("History not saved: %s", reason)
        self._on_notice(f"History is not being saved ({reason}). This conversation goes on, "
                        "but it will not be kept.")


def _title(text: str, limit: int = 80) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
