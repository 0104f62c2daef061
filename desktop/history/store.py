"""The app's history as one object: the writer thread, the recorder and the panel's reader.

Every method the GUI calls either returns at once or is a coroutine whose
disk work runs in a worker thread (reads) or on the writer thread (writes).
With "Keep history" off no writer runs and nothing is written; the file is
only touched again when the user asks for something (turning it on, deleting).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable
from pathlib import Path

from desktop.transcript import TranscriptModel

from .export import export_to_file
from .legacy import import_legacy
from .queries import (
    ConversationRow,
    HistoryReader,
    SearchHit,
    TurnRow,
    conversation_turns,
    delete_conversations,
    latest_conversation,
    list_conversations,
    search,
)
from .recorder import HistoryRecorder
from .writer import HistoryWriter

__all__ = ["History"]

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 30.0  # opening checks the whole file (quick_check); a big history on a slow disk takes a while


class History:
    def __init__(self, path: Path | str, *, keep: bool = True, legacy_path: Path | None = None,
                 on_notice: Callable[[str], None] = lambda _m: None) -> None:
        self.path = Path(path)
        self.legacy_path = legacy_path
        self._on_notice = on_notice
        self.reader = HistoryReader(self.path)
        self.writer: HistoryWriter | None = None
        self.recorder: HistoryRecorder | None = None
        self._model: TranscriptModel | None = None
        self._pending: set[concurrent.futures.Future] = set()
        self.endpoint = ""
        self._keep = keep  # the writer starts with start(), once whoever shows notices is listening

    @property
    def keep(self) -> bool:
        return self._keep

    def _start_writer(self) -> HistoryWriter:
        if self.writer is None:
            self.writer = HistoryWriter(self.path, on_notice=self._on_notice)
            if self.legacy_path is not None:
                legacy = self.legacy_path
                self._track(self.writer.submit(lambda conn: import_legacy(conn, legacy)), "import the old history")
        return self.writer

    def _track(self, future: concurrent.futures.Future, what: str) -> None:
        """Keep a writer job's future until it is done, and log (not lose) its failure."""
        self._pending.add(future)

        def done(f: concurrent.futures.Future) -> None:
            self._pending.discard(f)
            if not f.cancelled() and f.exception() is not None:
                log.warning("Could not %s: %s", what, f.exception())

        future.add_done_callback(done)

    async def _ready(self) -> HistoryWriter | None:
        if self.writer is None:
            return None
        await asyncio.to_thread(self.writer.ready.wait, READY_TIMEOUT_S)
        return self.writer

    # -- the live conversation ---------------------------------------------------------

    async def start(self, model: TranscriptModel) -> None:
        """Show the last conversation again and record ``model`` from now on (continuing that conversation)."""
        self._model = model
        if not self._keep:
            return
        self._start_writer()
        writer = await self._ready()
        latest = None
        if writer is not None and writer.failed is None:
            await asyncio.wrap_future(writer.submit(lambda _conn: None))  # the old log is imported first
            try:
                latest = await asyncio.to_thread(self.reader.run, latest_conversation)
            except Exception as exc:  # a history that cannot be read must not stop the app
                log.warning("Could not read the last conversation: %s", exc)
        if not self._keep:  # turned off meanwhile
            return
        continue_row = None
        if latest is not None and not len(model):
            continue_row, turns = latest
            model.restore(turns)
        self._attach(model, continue_row)

    def _attach(self, model: TranscriptModel, continue_row: int | None = None) -> None:
        self.recorder = HistoryRecorder(self._start_writer())
        self.recorder.endpoint = self.endpoint
        self.recorder.attach(model, continue_row=continue_row)

    def set_endpoint(self, label: str) -> None:
        """What new conversations are with, e.g. ``"echo"`` or ``"ws://host:port (adk)"`` (never a secret)."""
        self.endpoint = label
        if self.recorder is not None:
            self.recorder.endpoint = label

    def set_keep(self, keep: bool) -> None:
        """Turn recording on (the current conversation is written from its start) or off (nothing more)."""
        if keep == self._keep:
            return
        self._keep = keep
        if not keep:
            if self.recorder is not None:
                self.recorder.detach()
                self.recorder = None
            writer, self.writer = self.writer, None
            if writer is not None:
                writer.close_soon()
        elif self._model is not None:
            self._attach(self._model)

    def continue_conversation(self, model: TranscriptModel, row: int, turns) -> None:
        """Show ``turns`` of conversation ``row`` in ``model``; what is said next joins that conversation."""
        if self.recorder is not None:
            self.recorder.detach()
        model.restore(turns)
        if self.recorder is not None:
            self.recorder.attach(model, continue_row=row)

    def current_row(self) -> int | None:
        return self.recorder.current_row() if self.recorder is not None else None

    # -- the panel's questions -----------------------------------------------------------

    async def conversations(self) -> list[ConversationRow]:
        return await self._read(list_conversations)

    async def search(self, text: str) -> list[SearchHit]:
        return await self._read(search, text)

    async def turns(self, conversation_id: int) -> list[TurnRow]:
        return await self._read(conversation_turns, conversation_id)

    async def _read(self, query, *args):
        await self._ready()
        if not self.path.exists():
            return []
        return await asyncio.to_thread(self.reader.run, query, *args)

    async def export(self, path: Path | str, conversation_ids: list[int] | None) -> int:
        await self._ready()
        return await asyncio.to_thread(self.reader.run, export_to_file, path, conversation_ids)

    async def delete(self, conversation_ids: list[int] | None) -> int:
        """Delete for good (``None``: everything); runs on the writer thread, one is started if needed."""
        if self.writer is None and not self.path.exists():
            return 0
        writer = self.writer or HistoryWriter(self.path, on_notice=self._on_notice)
        await asyncio.to_thread(writer.ready.wait, READY_TIMEOUT_S)

        def job(conn):
            count = delete_conversations(conn, conversation_ids)
            writer.forget(None if conversation_ids is None else set(conversation_ids))
            return count

        try:
            return await asyncio.wrap_future(writer.submit(job))
        finally:
            if writer is not self.writer:
                await asyncio.to_thread(writer.close)

    async def close(self) -> None:
        """Write what is pending and stop (at quit)."""
        self.reader.close()
        writer, self.writer = self.writer, None
        if writer is not None:
            await asyncio.to_thread(writer.close)

