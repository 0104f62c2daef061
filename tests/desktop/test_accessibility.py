"""Screen readers and keyboards: every control in the window and in Settings has a name, and Tab reaches it.

Walks the real widget trees (offscreen). Qt-internal children (the line edit inside a spin box, a combo box's
popup list, a line edit's clear button) belong to their parent control and are skipped.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QKeySequenceEdit,
    QLineEdit,
    QPlainTextEdit,
    QTabBar,
    QTextEdit,
    QWidget,
)

from desktop.settings import Settings
from desktop.transcript import TranscriptModel
from desktop.ui.main_window import MainWindow
from desktop.ui.settings_dialog import SettingsDialog

CONTROLS = (QAbstractButton, QLineEdit, QComboBox, QAbstractSpinBox, QKeySequenceEdit, QPlainTextEdit, QTextEdit,
            QTabBar)
#: Controls kept out of the Tab chain on purpose, and the key that does their job instead.
KEYBOARD_ALTERNATIVES = {"talkButton": "Space (or the talk key)", "sendButton": "Enter in the message box"}


def _internal(widget: QWidget) -> bool:
    parent = widget.parentWidget()
    return (widget.objectName().startswith("qt_") or isinstance(widget, QAbstractItemView)
            or isinstance(parent, (QAbstractSpinBox, QKeySequenceEdit, QComboBox))
            or (isinstance(parent, QLineEdit) and isinstance(widget, QAbstractButton)))


def controls(top: QWidget) -> list[QWidget]:
    return [w for w in top.findChildren(QWidget) if isinstance(w, CONTROLS) and w.isVisible() and not _internal(w)]


def accessible_name(widget: QWidget) -> str:
    interface = QAccessible.queryAccessibleInterface(widget)
    return interface.text(QAccessible.Text.Name).strip() if interface is not None else ""


def tab_chain(top: QWidget) -> list[QWidget]:
    """Widgets Tab visits, in order, starting from the window's first one."""
    chain, widget = [], top.nextInFocusChain()
    while widget is not top and widget not in chain:
        if widget.isVisible() and widget.isEnabled() and widget.focusPolicy() & Qt.FocusPolicy.TabFocus:
            chain.append(widget)
        widget = widget.nextInFocusChain()
    return chain


def check(top: QWidget) -> list[str]:
    problems = []
    chain = tab_chain(top)
    for widget in controls(top):
        label = f"{type(widget).__name__} {widget.objectName() or widget.toolTip() or ''}".strip()
        if not accessible_name(widget):
            problems.append(f"{label}: no accessible name")
        reachable = any(widget is c or widget.isAncestorOf(c) or c.isAncestorOf(widget) for c in chain)
        if widget.isEnabled() and not reachable and widget.objectName() not in KEYBOARD_ALTERNATIVES:
            problems.append(f"{label} ({accessible_name(widget)!r}): not reachable with Tab")
    return problems


@pytest.fixture
def window(qapp):
    window = MainWindow()
    model = TranscriptModel()
    model.add_typed("hello", sent=True)
    window.set_transcript_model(model)
    window.show()
    qapp.processEvents()
    yield window
    window.close()


def test_main_window_controls_have_names_and_keyboard_access(window):
    assert check(window) == []
    for name in KEYBOARD_ALTERNATIVES:
        widget = window.findChild(QWidget, name)
        assert widget is not None and accessible_name(widget), name


def test_main_window_tab_order_reads_top_to_bottom(window):
    chain = tab_chain(window)
    tops = [w.mapTo(window, w.rect().topLeft()).y() for w in chain]
    assert chain and tops == sorted(tops), [(type(w).__name__, accessible_name(w)) for w in chain]
    assert window.input in chain


def test_transcript_turns_are_readable(window):
    window.transcript.flush()
    names = [accessible_name(w) for w in window.transcript.findChildren(QWidget)]
    assert any("hello" in name for name in names), names


def test_every_settings_page_has_names_and_keyboard_access(window, qapp):
    dialog = SettingsDialog(Settings(), parent=window)
    dialog.show()
    qapp.processEvents()
    problems = []
    for index in range(dialog.tabs.count()):
        dialog.tabs.setCurrentIndex(index)
        qapp.processEvents()
        problems += [f"{dialog.tabs.tabText(index)}: {p}" for p in check(dialog)]
    dialog.close()
    assert problems == []
