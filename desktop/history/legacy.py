"""Import the JSON-lines log of earlier versions (``$XDG_STATE_HOME/voice-desktop/history.jsonl``) once.

That log held snapshots of turns (the last line for a turn id wins) and
``{"cleared": true}`` markers where the user reset; each stretch between resets
becomes one conversation. The old file is left where it is, untouched; the
database remembers that it was imported so it is never imported twice.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from pathlib import Path

from desktop.transcript import Turn

__all__ = ["default_legacy_path", "import_legacy", "read_legacy"]

log = logging.getLogger(__name__)


def default_legacy_path() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "voice-desktop" / "history.jsonl"


def read_legacy(path: Path) -> list[list[Turn]]:
    """The conversations in the old log, oldest first; unreadable lines are skipped (a crash tears the last)."""
    conversations: list[dict[int, Turn]] = [{}]
    with open(path, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            try:
                record = json.loads(line)
                if record.get("cleared"):
                    conversations.append({})
                    continue
                turn = Turn.from_dict(record)
            except (ValueError, TypeError, KeyError, AttributeError):
                continue
            conversations[-1][turn.id] = turn
    return [sorted(turns.values(), key=lambda t: t.id) for turns in conversations if turns]


def import_legacy(conn: sqlite3.Connection, path: Path) -> int:
    """Import ``path`` unless it was imported before or is absent; returns the conversations added."""
    key = f"imported:{path.resolve()}"
    if conn.execute("SELECT 1 FROM meta WHERE key=?", (key,)).fetchone():
        return 0
    try:
        started = path.stat().st_mtime  # the old log kept no times: its last change is the best guess
        conversations = read_legacy(path)
    except FileNotFoundError:
        return 0
    except OSError as exc:
        log.warning("Cannot read the old history %s: %s", path, exc)
        return 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        for turns in conversations:
            title = next((" ".join(t.text.split())[:80] for t in turns if t.is_user and t.text.strip()), "")
            row = conn.execute("INSERT INTO conversations(started, title, endpoint) VALUES (?, ?, ?)",
                               (started, title, "imported")).lastrowid
            for turn in turns:
                state = str(turn.state) if not turn.is_open else ("complete" if turn.is_user else "interrupted")
                conn.execute(
                    "INSERT INTO turns(conversation_id, seq, speaker, text, kind, typed, sent, started, finished,"
                    " state) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (row, turn.id, turn.speaker, turn.text + turn.tentative, turn.kind, int(turn.typed),
                     int(turn.sent), started, started, state))
        conn.execute("INSERT INTO meta(key, value) VALUES (?, ?)", (key, str(len(conversations))))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    log.info("Imported %d conversation(s) from the old history %s", len(conversations), path)
    return len(conversations)
