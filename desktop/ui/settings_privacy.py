"""The Privacy tab of the Settings dialog: whether conversations are kept in History.

Why a tab of its own: it is the one place someone looks for "does it keep what
I say?", and it says where the file is and how to delete it.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QVBoxLayout, QWidget

from desktop.settings import Settings

from .form_rows import hint_label

__all__ = ["PrivacyPage"]


class PrivacyPage(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.keep_history = QCheckBox("Keep &history", self)
        self.keep_history.setToolTip("Save conversations so History can find, export and delete them")
        hint = hint_label(
            "Conversations are saved on this computer only, in history.sqlite3 in the app's data folder "
            "(~/.local/share/voice-desktop on Linux). Off: nothing more is written. "
            "Conversation → History… deletes one or all of them for good.", self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 14)
        layout.addWidget(self.keep_history)
        layout.addWidget(hint)
        layout.addStretch(1)
        self.keep_history.toggled.connect(self.changed)

    def load(self, settings: Settings) -> None:
        self.keep_history.setChecked(settings.keep_history)

    def store(self, settings: Settings) -> None:
        settings.keep_history = self.keep_history.isChecked()

    def problems(self) -> list[str]:
        return []
