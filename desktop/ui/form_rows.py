"""Small helpers the Settings pages share for building form rows.

Why: every field in the dialog has a label with a mnemonic (keyboard access),
often a note under it and sometimes a hint; building those the same way keeps
the pages short and the look consistent.
"""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

__all__ = ["add_row", "choice", "hint_label", "row", "stack"]

CHOICE_MIN_CHARS = 18


def choice(parent: QWidget, accessible_name: str) -> QComboBox:
    """A drop-down that does not widen the page to its longest item (a long processor title or device name
    made the whole page scroll sideways); the open list still shows items whole."""
    combo = QComboBox(parent)
    combo.setAccessibleName(accessible_name)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(CHOICE_MIN_CHARS)
    return combo


def hint_label(text: str, parent: QWidget) -> QLabel:
    """Secondary text explaining a field (grey, wrapped)."""
    label = QLabel(text, parent)
    label.setObjectName("hint")
    label.setWordWrap(True)
    return label


def stack(parent: QWidget, *widgets: QWidget) -> QWidget:
    """Widgets one under the other (a field and its notes), as one form field."""
    box = QWidget(parent)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(4)
    for widget in widgets:
        layout.addWidget(widget)
    return box


def row(parent: QWidget, *widgets: QWidget, stretch_first: bool = True) -> QWidget:
    """Widgets side by side; the first one takes the spare width, or (``stretch_first=False``) none does."""
    box = QWidget(parent)
    layout = QHBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(8)
    for i, widget in enumerate(widgets):
        layout.addWidget(widget, 1 if (i == 0 and stretch_first) else 0)
    if not stretch_first:
        layout.addStretch(1)
    return box


def add_row(form: QFormLayout, text: str, field: QWidget, buddy: QWidget | None = None) -> QLabel:
    """Add ``text: field``; the label's mnemonic (``&``) focuses ``buddy`` (default: ``field``)."""
    label = QLabel(text, field.parentWidget())
    label.setBuddy(buddy or field)
    form.addRow(label, field)
    return label
