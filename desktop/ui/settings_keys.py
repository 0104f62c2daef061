"""The Keys tab of the Settings dialog: the push-to-talk key.

Why its own tab: it is the one setting people look for by name, and a key
recorder needs room to explain itself (click, press the key; Tab still moves on).
"""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QPushButton, QVBoxLayout, QWidget

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
        # The global talk key (desktop/global_hotkey.py): seen while other windows have focus.
        self.global_enabled = QCheckBox("Also while other &windows have focus", self)
        self.global_enabled.setAccessibleName("Global talk key on")
        self.global_hotkey = HotkeyEdit(self)
        self.global_hotkey.setAccessibleName("Global talk key")
        self.global_hotkey.setToolTip("Click, then press the key to use from any window (e.g. F8)")
        self.global_mode = QComboBox(self)
        self.global_mode.setAccessibleName("Global talk key mode")
        self.global_mode.addItem("Hold to talk", "hold")
        self.global_mode.addItem("Press to start, press again to send", "toggle")
        add_row(form, "&Global talk key:", stack(
            self, self.global_enabled, row(self, self.global_hotkey, self.global_mode),
            hint_label("Works on X11, Windows and macOS (macOS asks for the Accessibility permission in "
                       "System Settings → Privacy & Security). Not on Wayland: there the window's key is used.",
                       self)), self.global_enabled)
        self.close_to_tray = QCheckBox("Closing the window keeps Voice Desktop in the system &tray", self)
        self.earcons = QCheckBox("Play a short &sound when talking starts and stops", self)
        add_row(form, "Desktop:", stack(self, self.close_to_tray, self.earcons), self.close_to_tray)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 14)
        layout.addLayout(form)
        layout.addStretch(1)
        self.hotkey.keySequenceChanged.connect(self.on_edited)
        self.default_button.clicked.connect(self.on_default_clicked)
        self.global_enabled.toggled.connect(self.on_global_toggled)
        for signal in (self.global_enabled.toggled, self.close_to_tray.toggled, self.earcons.toggled):
            signal.connect(self.changed)
        self.global_hotkey.keySequenceChanged.connect(self.on_edited)
        self.global_mode.currentIndexChanged.connect(self.changed)

    def load(self, settings: Settings) -> None:
        self.hotkey.set_portable_text(settings.hotkey or DEFAULT_HOTKEY)
        self.global_enabled.setChecked(bool(settings.global_hotkey))
        self.global_hotkey.set_portable_text(settings.global_hotkey or "F8")
        self.global_mode.setCurrentIndex(max(0, self.global_mode.findData(settings.global_hotkey_mode)))
        self.close_to_tray.setChecked(settings.close_to_tray)
        self.earcons.setChecked(settings.earcons)
        self.on_global_toggled(self.global_enabled.isChecked())
        self.refresh()

    def store(self, settings: Settings) -> None:
        settings.hotkey = self.hotkey.portable_text()
        settings.global_hotkey = self.global_hotkey.portable_text() if self.global_enabled.isChecked() else ""
        settings.global_hotkey_mode = self.global_mode.currentData() or "hold"
        settings.close_to_tray = self.close_to_tray.isChecked()
        settings.earcons = self.earcons.isChecked()

    def problems(self) -> list[str]:
        problems = [] if self.hotkey.portable_text() else ["Choose a push-to-talk key."]
        if self.global_enabled.isChecked() and not self.global_hotkey.portable_text():
            problems.append("Choose a global talk key, or turn it off.")
        return problems

    def refresh(self) -> None:
        problems = self.problems()
        self.hotkey_note.show_note("error", problems[0] if problems else "")

    @Slot(bool)
    def on_global_toggled(self, enabled: bool) -> None:
        self.global_hotkey.setEnabled(enabled)
        self.global_mode.setEnabled(enabled)

    @Slot()
    def on_default_clicked(self) -> None:
        self.hotkey.set_portable_text(DEFAULT_HOTKEY)

    @Slot()
    def on_edited(self) -> None:
        self.refresh()
        self.changed.emit()
