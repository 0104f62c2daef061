"""``voice-desktop --export-history``: a real process, no window, the user's history file."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

from desktop.history import History, default_history_path
from desktop.transcript import TranscriptModel

from .conftest import written


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    return subprocess.run([sys.executable, "-m", "desktop", *args], capture_output=True, text=True, env=env,
                          timeout=60)


def _two_conversations() -> None:
    async def run():
        history = History(default_history_path())
        model = TranscriptModel()
        await history.start(model)
        model.add_typed("first conversation", sent=True)
        model.clear()
        model.add_typed("second conversation", sent=True)
        await written(history)
        await history.close()

    asyncio.run(run())


def test_export_all_or_one_conversation_without_a_display(tmp_path):
    _two_conversations()
    result = cli("--export-history", str(tmp_path / "all.md"))
    assert result.returncode == 0, result.stderr
    assert "Exported 2 conversations" in result.stdout
    markdown = (tmp_path / "all.md").read_text()
    assert markdown.index("first conversation") < markdown.index("second conversation")  # oldest first
    result = cli("--export-history", str(tmp_path / "one.json"), "--conversation", "2")
    assert result.returncode == 0, result.stderr
    (only,) = json.loads((tmp_path / "one.json").read_text())["conversations"]
    assert only["turns"][0]["text"] == "second conversation"


def test_bad_requests_get_an_error_in_words(tmp_path):
    result = cli("--export-history", str(tmp_path / "x.md"))
    assert result.returncode == 1 and "no history yet" in result.stderr
    _two_conversations()
    for args, words in ((["--export-history", str(tmp_path / "x.txt")], "must end in .md or .json"),
                        (["--export-history", str(tmp_path / "x.md"), "--conversation", "99"], "no conversation"),
                        (["--export-history", str(tmp_path / "x.md"), "--conversation", "one"], "a number or"),
                        (["--export-history", str(tmp_path / "nowhere" / "x.md")], "cannot write"),
                        (["--conversation", "1"], "goes with --export-history")):
        result = cli(*args)
        assert result.returncode != 0 and words in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "x.md").exists()
