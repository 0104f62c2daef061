"""Faults, each with the real app in a child process: kill -9, a full disk, no data folder, a broken file."""

from __future__ import annotations

import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 90


def run_app(home: Path, *scenario: str, limit_file_size: int | None = None) -> tuple[int, list[dict]]:
    """The real app (offscreen, embedded echo server) in a child process; its JSON lines back."""
    env = dict(os.environ, HOME=str(home), XDG_DATA_HOME=str(home / "share"), XDG_STATE_HOME=str(home / "state"),
               XDG_CONFIG_HOME=str(home / "config"), QT_QPA_PLATFORM="offscreen")

    def limits() -> None:
        if limit_file_size is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_file_size, limit_file_size))

    result = subprocess.run([sys.executable, "-m", "tests.history.app_child", scenario[0], str(home / "s.ini"),
                             *scenario[1:]], cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT,
                            preexec_fn=limits)
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert not any("error" in line for line in lines), result.stdout + result.stderr
    return result.returncode, lines


def db(home: Path) -> Path:
    return home / "share" / "voice-desktop" / "history.sqlite3"


def notices(lines: list[dict]) -> list[str]:
    return [line["notice"] for line in lines if "notice" in line]


def test_kill_9_mid_reply_loses_no_completed_turn(tmp_path):
    code, _ = run_app(tmp_path, "kill-mid-reply")
    assert code == -signal.SIGKILL
    conn = sqlite3.connect(db(tmp_path))
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    texts = [row[0] for row in conn.execute("SELECT text FROM turns ORDER BY seq")]
    conn.close()
    assert texts[:2] == ["remember the walrus", "remember the walrus"]
    code, lines = run_app(tmp_path, "restart")
    assert code == 0
    (started,) = [line for line in lines if "started" in line]
    assert started["restored"][:2] == ["remember the walrus", "remember the walrus"]


def test_a_full_disk_shows_a_notice_and_the_conversation_goes_on(tmp_path):
    # Every file the child writes may grow to 96 KiB: the history's WAL fills up within a few turns.
    code, lines = run_app(tmp_path, "chat", "12", limit_file_size=96 * 1024)
    assert code == 0
    (said,) = notices(lines)
    assert "History is not being saved" in said
    (final,) = [line for line in lines if "turns" in line]
    assert len(final["turns"]) == 24  # every message and every reply, in memory
    assert any("History is not being saved" in line.get("shown", "") for line in lines)  # in the window


def test_a_data_folder_that_cannot_be_created_shows_a_notice(tmp_path):
    (tmp_path / "share").write_text("a file where the data folder should be")
    code, lines = run_app(tmp_path, "chat", "2")
    assert code == 0
    (said,) = notices(lines)
    assert "History is not being saved" in said and "cannot create" in said
    (final,) = [line for line in lines if "turns" in line]
    assert len(final["turns"]) == 4


@pytest.mark.parametrize("content", ["garbage", "foreign", "damaged"])
def test_a_corrupt_or_foreign_file_is_moved_aside_and_a_fresh_one_started(tmp_path, content):
    path = db(tmp_path)
    path.parent.mkdir(parents=True)
    if content == "garbage":
        path.write_bytes(os.urandom(8192))
    elif content == "foreign":
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE recipes (name TEXT)")
        conn.execute("INSERT INTO recipes VALUES ('soup')")
        conn.commit()
        conn.close()
    else:  # ours, then pages overwritten in the middle
        run_app(tmp_path, "chat", "3")
        data = bytearray(path.read_bytes())
        assert len(data) > 3 * 4096
        data[4096:len(data) - 1024] = os.urandom(len(data) - 1024 - 4096)
        path.write_bytes(bytes(data))
    original = path.read_bytes()
    code, lines = run_app(tmp_path, "chat", "1")
    assert code == 0
    (said,) = notices(lines)
    assert "moved to" in said and "new history started" in said
    (aside,) = [p for p in path.parent.iterdir() if ".broken-" in p.name and not p.name.endswith(("-wal", "-shm"))]
    assert aside.read_bytes() == original  # moved, never deleted
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert [r[0] for r in conn.execute("SELECT text FROM turns ORDER BY seq")][0].startswith("message 0")
    conn.close()
