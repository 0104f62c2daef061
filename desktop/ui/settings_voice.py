"""The Voice tab of the Settings dialog: voice, model and system instruction.

Why its own tab: these go to whichever server is in use (the embedded Gemini
processor, or a live_server-compatible remote server) as its config, so they
belong to neither the embedded nor the remote section.
"""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QComboBox, QFormLayout, QLineEdit, QPlainTextEdit, QVBoxLayout, QWidget

from desktop.settings import Settings

from .field_note import FieldNote
from .form_rows import add_row, hint_label, stack
from .settings_checks import VOICES

__all__ = ["VoicePage"]


class VoicePage(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.voice = QComboBox(self)
        self.voice.setEditable(True)
        self.voice.addItems(VOICES)
        self.voice.setAccessibleName("Voice")
        self.voice.setToolTip("A Gemini Live prebuilt voice; you may type another name")
        self.voice_note = FieldNote(self, name="Voice problem")
        self.model = QLineEdit(self)
        self.model.setPlaceholderText("Default")
        self.model.setAccessibleName("Model")
        self.model.setClearButtonEnabled(True)
        self.language = QLineEdit(self)
        self.language.setPlaceholderText("Automatic")
        self.language.setAccessibleName("Language")
        self.language.setToolTip("A BCP-47 language code such as en-US or de-DE")
        self.language.setClearButtonEnabled(True)
        self.instruction = QPlainTextEdit(self)
        self.instruction.setAccessibleName("System instruction")
        self.instruction.setPlaceholderText("Optional, e.g. “Answer briefly, in a friendly tone.”")
        self.instruction.setTabChangesFocus(True)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        add_row(form, "&Voice:", stack(self, self.voice, self.voice_note), self.voice)
        add_row(form, "&Model:", stack(self, self.model, hint_label(
            "Blank uses the processor's default model.", self)), self.model)
        add_row(form, "&Language:", stack(self, self.language, hint_label(
            "Blank lets the model detect it; e.g. en-US, de-DE, ja-JP.", self)), self.language)
        add_row(form, "System &instruction:", self.instruction)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 14)
        layout.setSpacing(12)
        layout.addWidget(hint_label("Sent to the server when it connects: the embedded Gemini processor and "
                                    "live_server-compatible servers use these.", self))
        layout.addLayout(form, 1)

        self.voice.currentTextChanged.connect(self.on_edited)
        self.model.textChanged.connect(self.on_edited)
        self.language.textChanged.connect(self.on_edited)
        self.instruction.textChanged.connect(self.on_edited)

    def load(self, settings: Settings) -> None:
        self.voice.setCurrentText(settings.voice)
        self.model.setText(settings.model)
        self.language.setText(settings.language)
        self.instruction.setPlainText(settings.system_instruction)
        self.refresh()

    def store(self, settings: Settings) -> None:
        settings.voice = self.voice.currentText().strip()
        settings.model = self.model.text().strip()
        settings.language = self.language.text().strip()
        settings.system_instruction = self.instruction.toPlainText().strip()

    def problems(self) -> list[str]:
        return [] if self.voice.currentText().strip() else ["Choose a voice."]

    def refresh(self) -> None:
        problems = self.problems()
        self.voice_note.show_note("error", problems[0] if problems else "")

    @Slot()
    def on_edited(self) -> None:
        self.refresh()
        self.changed.emit()
