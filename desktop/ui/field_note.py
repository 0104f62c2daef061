"""A line of text under a form field: why the value is refused, a warning, or a check's answer.

Why: the Settings dialog validates as you type and reports next to the field,
never in a pop-up or a traceback. One small label with a ``kind`` property
(``error``, ``warning``, ``info``, ``ok``, ``busy``) lets the stylesheet colour it;
the text stays selectable so a person can copy an error message.
"""

from __future__ import annotations

from typing import Literal

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from .status import repolish

__all__ = ["FIELD_NOTE_QSS", "FieldNote", "NoteKind"]

NoteKind = Literal["error", "warning", "info", "ok", "busy"]

FIELD_NOTE_QSS = """
QLabel#fieldNote { color: #5b6470; font-size: 9pt; padding: 1px 0; background: transparent; }
QLabel#fieldNote[kind="error"] { color: #b42318; }
QLabel#fieldNote[kind="ok"] { color: #15803d; font-weight: 600; }
QLabel#fieldNote[kind="busy"] { color: #5b6470; font-style: italic; }
QLabel#fieldNote[kind="warning"] {
    color: #8a4b08; background: #fff6e5; border: 1px solid #f3d19c; border-radius: 6px; padding: 4px 8px;
}
"""


class FieldNote(QLabel):
    """Hidden while empty; :meth:`show_note` sets the text and its kind."""

    def __init__(self, parent: QWidget | None = None, *, name: str = "") -> None:
        super().__init__(parent)
        self.setObjectName("fieldNote")
        self.setWordWrap(True)
        self.setIndent(0)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        self.setAccessibleName(name or "Note")
        self._kind: NoteKind = "info"
        self.setProperty("kind", self._kind)
        self.hide()

    @property
    def kind(self) -> NoteKind:
        return self._kind

    def show_note(self, kind: NoteKind, text: str) -> None:
        """Show ``text`` styled as ``kind``; empty text hides the note."""
        if kind != self._kind:
            self._kind = kind
            self.setProperty("kind", kind)
            repolish(self)
        self.setText(text)
        self.setAccessibleDescription(text)
        self.setVisible(bool(text))

    @Slot()
    def clear_note(self) -> None:
        self.show_note("info", "")
