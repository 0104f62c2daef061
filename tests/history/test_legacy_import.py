"""The JSON-lines log of earlier versions is imported once, each stretch between resets a conversation."""

from __future__ import annotations

import asyncio
import json

from desktop.history import History
from desktop.history.legacy import read_legacy
from desktop.transcript import TranscriptModel

from .conftest import rows, written


def _old_log(path):
    lines = [
        {"id": 1, "speaker": "user", "state": "complete", "text": "old question", "typed": True},
        {"id": 2, "speaker": "model", "state": "streaming", "text": "old ans"},
        {"id": 2, "speaker": "model", "state": "complete", "text": "old answer"},  # the later snapshot wins
        {"cleared": True},
        {"id": 3, "speaker": "user", "state": "complete", "text": "what time is it?", "typed": True},
        {"id": 4, "speaker": "model", "state": "streaming", "text": "It is no"},  # cut off by a crash
    ]
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(json.dumps(line) for line in lines) + '\n{"id": 9, "speaker": "mo', encoding="utf-8")


def test_the_old_log_becomes_conversations_once_and_is_left_alone(tmp_path, db_path):
    legacy = tmp_path / "state" / "history.jsonl"
    _old_log(legacy)
    before = legacy.read_bytes()

    async def start_once() -> list:
        history = History(db_path, legacy_path=legacy)
        model = TranscriptModel()
        await history.start(model)
        await written(history)
        shown = [(t.text, str(t.state)) for t in model.turns]
        await history.close()
        return shown

    shown = asyncio.run(start_once())
    # The newest imported conversation is shown again; its cut-off reply is marked so.
    assert shown == [("what time is it?", "complete"), ("It is no", "interrupted")]
    conversations = rows(db_path, "SELECT title, endpoint FROM conversations ORDER BY id")
    assert conversations == [("old question", "imported"), ("what time is it?", "imported")]
    assert rows(db_path, "SELECT text FROM turns ORDER BY id") == [
        ("old question",), ("old answer",), ("what time is it?",), ("It is no",)]
    asyncio.run(start_once())
    assert len(rows(db_path, "SELECT id FROM conversations")) == 2  # not imported a second time
    assert legacy.read_bytes() == before


def test_a_torn_or_garbled_line_is_skipped(tmp_path):
    path = tmp_path / "h.jsonl"
    path.write_text('{"id": 1, "speaker": "user", "text": "kept"}\nnot json\n{"id": 2, "speaker": "alien"}\n'
                    '{"id": 3, "speaker": "mo', encoding="utf-8")
    assert [[t.text for t in c] for c in read_legacy(path)] == [["kept"]]
