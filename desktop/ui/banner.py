"""A dismissable strip above the transcript for errors the user should not miss.

Non-modal on purpose: a dialog would block talking, and errors here are usually
temporary (a dropped connection, a busy microphone). Text only, never a traceback.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from .resources import load_icon

__all__ = ["ErrorBanner", "user_text"]

_MAX_CHARS = 500
_TRACEBACK = "Traceback (most recent call last)"


def user_text(text: str) -> str:
    """``text`` fit for a person: a traceback shrinks to its last line, long text is cut."""
    text = text.strip()
    if _TRACEBACK in text:
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        text = lines[-1] if lines else ""
    if len(text) > _MAX_CHARS:
        text = text[: _MAX_CHARS - 1].rstrip() + "…"
    return text


class ErrorBanner(QFrame):
    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorBanner")
        self.setAccessibleName("Error")
        self.icon = QLabel(self)
        self.icon.setObjectName("errorIcon")
        self.icon.setPixmap(load_icon("alert", "#c62828").pixmap(QSize(18, 18)))
        self.icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.label = QLabel(self)
        self.label.setObjectName("errorText")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_button = QToolButton(self)
        self.close_button.setObjectName("dismissButton")
        self.close_button.setIcon(load_icon("close", "#8a1c1c"))
        if self.close_button.icon().isNull():
            self.close_button.setText("✕")
        self.close_button.setToolTip("Dismiss")
        self.close_button.setAccessibleName("Dismiss error")
        self.close_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.close_button.setAutoRaise(True)
        self.close_button.clicked.connect(self.dismiss)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 6, 8)
        layout.setSpacing(10)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def text(self) -> str:
        return self.label.text()

    @Slot(str)
    def show_error(self, text: str) -> None:
        self.label.setText(user_text(text))
        self.show()

    @Slot()
    def dismiss(self) -> None:
        if self.isHidden():
            return
        self.hide()
        self.dismissed.emit()
