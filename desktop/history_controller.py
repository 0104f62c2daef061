"""Between the History panel and the history store: runs the panel's questions off the GUI thread.

Like :mod:`desktop.controller` it sees everything (the store, the live
transcript, the controller's endpoint) and is built by :mod:`desktop.app`. Every
query is a task it owns and cancels when a newer one of the same kind starts
(a stale search never overwrites a newer one); errors become words in the panel.

"Continue" loads a past conversation into the window. Where the processor can
be told about it (the embedded Gemini processor, through its
``system_instruction``), the conversation is sent as context on a new
session; otherwise it is only shown, and the panel says so.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from PySide6.QtCore import QObject, Qt, Signal

from desktop.history import ExportError, History, HistoryUnavailable
from desktop.transcript import TranscriptModel

__all__ = ["CONTEXT_CHARS", "HistoryController", "context_instruction", "endpoint_label"]

log = logging.getLogger(__name__)

CONTEXT_CHARS = 16000  # the newest part of a long conversation: enough to continue, small enough for any model
_CONTEXT_PROCESSORS = frozenset({"gemini"})  # embedded processors that honour system_instruction


def endpoint_label(endpoint: Any) -> str:
    """What a conversation was with, for the list: a processor name or a server address (no secrets)."""
    if endpoint is None:
        return ""
    if endpoint.embedded:
        return endpoint.processor
    parts = urlsplit(endpoint.url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path} ({endpoint.protocol})"


def context_instruction(instruction: str, turns: list[Any]) -> str:
    """The system instruction for a continued conversation: the user's own, then the conversation so far."""
    lines = [f"{'User' if t.speaker == 'user' else 'Assistant'}: {t.text.strip()}" for t in turns if t.text.strip()]
    transcript = "\n".join(lines)[-CONTEXT_CHARS:]
    prefix = f"{instruction.strip()}\n\n" if instruction.strip() else ""
    return (f"{prefix}The user is continuing an earlier conversation with you. "
            f"Here it is, oldest first; carry on from it:\n{transcript}")


