"""The History window: past conversations, search across all of them, and what to do with one.

A thin dialog: it shows the rows, hits and turns it is given (``set_*``,
``show_*``) and emits what the user asks for (``search_changed``,
``conversation_selected``, ``export_requested``, ``delete_requested``,
``continue_requested``). It never reads the database; whoever connects it runs
the queries off the GUI thread. The list is a model/view pair, so ten thousand
conversations cost no more to show than ten.
"""

from __future__ import annotations

import datetime
import html
import re
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAbstractTextDocumentLayout, QGuiApplication, QKeySequence, QPalette, QShortcut, QTextDocument
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

__all__ = ["HistoryPanel", "highlight"]

MARK_START, MARK_END = "\x02", "\x03"  # how the history marks matched words in a snippet
SPEAKERS = {"user": "You", "model": "Assistant"}
SEARCH_DELAY_MS = 150  # type a word, not a letter, before searching
_HIGHLIGHT = '<span style="background:#ffe58a">'
_MUTED = "#5b6470"


def highlight(snippet: str) -> str:
    """A marked snippet as HTML: escaped, with the matches highlighted."""
    return (html.escape(snippet).replace("\n", " ")
            .replace(MARK_START, _HIGHLIGHT).replace(MARK_END, "</span>"))


def _date(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


class _Rows(QAbstractListModel):
    """(conversation id, two-line HTML) per row; formatting happens when a row is painted."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[int, Any]] = []
        self._format = lambda item: ""

    def reset(self, rows: Sequence[tuple[int, Any]], format_row) -> None:
        self.beginResetModel()
        self._rows, self._format = list(rows), format_row
        self.endResetModel()

    def conversation_id(self, row: int) -> int:
        return self._rows[row][0]

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        item = self._rows[index.row()][1]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._format(item)
        if role == Qt.ItemDataRole.UserRole:
            return self._rows[index.row()][0]
        return None


class _HtmlDelegate(QStyledItemDelegate):
    """Paints a row's HTML (bold title, highlighted matches) on one fixed-height, two-line row."""

    def paint(self, painter, option: QStyleOptionViewItem, index) -> None:
        self.initStyleOption(option, index)
        document = QTextDocument()
        document.setDefaultFont(option.font)
        document.setDocumentMargin(4)
        document.setHtml(option.text)
        option.text = ""
        style = option.widget.style() if option.widget else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, option.widget)
        painter.save()
        painter.translate(option.rect.topLeft())
        painter.setClipRect(0, 0, option.rect.width(), option.rect.height())
        context = QAbstractTextDocumentLayout.PaintContext()
        if option.state & QStyle.StateFlag.State_Selected:
            context.palette.setColor(QPalette.ColorRole.Text, option.palette.color(QPalette.ColorRole.HighlightedText))
        document.documentLayout().draw(painter, context)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:
        line = option.fontMetrics.lineSpacing()
        return QSize(200, 2 * line + 12)


