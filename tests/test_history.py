"""The transcript survives a crash: a real child process is killed mid-conversation and the log read back."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from desktop.history import HistoryLog
from desktop.protocols.events import Interrupted, Speaker, TextKind, Transcript, TurnComplete
from desktop.transcript import TranscriptModel


def test_round_trip_with_a_reset_and_streaming(tmp_path):
    clock = [0.0]
    log = HistoryLog(tmp_path / "h.jsonl", clock=lambda: clock[0])
    model = TranscriptModel()
    log.attach(model)
    model.add_typed("old question", sent=True)
    model.clear()
    typed = model.add_typed("what time is it?", sent=False)
    model.mark_sent(typed.id)
    for word in ("It ", "is ", "noon."):
        clock[0] += 0.4
        model.apply(Transcript(Speaker.MODEL, word, True, TextKind.TRANSCRIPTION))
    model.apply(TurnComplete())
    log.close()
    restored = HistoryLog(tmp_path / "h.jsonl").load()
    assert [(t.speaker, t.text, t.sent) for t in restored] == [
        ("user", "what time is it?", True), ("model", "It is noon.", True)]


def test_a_torn_last_line_is_ignored(tmp_path):
    path = tmp_path / "h.jsonl"
    log = HistoryLog(path)
    model = TranscriptModel()
    log.attach(model)
    model.add_typed("kept", sent=True)
    log.close()
    with open(path, "a") as f:
        f.write('{"id": 9, "speaker": "mo')  # the write a crash interrupted
    assert [t.text for t in HistoryLog(path).load()] == ["kept"]


def test_large_logs_are_compacted_to_live_turns(tmp_path):
    path = tmp_path / "h.jsonl"
    log = HistoryLog(path, compact_bytes=2000)
    model = TranscriptModel()
    log.attach(model)
    for n in range(40):
        model.add_typed(f"message {n}", sent=True)
        model.apply(Transcript(Speaker.MODEL, f"reply {n}"))
        model.apply(Interrupted())
    log.close()
    before = path.stat().st_size
    HistoryLog(path, compact_bytes=2000).attach(TranscriptModel())
    assert path.stat().st_size < before
    assert len(HistoryLog(path).load()) == 80


def test_transcript_survives_a_killed_process(tmp_path):
    path = tmp_path / "h.jsonl"
    child = textwrap.dedent(f"""
        import os, signal
        from desktop.history import HistoryLog
        from desktop.protocols.events import Speaker, Transcript, TurnComplete
        from desktop.transcript import TranscriptModel
        model = TranscriptModel()
        HistoryLog({str(path)!r}).attach(model)
        model.add_typed("remember this", sent=True)
        model.apply(Transcript(Speaker.MODEL, "I will."))
        model.apply(TurnComplete())
        model.add_typed("typed but never sent", sent=False)
        model.apply(Transcript(Speaker.MODEL, "half a rep"))
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    result = subprocess.run([sys.executable, "-c", child], capture_output=True)
    assert result.returncode == -9
    turns = HistoryLog(path).load()
    assert [t.text for t in turns] == ["remember this", "I will.", "typed but never sent", "half a rep"]
    assert turns[2].sent is False  # the app sends it on the next start
    model = TranscriptModel()
    model.restore(turns)
    assert model.turns[-1].state == "interrupted"  # the reply cut off by the crash is marked so
    assert all(json.loads(line) for line in path.read_text().splitlines())