class HistoryController(QObject):
    notice = Signal(str)  # emitted from the writer thread too: Qt queues it to the GUI thread

    def __init__(self, path: Path, *, keep: bool, transcript: TranscriptModel, controller: Any,
                 legacy_path: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.history = History(path, keep=keep, legacy_path=legacy_path, on_notice=self.notice.emit)
        self.transcript = transcript
        self.controller = controller
        self.panel = None
        self._tasks: dict[str, asyncio.Task] = {}
        self._context_from: Any = None  # the endpoint before "Continue" added context

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        await self.history.start(self.transcript)

    async def close(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        await self.history.close()

    def set_keep(self, keep: bool) -> None:
        self.history.set_keep(keep)

    def set_endpoint(self, endpoint: Any) -> None:
        self.history.set_endpoint(endpoint_label(endpoint))

    def _run(self, name: str, coro: Coroutine, done: Callable[[Any], None] | None = None) -> asyncio.Task:
        """Run ``coro`` as the one task called ``name``; ``done(result)`` on success, words in the panel on error."""
        previous = self._tasks.pop(name, None)
        if previous is not None:
            previous.cancel()
        task = asyncio.ensure_future(coro)
        self._tasks[name] = task

        def finished(t: asyncio.Task) -> None:
            if self._tasks.get(name) is t:
                del self._tasks[name]
            if t.cancelled():
                return
            exc = t.exception()
            if exc is None:
                if done is not None:
                    done(t.result())
                return
            if isinstance(exc, (ExportError, HistoryUnavailable, OSError)):
                message = str(exc)
            else:
                log.error("History %s failed", name, exc_info=exc)
                message = f"Could not {name.replace('-', ' ')}: {exc}"
            if self.panel is not None:
                self.panel.show_message(message)
            else:
                self.notice.emit(message)

        task.add_done_callback(finished)
        return task

    def busy(self) -> bool:
        return bool(self._tasks)

    # -- the panel --------------------------------------------------------------------------

    def open_panel(self, parent=None) -> None:
        from desktop.ui.history_panel import HistoryPanel

        if self.panel is None:
            self.panel = HistoryPanel(parent)
            self.panel.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
            self.panel.search_changed.connect(self.on_search_changed)
            self.panel.conversation_selected.connect(self.on_conversation_selected)
            self.panel.export_requested.connect(self.on_export_requested)
            self.panel.delete_requested.connect(self.on_delete_requested)
            self.panel.continue_requested.connect(self.on_continue_requested)
        available, reason = self._continue_support()
        self.panel.set_continue_available(available, reason)
        self.panel.show_message("" if self.history.keep else
                                "Keep history is off in Settings: this conversation is not being saved.")
        self.panel.show()
        self.panel.raise_()
        self.panel.activateWindow()
        self.refresh()

    def refresh(self) -> None:
        if self.panel is None:
            return
        panel = self.panel
        self._run("list-conversations", self.history.conversations(), panel.set_conversations)
        query = panel.search.text().strip()
        if query:
            self.on_search_changed(query)

    def on_search_changed(self, query: str) -> None:
        if not query:
            running = self._tasks.pop("search", None)
            if running is not None:
                running.cancel()
            self.refresh()
            return
        self._run("search", self.history.search(query), lambda hits: self.panel.set_hits(query, hits))

    def on_conversation_selected(self, conversation_id: int) -> None:
        async def load():
            rows = {row.id: row for row in await self.history.conversations()}
            row = rows.get(conversation_id)
            return row, (await self.history.turns(conversation_id) if row is not None else [])

        def show(result) -> None:
            row, turns = result
            if row is None:
                self.panel.clear_conversation()
            else:
                self.panel.show_conversation(row, turns)

        self._run("open-conversation", load(), show)

    def on_export_requested(self, path: str, ids: list[int] | None) -> None:
        def done(count: int) -> None:
            self.panel.show_message(f"Exported {count} conversation{'s' * (count != 1)} to {path}.")

        self._run("export", self.history.export(path, ids), done)

    def on_delete_requested(self, ids: list[int] | None) -> None:
        current = self.history.current_row()
        if ids is None or (current is not None and current in ids):
            self.controller.on_reset_requested()  # the open conversation goes too: what follows is a new one

        legacy = self.history.legacy_path

        def done(count: int) -> None:
            self.panel.clear_conversation()
            message = f"Deleted {count} conversation{'s' * (count != 1)}."
            if legacy is not None and legacy.exists():  # imported once and left alone: it still holds its copy
                message += f" Conversations from before this version are also still in {legacy}: delete that file too."
            self.panel.show_message(message)
            self.refresh()

        self._run("delete", self.history.delete(ids), done)

    # -- continuing -----------------------------------------------------------------------------

    def _continue_support(self) -> tuple[bool, str]:
        endpoint = self.controller.endpoint
        if endpoint is not None and endpoint.embedded and endpoint.processor in _CONTEXT_PROCESSORS:
            return True, "Show it in the main window and send it to the assistant as context on a new session."
        name = endpoint_label(endpoint) or "the current assistant"
        return False, (f"{name} cannot be given an earlier conversation as context; "
                       "it can be read here but the assistant would not know it.")

    def on_continue_requested(self, conversation_id: int) -> None:
        available, reason = self._continue_support()
        if not available:
            self.panel.show_message(reason)
            return

        async def go() -> None:
            turns = await self.history.turns(conversation_id)
            endpoint = self._context_from or self.controller.endpoint
            config = dict(endpoint.config)
            config["system_instruction"] = context_instruction(str(config.get("system_instruction", "")), turns)
            self.controller.on_reset_requested()
            self.history.continue_conversation(self.transcript, conversation_id, [t.to_turn() for t in turns])
            self._context_from = endpoint
            await self.controller.apply(dataclasses.replace(endpoint, config=tuple(sorted(config.items()))))

        self._run("continue", go(), lambda _r: self.panel.show_message(
            "Continuing in the main window; the assistant was given this conversation as context."))

    def on_new_conversation(self) -> None:
        """After "New conversation": a context added by "Continue" is dropped with the old conversation."""
        endpoint, self._context_from = self._context_from, None
        if endpoint is not None:
            self._run("reconnect", self.controller.apply(endpoint))