class HistoryPanel(QDialog):
    """Conversations newest first; search; open one read-only; copy, export, delete, continue."""

    search_changed = Signal(str)
    conversation_selected = Signal(int)
    continue_requested = Signal(int)
    export_requested = Signal(str, object)  # path, [ids] or None for all
    delete_requested = Signal(object)  # [ids] or None for all

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("historyPanel")
        self.setWindowTitle("History")
        self.resize(900, 600)
        self._shown_id: int | None = None
        self._shown_text = ""
        self._query = ""

        self.search = QLineEdit()
        self.search.setPlaceholderText("Search all conversations")
        self.search.setAccessibleName("Search history")
        self.search.setClearButtonEnabled(True)
        self.list = QListView()
        self.list.setObjectName("historyList")
        self.list.setUniformItemSizes(True)  # ten thousand rows lay out in constant time
        self.list.setItemDelegate(_HtmlDelegate(self.list))
        self.list.setAccessibleName("Conversations")
        self.rows = _Rows(self.list)
        self.list.setModel(self.rows)
        self.count_label = QLabel()
        self.count_label.setObjectName("hint")
        self.export_all_button = QPushButton("Export &all…")
        self.delete_all_button = QPushButton("De&lete all…")

        self.view = QTextBrowser()
        self.view.setObjectName("historyConversation")
        self.view.setOpenLinks(False)
        self.view.setAccessibleName("Conversation")
        self.view.setPlaceholderText("Choose a conversation to read it here.")
        self.continue_button = QPushButton("Co&ntinue")
        self.copy_button = QPushButton("&Copy")
        self.export_button = QPushButton("E&xport…")
        self.delete_button = QPushButton("&Delete…")
        self.message = QLabel()
        self.message.setObjectName("hint")
        self.message.setWordWrap(True)

        left = QWidget()
        left_column = QVBoxLayout(left)
        left_column.setContentsMargins(0, 0, 0, 0)
        left_column.addWidget(self.list, 1)
        left_column.addWidget(self.count_label)
        left_buttons = QHBoxLayout()
        left_buttons.addWidget(self.export_all_button)
        left_buttons.addWidget(self.delete_all_button)
        left_column.addLayout(left_buttons)
        right = QWidget()
        right_column = QVBoxLayout(right)
        right_column.setContentsMargins(0, 0, 0, 0)
        right_column.addWidget(self.view, 1)
        right_buttons = QHBoxLayout()
        for button in (self.continue_button, self.copy_button, self.export_button, self.delete_button):
            right_buttons.addWidget(button)
        right_buttons.addStretch(1)
        right_column.addLayout(right_buttons)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([340, 560])
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.message)

        for button in (self.export_all_button, self.delete_all_button, self.continue_button, self.copy_button,
                       self.export_button, self.delete_button):
            button.setAutoDefault(False)  # Enter in the search box goes to the results, never presses a button
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self.file_dialog: QFileDialog | None = None
        self.confirm: QMessageBox | None = None
        self._connect_signals()
        self._enable_conversation_actions(False)

    def _connect_signals(self) -> None:
        self.search.textChanged.connect(self._search_timer.start)
        self.search.returnPressed.connect(self.on_search_entered)
        self._search_timer.timeout.connect(self.on_search_timer)
        self.list.selectionModel().currentChanged.connect(self.on_current_changed)
        self.copy_button.clicked.connect(self.on_copy)
        self.export_button.clicked.connect(lambda: self.ask_export([self._shown_id]))
        self.export_all_button.clicked.connect(lambda: self.ask_export(None))
        self.delete_button.clicked.connect(lambda: self.ask_delete([self._shown_id]))
        self.delete_all_button.clicked.connect(lambda: self.ask_delete(None))
        self.continue_button.clicked.connect(lambda: self.continue_requested.emit(self._shown_id))
        QShortcut(QKeySequence(QKeySequence.StandardKey.Find), self, self.search.setFocus)

    # -- state in -------------------------------------------------------------------

    def set_conversations(self, rows: Sequence[Any]) -> None:
        """Rows with ``id``, ``started``, ``title``, ``endpoint``, newest first (shown when not searching)."""
        if self._query:
            return
        self.rows.reset([(row.id, row) for row in rows], self._conversation_html)
        self.count_label.setText(f"{len(rows)} conversation{'s' * (len(rows) != 1)}")
        self.export_all_button.setEnabled(bool(rows))
        self.delete_all_button.setEnabled(bool(rows))

    def set_hits(self, query: str, hits: Sequence[Any]) -> None:
        """Search results for ``query`` (hits with ``conversation``, ``speaker``, ``snippet``); stale ones dropped."""
        if query != self._query:
            return
        self.rows.reset([(hit.conversation.id, hit) for hit in hits], self._hit_html)
        self.count_label.setText(f"{len(hits)} match{'es' * (len(hits) != 1)}" if hits else "No matches")

    def show_conversation(self, row: Any, turns: Sequence[Any]) -> None:
        """Show one conversation read-only, the searched words highlighted."""
        self._shown_id = row.id
        words = re.findall(r"\w+", self._query.lower())
        parts = [f"<h3>{html.escape(row.title or 'Untitled conversation')}</h3>",
                 f'<p style="color:{_MUTED}">{_date(row.started)}'
                 + (f" · {html.escape(row.endpoint)}" if row.endpoint else "") + "</p>"]
        plain = [row.title or "Untitled conversation", ""]
        for turn in turns:
            who = SPEAKERS.get(turn.speaker, turn.speaker)
            note = " (interrupted)" if turn.state == "interrupted" else ""
            parts.append(f"<p><b>{who}</b>{note}<br>{self._mark_words(turn.text, words)}</p>")
            plain.append(f"{who}{note}: {turn.text}")
        self._shown_text = "\n".join(plain)
        self.view.setHtml("".join(parts))
        self._enable_conversation_actions(True)

    def clear_conversation(self) -> None:
        self._shown_id = None
        self._shown_text = ""
        self.view.clear()
        self._enable_conversation_actions(False)

    def set_continue_available(self, available: bool, reason: str) -> None:
        """Whether "Continue" sends the conversation as context; ``reason`` says what it does or cannot."""
        self.continue_button.setText("Co&ntinue" if available else "Co&ntinue (show only)")
        self.continue_button.setToolTip(reason)

    def show_message(self, text: str) -> None:
        self.message.setText(text)

    @property
    def shown_conversation(self) -> int | None:
        return self._shown_id

    @property
    def shown_text(self) -> str:
        return self._shown_text

    # -- user actions ------------------------------------------------------------------

    @Slot()
    def on_search_timer(self) -> None:
        self._query = self.search.text().strip()
        self.search_changed.emit(self._query)

    @Slot()
    def on_search_entered(self) -> None:
        """Enter in the search box: search now and go to the first result."""
        if self._search_timer.isActive():
            self._search_timer.stop()
            self.on_search_timer()
        self.list.setFocus()
        if self.rows.rowCount():
            self.select_row(0)

    @Slot(QModelIndex, QModelIndex)
    def on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.conversation_selected.emit(self.rows.conversation_id(current.row()))

    def select_row(self, row: int) -> None:
        self.list.setCurrentIndex(self.rows.index(row))

    @Slot()
    def on_copy(self) -> None:
        QGuiApplication.clipboard().setText(self._shown_text)
        self.show_message("Copied the conversation.")

    def ask_export(self, ids: list[int] | None) -> None:
        """A non-blocking save dialog; the chosen name's ending (.md or .json) picks the format."""
        dialog = QFileDialog(self, "Export conversation" if ids else "Export all conversations")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilters(["Markdown (*.md)", "JSON (*.json)"])
        dialog.setDefaultSuffix("md")
        dialog.selectFile("conversation.md" if ids else "conversations.md")
        dialog.filterSelected.connect(lambda name: dialog.setDefaultSuffix("json" if "json" in name else "md"))
        dialog.fileSelected.connect(lambda path: self.export_requested.emit(path, ids))
        self.file_dialog = dialog
        dialog.open()

    def ask_delete(self, ids: list[int] | None) -> None:
        what = "this conversation" if ids else "all conversations"
        box = QMessageBox(QMessageBox.Icon.Warning, "Delete history",
                          f"Delete {what} for good? It is removed from the history file and cannot be undone.",
                          QMessageBox.StandardButton.Cancel, self)
        delete = box.addButton("&Delete", QMessageBox.ButtonRole.DestructiveRole)
        box.finished.connect(lambda _r: box.clickedButton() is delete and self.delete_requested.emit(ids))
        self.confirm = box
        box.open()

    # -- rendering ------------------------------------------------------------------------

    def _enable_conversation_actions(self, enabled: bool) -> None:
        for button in (self.continue_button, self.copy_button, self.export_button, self.delete_button):
            button.setEnabled(enabled)

    @staticmethod
    def _conversation_html(row: Any) -> str:
        title = html.escape(row.title or "Untitled conversation")
        meta = _date(row.started) + (f" · {html.escape(row.endpoint)}" if row.endpoint else "")
        return f'<b>{title}</b><br><span style="color:{_MUTED}">{meta}</span>'

    @staticmethod
    def _hit_html(hit: Any) -> str:
        title = html.escape(hit.conversation.title or "Untitled conversation")
        who = SPEAKERS.get(hit.speaker, hit.speaker)
        return (f'<b>{title}</b> <span style="color:{_MUTED}">{_date(hit.conversation.started)}</span><br>'
                f'<span style="color:{_MUTED}">{who}:</span> {highlight(hit.snippet)}')

    @staticmethod
    def _mark_words(text: str, words: list[str]) -> str:
        """Escaped text with each word that starts with a searched word highlighted."""
        if not words:
            return html.escape(text).replace("\n", "<br>")
        out = []
        for token in _split_words(text):
            escaped = html.escape(token).replace("\n", "<br>")
            if token[:1].isalnum() and any(token.lower().startswith(w) for w in words):
                escaped = f"{_HIGHLIGHT}{escaped}</span>"
            out.append(escaped)
        return "".join(out)


def _split_words(text: str) -> list[str]:
    return re.findall(r"\w+|\W+", text)
