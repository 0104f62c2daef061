"""The SQLite store with its real writer thread: what is written, when, and what is really deleted."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import stat

from desktop.history import History
from desktop.history.queries import MARK_END, MARK_START, fts_query
from desktop.history.schema import SCHEMA_VERSION
from desktop.protocols.events import Interrupted, Speaker, TextKind, Transcript, TurnComplete
from desktop.transcript import TranscriptModel

from .conftest import rows, until, written


def test_streaming_text_is_updated_in_place_and_a_restart_continues_the_conversation(db_path):
    async def first_run():
        history = History(db_path)
        model = TranscriptModel()
        await history.start(model)
        history.set_endpoint("echo")
        model.add_typed("what time is it?", sent=True)
        for word in ("It ", "is ", "noon."):
            model.apply(Transcript(Speaker.MODEL, word, True, TextKind.TRANSCRIPTION))
            await asyncio.sleep(0.05)
        model.apply(TurnComplete())
        await written(history)
        await history.close()

    asyncio.run(first_run())
    assert rows(db_path, "SELECT seq, speaker, text, kind, typed, state FROM turns ORDER BY seq") == [
        (1, "user", "what time is it?", "text", 1, "complete"),
        (2, "model", "It is noon.", "transcription", 0, "complete")]  # one row per turn, however it streamed
    (started, finished), = rows(db_path, "SELECT started, finished FROM turns WHERE seq=2")
    assert finished >= started
    assert rows(db_path, "SELECT title FROM conversations") == [("what time is it?",)]

    async def second_run():
        history = History(db_path)
        model = TranscriptModel()
        await history.start(model)
        assert [t.text for t in model.turns] == ["what time is it?", "It is noon."]
        model.add_typed("thanks", sent=True)
        await written(history)
        await history.close()

    asyncio.run(second_run())
    assert rows(db_path, "SELECT conversation_id, seq, text FROM turns WHERE seq=3") == [(1, 3, "thanks")]
    assert len(rows(db_path, "SELECT id FROM conversations")) == 1


def test_new_conversation_starts_a_second_one_and_an_empty_one_leaves_nothing(db_path):
    async def run():
        history = History(db_path)
        model = TranscriptModel()
        await history.start(model)
        model.add_typed("first", sent=True)
        model.clear()
        model.clear()  # an empty "New conversation" in between
        model.add_typed("second", sent=True)
        model.apply(Transcript(Speaker.MODEL, "cut"))
        model.apply(Interrupted())
        await written(history)
        listed = await history.conversations()
        await history.close()
        return listed

    listed = asyncio.run(run())
    assert [c.title for c in listed] == ["second", "first"]  # newest first
    assert rows(db_path, "SELECT state FROM turns WHERE text='cut'") == [("interrupted",)]


def test_the_file_is_private_and_opened_as_documented(db_path):
    async def run():
        history = History(db_path)
        model = TranscriptModel()
        await history.start(model)
        model.add_typed("secret plans", sent=True)
        await written(history)
        modes = {p.name: stat.S_IMODE(os.stat(p).st_mode) for p in db_path.parent.iterdir()}
        directory = stat.S_IMODE(os.stat(db_path.parent).st_mode)
        await history.close()
        return modes, directory

    modes, directory = asyncio.run(run())
    assert modes == {"history.sqlite3": 0o600, "history.sqlite3-wal": 0o600, "history.sqlite3-shm": 0o600}
    assert directory == 0o700
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    conn.close()


def test_search_finds_prefixes_across_conversations_newest_first_and_marks_them(db_path):
    async def run():
        history = History(db_path)
        model = TranscriptModel()
        await history.start(model)
        model.add_typed("the walrus said hello", sent=True)
        model.clear()
        model.add_typed("nothing here", sent=True)
        model.clear()
        model.add_typed('Walruses again: "AND* OR -', sent=True)
        await written(history)
        hits = await history.search("walr")
        odd = await history.search('"AND* (')  # FTS5 syntax typed by a user is only text
        none = await history.search("   ")
        await history.close()
        return hits, odd, none

    hits, odd, none = asyncio.run(run())
    assert [h.conversation.title for h in hits] == ['Walruses again: "AND* OR -', "the walrus said hello"]
    assert hits[1].snippet == f"the {MARK_START}walrus{MARK_END} said hello"
    assert [h.conversation.title for h in odd] == ['Walruses again: "AND* OR -']
    assert none == []
    assert fts_query('a "b" c*') == '"a"* "b"* "c"*'


def _raw(path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.iterdir() if p.name.startswith(path.name))


def test_deleted_conversations_are_gone_from_the_file_and_the_index(db_path):
    async def run():
        history = History(db_path)
        model = TranscriptModel()
        await history.start(model)
        model.add_typed("xylophonist zanzibar", sent=True)
        model.apply(Transcript(Speaker.MODEL, "zanzibar indeed"))
        model.apply(TurnComplete())
        model.clear()
        model.add_typed("keep this one", sent=True)
        await written(history)
        assert b"zanzibar" in _raw(db_path)
        doomed = [c.id for c in await history.conversations() if c.title.startswith("xylo")]
        assert await history.delete(doomed) == 1
        left = [c.title for c in await history.conversations()], await history.search("zanzibar")
        raw = _raw(db_path)
        assert await history.delete(None) == 1
        after_all = await history.conversations(), _raw(db_path)
        await history.close()
        return left, raw, after_all

    (titles, hits), raw, (after, raw_after) = asyncio.run(run())
    assert titles == ["keep this one"] and hits == []
    assert b"zanzibar" not in raw and b"xylophonist" not in raw  # not in free pages, FTS segments or the WAL
    assert after == [] and b"keep this one" not in raw_after
    assert rows(db_path, "SELECT count(*) FROM turns_fts WHERE turns_fts MATCH 'keep'") == [(0,)]


def test_export_markdown_and_json(db_path, tmp_path):
    async def run():
        history = History(db_path)
        model = TranscriptModel()
        await history.start(model)
        history.set_endpoint("echo")
        model.add_typed("hello *there*", sent=True)
        model.apply(Transcript(Speaker.MODEL, "hello back"))
        model.apply(TurnComplete())
        await written(history)
        (conversation,) = await history.conversations()
        await history.export(tmp_path / "one.md", [conversation.id])
        await history.export(tmp_path / "all.json", None)
        await history.close()

    asyncio.run(run())
    markdown = (tmp_path / "one.md").read_text()
    assert "## hello *there*" in markdown and "**You** (typed)" in markdown and "hello back" in markdown
    assert "echo" in markdown
    document = json.loads((tmp_path / "all.json").read_text())
    (conversation,) = document["conversations"]
    assert [(t["speaker"], t["text"], t["typed"]) for t in conversation["turns"]] == [
        ("user", "hello *there*", True), ("model", "hello back", False)]
    assert stat.S_IMODE(os.stat(tmp_path / "one.md").st_mode) == 0o600


def test_keep_history_off_writes_nothing_and_on_writes_the_conversation_from_its_start(db_path):
    async def run():
        history = History(db_path, keep=False)
        model = TranscriptModel()
        await history.start(model)
        model.add_typed("not kept", sent=True)
        await asyncio.sleep(0.2)
        assert not db_path.parent.exists()
        assert await history.conversations() == []
        history.set_keep(True)
        model.add_typed("now kept", sent=True)
        await written(history)
        history.set_keep(False)
        model.add_typed("off again", sent=True)
        await asyncio.sleep(0.2)
        await history.close()

    asyncio.run(run())
    assert rows(db_path, "SELECT text FROM turns ORDER BY seq") == [("not kept",), ("now kept",)]


def test_deleting_the_open_conversation_drops_what_still_streams_into_it(db_path):
    async def run():
        history = History(db_path)
        model = TranscriptModel()
        await history.start(model)
        model.add_typed("doomed", sent=True)
        await written(history)
        await until(lambda: history.current_row() is not None)
        await history.delete([history.current_row()])
        model.apply(Transcript(Speaker.MODEL, "late words"))
        model.apply(TurnComplete())
        await written(history)
        await history.close()

    asyncio.run(run())
    assert rows(db_path, "SELECT count(*) FROM turns") == [(0,)]


def test_a_file_from_a_newer_version_is_moved_aside_not_overwritten(db_path):
    async def run(notices):
        history = History(db_path, on_notice=notices.append)
        model = TranscriptModel()
        await history.start(model)
        model.add_typed("fresh", sent=True)
        await written(history)
        await history.close()

    asyncio.run(run([]))
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.close()
    notices: list[str] = []
    asyncio.run(run(notices))
    (notice,) = notices
    assert "newer Voice Desktop" in notice and "moved to" in notice
    (aside,) = [p for p in db_path.parent.iterdir() if ".broken-" in p.name]
    assert sqlite3.connect(aside).execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION + 1,)


def test_the_endpoint_label_never_carries_a_secret():
    from desktop.endpoint import Endpoint
    from desktop.history_controller import endpoint_label

    remote = Endpoint(url="wss://user:pw@example.test:8443/live?token=s3cret&key=k", protocol="adk", secret="s3cret")
    assert endpoint_label(remote) == "wss://example.test:8443/live (adk)"
    assert endpoint_label(Endpoint(processor="gemini", api_key="k")) == "gemini"
