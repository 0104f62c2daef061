"""Crash-safe conversation history: the transcript survives the app dying.

The log is append-only JSON lines, one snapshot of a turn per line (the latest
line for a turn id wins) and ``{"cleared": true}`` when the user resets. A
snapshot is written when a turn appears, when a typed turn is sent, when a turn
closes, and at most once a second while it streams; closing lines are
``fsync``'ed. Reading tolerates a torn last line, which is exactly what a crash
mid-write leaves. When the file grows past ``compact_bytes`` it is rewritten
(atomically, through a temporary file) with only the live snapshots.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from desktop.transcript import TranscriptModel, Turn

__all__ = ["HistoryLog", "default_history_path"]

log = logging.getLogger(__name__)

STREAMING_SNAPSHOT_S = 1.0


def default_history_path() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "voice-desktop" / "history.jsonl"


class HistoryLog:
    def __init__(self, path: Path | str, *, keep_turns: int = 500, compact_bytes: int = 4_000_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.path = Path(path)
        self.keep_turns = keep_turns
        self.compact_bytes = compact_bytes
        self._clock = clock
        self._last_write: dict[int, float] = {}
        self._file = None
        self.write_errors = 0

    # -- reading -----------------------------------------------------------------------

    def load(self) -> list[Turn]:
        """The saved conversation since the last reset, oldest first."""
        turns: dict[int, Turn] = {}
        try:
            lines = self.path.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            return []
        except OSError as exc:
            log.warning("Cannot read the history %s: %s", self.path, exc)
            return []
        for number, line in enumerate(lines, 1):
            try:
                record = json.loads(line)
                if record.get("cleared"):
                    turns.clear()
                    continue
                turn = Turn.from_dict(record)
            except (ValueError, TypeError, KeyError, AttributeError):
                if number != len(lines):  # only the last line may be torn by a crash
                    log.warning("History line %d is unreadable and was skipped", number)
                continue
            turns[turn.id] = turn
        ordered = sorted(turns.values(), key=lambda t: t.id)
        return ordered[-self.keep_turns:]

    # -- writing -----------------------------------------------------------------------

    def attach(self, model: TranscriptModel) -> Callable[[], None]:
        """Record every change of ``model`` from now on; returns a function that stops it."""
        self._compact_if_large()
        return model.subscribe(self._on_turn, cleared=self._on_cleared)

    def close(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None

    def _on_turn(self, turn: Turn, is_new: bool) -> None:
        now = self._clock()
        closing = not turn.is_open
        if not (is_new or closing or turn.typed
                or now - self._last_write.get(turn.id, -1e9) >= STREAMING_SNAPSHOT_S):
            return
        self._last_write[turn.id] = now
        self._append(turn.to_dict(), sync=closing or turn.typed)

    def _on_cleared(self) -> None:
        self._last_write.clear()
        self._append({"cleared": True}, sync=True)

    def _append(self, record: dict, *, sync: bool) -> None:
        try:
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open
            self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
            self._file.flush()
            if sync:
                os.fsync(self._file.fileno())
        except OSError as exc:
            self.write_errors += 1
            if self.write_errors == 1:  # say it once, not at every streamed word
                log.error("Cannot write the history %s: %s", self.path, exc)

    def _compact_if_large(self) -> None:
        try:
            if self.path.stat().st_size <= self.compact_bytes:
                return
        except OSError:
            return
        turns = self.load()
        temporary = self.path.with_suffix(".tmp")
        try:
            with open(temporary, "w", encoding="utf-8") as out:
                out.writelines(json.dumps(turn.to_dict(), ensure_ascii=False) + "\n" for turn in turns)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except OSError as exc:
            log.warning("Could not compact the history: %s", exc)
