"""A field that records one key (with modifiers) for push-to-talk, without trapping the keyboard.

Why: a plain :class:`QKeySequenceEdit` records *every* key, Tab and Escape
included, so a keyboard user can neither leave the field nor cancel the dialog.
Here Tab/Shift+Tab move focus and Escape goes to the dialog; any other key
(with its modifiers) becomes the hotkey. The value is stored as Qt's portable
text (``"Space"``, ``"F8"``, ``"Ctrl+Alt+T"``), the same on every platform.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import QKeySequenceEdit, QWidget

__all__ = ["DEFAULT_HOTKEY", "HotkeyEdit"]

DEFAULT_HOTKEY = "Space"
_PASS_THROUGH = frozenset({Qt.Key.Key_Tab, Qt.Key.Key_Backtab, Qt.Key.Key_Escape})


class HotkeyEdit(QKeySequenceEdit):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMaximumSequenceLength(1)
        self.setClearButtonEnabled(True)
        self.setAccessibleName("Push-to-talk key")
        self.setToolTip("Click, then press the key to hold while talking")

    def portable_text(self) -> str:
        """The key as Qt's portable text; ``""`` when cleared."""
        return self.keySequence().toString(QKeySequence.SequenceFormat.PortableText)

    def set_portable_text(self, text: str) -> None:
        self.setKeySequence(QKeySequence.fromString(text, QKeySequence.SequenceFormat.PortableText))

    def event(self, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride) and isinstance(event, QKeyEvent):
            modifiers = event.modifiers() & ~(Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier)
            if event.key() in _PASS_THROUGH and modifiers == Qt.KeyboardModifier.NoModifier:
                if event.type() == QEvent.Type.ShortcutOverride:
                    event.ignore()
                    return False
                if event.key() == Qt.Key.Key_Escape:
                    event.ignore()  # goes on to the dialog, which cancels
                    return False
                self.focusNextPrevChild(event.key() == Qt.Key.Key_Tab)
                return True
        return super().event(event)
