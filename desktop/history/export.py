"""Export conversations as Markdown or JSON, for the panel's "Export…" and ``--export-history``.

The format follows the file name (``.md``/``.markdown`` or ``.json``). The file
is written beside its target and renamed into place, so a failed export never
leaves half a file where an old export was.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .queries import ConversationRow, TurnRow, conversation_turns, list_conversations

__all__ = ["EXPORT_FORMATS", "ExportError", "export_format", "export_to_file", "to_json", "to_markdown"]

EXPORT_FORMATS = {".md": "markdown", ".markdown": "markdown", ".json": "json"}
SPEAKERS = {"user": "You", "model": "Assistant"}


class ExportError(ValueError):
    """The export cannot be made; the message says why in words."""


def export_format(path: Path | str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise ExportError(f"{Path(path).name}: the file name must end in .md or .json")
    return EXPORT_FORMATS[suffix]


def _when(timestamp: float | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if timestamp is None:
        return ""
    return datetime.datetime.fromtimestamp(timestamp).astimezone().strftime(fmt)


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).isoformat(timespec="seconds")


def to_markdown(conversations: Iterable[tuple[ConversationRow, list[TurnRow]]]) -> Iterable[str]:
    yield "# Voice Desktop conversations\n"
    for conversation, turns in conversations:
        title = conversation.title or "Untitled conversation"
        yield f"\n## {title}\n\n"
        yield (f"*{_when(conversation.started)} · conversation {conversation.id}"
               + (f" · {conversation.endpoint}" if conversation.endpoint else "") + "*\n\n")
        for turn in turns:
            how = []
            if turn.speaker == "user":
                how.append("typed" if turn.typed else "spoken")
            if turn.state == "interrupted":
                how.append("interrupted")
            if turn.typed and not turn.sent:
                how.append("not sent")
            note = f" ({', '.join(how)})" if how else ""
            text = turn.text.strip().replace("\n", "  \n")
            yield f"**{SPEAKERS.get(turn.speaker, turn.speaker)}**{note} · {_when(turn.started, '%H:%M:%S')}  \n"
            yield f"{text}\n\n"


def to_json(conversations: Iterable[tuple[ConversationRow, list[TurnRow]]]) -> Iterable[str]:
    """One JSON document, produced a conversation at a time (all of a big history never sits in memory)."""
    yield '{"format": "voice-desktop-history", "version": 1, "conversations": ['
    for n, (conversation, turns) in enumerate(conversations):
        record = {
            "id": conversation.id, "started": _iso(conversation.started), "title": conversation.title,
            "endpoint": conversation.endpoint,
            "turns": [{"speaker": t.speaker, "text": t.text, "kind": t.kind, "typed": t.typed, "sent": t.sent,
                       "state": t.state, "started": _iso(t.started), "finished": _iso(t.finished)} for t in turns],
        }
        yield ("," if n else "") + "\n" + json.dumps(record, ensure_ascii=False, indent=1)
    yield "\n]}\n"


def export_to_file(conn: sqlite3.Connection, path: Path | str, conversation_ids: list[int] | None) -> int:
    """Write the conversations (``None``: all, oldest first) to ``path``; returns how many were written."""
    path = Path(path)
    render = to_markdown if export_format(path) == "markdown" else to_json
    if conversation_ids is None:
        rows = list(reversed(list_conversations(conn)))
    else:
        by_id = {row.id: row for row in list_conversations(conn)}
        missing = [str(cid) for cid in conversation_ids if cid not in by_id]
        if missing:
            raise ExportError(f"no conversation with id {', '.join(missing)} in the history")
        rows = [by_id[cid] for cid in conversation_ids]
    pairs = ((row, conversation_turns(conn, row.id)) for row in rows)
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    except OSError as exc:
        raise ExportError(f"cannot write to {directory}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.writelines(render(pairs))
        os.chmod(temporary, 0o600)  # conversations are private, whatever the umask says
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from exc
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return len(rows)

