"""A password field with a "Show" toggle, for tokens and API keys.

Why: a key is long and pasted; hiding it by default keeps it off screen shares,
and a toggle lets the owner check what they pasted. The text is never put in a
tooltip or accessible description.
"""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QToolButton, QWidget

__all__ = ["SecretEdit"]


class SecretEdit(QWidget):
    """A :class:`QLineEdit` in password mode plus a checkable Show/Hide button."""

    textChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, placeholder: str = "", name: str = "Secret") -> None:
        super().__init__(parent)
        self.edit = QLineEdit(self)
        self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.edit.setPlaceholderText(placeholder)
        self.edit.setAccessibleName(name)
        self.edit.setClearButtonEnabled(True)
        self.toggle = QToolButton(self)
        self.toggle.setObjectName("revealButton")
        self.toggle.setCheckable(True)
        self.toggle.setText("Show")
        self.toggle.setToolTip(f"Show or hide the {name.lower()}")
        self.toggle.setAccessibleName(f"Show {name.lower()}")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.toggle)
        self.setFocusProxy(self.edit)
        self.toggle.toggled.connect(self.on_reveal_toggled)
        self.edit.textChanged.connect(self.textChanged)

    def text(self) -> str:
        return self.edit.text()

    def setText(self, text: str) -> None:
        self.edit.setText(text)

    @property
    def revealed(self) -> bool:
        return self.edit.echoMode() == QLineEdit.EchoMode.Normal

    @Slot(bool)
    def on_reveal_toggled(self, shown: bool) -> None:
        self.edit.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)
        self.toggle.setText("Hide" if shown else "Show")
