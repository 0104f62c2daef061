"""The Keys tab of the Settings dialog: the push-to-talk key.

Why its own tab: it is the one setting people look for by name, and a key
recorder needs room to explain itself (click, press the key; Tab still moves on).
"""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QFormLayout, QPushButton, QVBoxLayout, QWidget

from desktop.settings import Settings

from .field_note import FieldNote
from .form_rows import add_row, hint_label, row, stack
from .hotkey_edit import DEFAULT_HOTKEY, HotkeyEdit

__all__ = ["KeysPage"]


class KeysPage(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hotkey = HotkeyEdit(self)
        self.default_button = QPushButton(f"Use {DEFAULT_HOTKEY}", self)
        self.default_button.setAutoDefault(False)
        self.default_button.setToolTip(f"Go back to the default key, {DEFAULT_HOTKEY}")
        self.hotkey_note = FieldNote(self, name="Push-to-talk key problem")
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        add_row(form, "Push-to-&talk key:", stack(
            self, row(self, self.hotkey, self.default_button), self.hotkey_note,
            hint_label("Click the field and press the key to hold while you talk in the main window "
                       "(not while typing in the message box). Tab moves on; Esc closes the dialog.", self)),
            self.hotkey)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 14)
        layout.addLayout(form)
        layout.addStretch(1)
        self.hotkey.keySequenceChanged.connect(self.on_edited)
        self.default_button.clicked.connect(self.on_default_clicked)

    def load(self, settings: Settings) -> None:
        self.hotkey.set_portable_text(settings.hotkey or DEFAULT_HOTKEY)
        self.refresh()

    def store(self, settings: Settings) -> None:
        settings.hotkey = self.hotkey.portable_text()

    def problems(self) -> list[str]:
        return [] if self.hotkey.portable_text() else ["Choose a push-to-talk key."]

    def refresh(self) -> None:
        problems = self.problems()
        self.hotkey_note.show_note("error", problems[0] if problems else "")

    @Slot()
    def on_default_clicked(self) -> None:
        self.hotkey.set_portable_text(DEFAULT_HOTKEY)

    @Slot()
    def on_edited(self) -> None:
        self.refresh()
        self.changed.emit()
