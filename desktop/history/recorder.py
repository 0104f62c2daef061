"""Follows the live :class:`~desktop.transcript.TranscriptModel` and hands each change to the writer.

Runs on the GUI thread, inside the model's observer callback, so it only copies
the turn into a :class:`~desktop.history.writer.TurnRecord` and returns. A
conversation is begun in the file with its first turn (an empty "New
conversation" leaves nothing behind); clearing the model starts the next one.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from desktop.transcript import TranscriptModel, Turn

from .queries import TurnRow
from .writer import HistoryWriter, TurnRecord

__all__ = ["HistoryRecorder"]


class HistoryRecorder:
    def __init__(self, writer: HistoryWriter, *, clock: Callable[[], float] = time.time) -> None:
        self.writer = writer
        self.endpoint = ""  # what the next conversation is said to be with (set by the app)
        self._clock = clock
        self._token = 0
        self._begun = False
        self._continue_row: int | None = None
        self._times: dict[int, tuple[float, float | None]] = {}  # turn id -> (started, finished)
        self._unsubscribe: Callable[[], None] | None = None

    @property
    def conversation_token(self) -> int:
        return self._token

    @property
    def attached(self) -> bool:
        return self._unsubscribe is not None

    def attach(self, model: TranscriptModel, *, continue_row: int | None = None) -> None:
        """Record ``model`` from now on: its current turns too (they join ``continue_row`` if given)."""
        self.detach()
        self._new_conversation()
        self._continue_row = continue_row
        self._unsubscribe = model.subscribe(self.on_turn, cleared=self.on_cleared)
        for turn in model.turns:
            self.on_turn(turn, True)

    def detach(self) -> None:
        """Stop recording ("Keep history" turned off): nothing more is handed to the writer."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def current_row(self) -> int | None:
        """The current conversation's id in the file, if it has been written."""
        return self.writer.row_id(self._token) if self._begun else None

    # -- model observer ------------------------------------------------------------

    def on_turn(self, turn: Turn, is_new: bool) -> None:
        now = self._clock()
        if not self._begun:
            self._begun = True
            self.writer.begin_conversation(self._token, now, self.endpoint, self._continue_row)
        started, finished = self._times.get(turn.id, (now, None))
        if finished is None and not turn.is_open:
            finished = now
        self._times[turn.id] = (started, finished)
        row = TurnRow(seq=turn.id, speaker=turn.speaker, text=turn.text + turn.tentative, kind=turn.kind,
                      typed=turn.typed, sent=turn.sent, state=str(turn.state), started=started, finished=finished)
        self.writer.put_turn(TurnRecord(conversation=self._token, turn=row, urgent=not turn.is_open))

    def on_cleared(self) -> None:
        self._new_conversation()

    def _new_conversation(self) -> None:
        self._token += 1
        self._begun = False
        self._continue_row = None
        self._times.clear()
