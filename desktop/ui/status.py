"""Small state indicators: the microphone, the connection, and the status bar holding them.

Each shows a coloured dot and a short text; the reason, when there is one, is
in the text and the tooltip. They only display what they are told and emit
what the user asks for (``retry_requested``); they never decide anything.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import ClassVar

from PySide6.QtCore import QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QSizePolicy, QStatusBar, QWidget

from .elided_label import ElidedLabel

__all__ = [
    "CONNECTION_STATES",
    "MIC_STATES",
    "ConnectionIndicator",
    "MicIndicator",
    "StatusBar",
    "StatusDot",
    "repolish",
]

MIC_STATES: dict[str, tuple[str, str]] = {
    # state: (label, dot colour)
    "off": ("Mic off", "#9aa1ab"),
    "listening": ("Listening", "#22a06b"),
    "muted": ("Muted", "#d97706"),
    "unavailable": ("Mic unavailable", "#e5484d"),
}

CONNECTION_STATES: dict[str, tuple[str, str]] = {
    "connecting": ("Connecting…", "#d97706"),
    "connected": ("Connected", "#22a06b"),
    "reconnecting": ("Reconnecting…", "#d97706"),
    "disconnected": ("Disconnected", "#9aa1ab"),
    "error": ("Connection error", "#e5484d"),
}

_RETRY_STATES = frozenset({"reconnecting", "disconnected", "error"})


def repolish(widget: QWidget) -> None:
    """Re-apply the stylesheet after a dynamic property used by a QSS selector changed."""
    widget.style().unpolish(widget)
    widget.style().polish(widget)
    widget.update()


def _with_reason(label: str, reason: str) -> str:
    return f"{label}: {reason}" if reason else label


class StatusDot(QWidget):
    """A small filled circle in a state colour."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._color = QColor("#9aa1ab")
        self.setFixedSize(QSize(10, 10))

    @property
    def color(self) -> QColor:
        return QColor(self._color)

    def set_color(self, color: str) -> None:
        self._color = QColor(color)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self._color)
        painter.drawEllipse(self.rect().adjusted(1, 1, -1, -1))
        painter.end()


class _Indicator(QWidget):
    """Dot + elided text; subclasses say which states exist."""

    _states: ClassVar[dict[str, tuple[str, str]]] = {}

    def __init__(self, initial: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dot = StatusDot(self)
        self.label = ElidedLabel(parent=self)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(6)
        self._layout.addWidget(self.dot)
        self._layout.addWidget(self.label, 1)
        self._state = initial
        self._reason = ""

    @property
    def state(self) -> str:
        return self._state

    @property
    def reason(self) -> str:
        return self._reason

    def text(self) -> str:
        return self.label.text()

    def _set(self, state: str, reason: str) -> None:
        if state not in self._states:
            raise ValueError(f"unknown state {state!r}; expected one of {', '.join(self._states)}")
        self._state, self._reason = state, reason.strip()
        self._show()

    def _describe(self) -> str:
        return _with_reason(self._states[self._state][0], self._reason)

    def _show(self) -> None:
        color = self._states[self._state][1]
        text = self._describe()
        self.dot.set_color(color)
        self.label.setText(text)
        self.setToolTip(text)
        self.setAccessibleDescription(text)
        self.setProperty("state", self._state)
        self.label.setProperty("state", self._state)
        repolish(self.label)


class MicIndicator(_Indicator):
    """The microphone: off / listening / muted / unavailable (with why)."""

    _states = MIC_STATES

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("off", parent)
        self.setObjectName("micIndicator")
        self.setAccessibleName("Microphone state")
        self._show()

    @Slot(str, str)
    def set_state(self, state: str, reason: str = "") -> None:
        self._set(state, reason)


class ConnectionIndicator(_Indicator):
    """The server connection, a retry countdown, and a "Retry now" button."""

    _states = CONNECTION_STATES
    retry_requested = Signal()

    def __init__(self, parent: QWidget | None = None, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__("disconnected", parent)
        self._clock = clock
        self._deadline: float | None = None
        self.retry_button = QPushButton("Retry now", self)
        self.setObjectName("connectionIndicator")
        self.setAccessibleName("Connection state")
        self.retry_button.setObjectName("retryButton")
        # Tab reaches it (keyboard users); a click does not take the focus from the message box.
        self.retry_button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.retry_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.retry_button.clicked.connect(self.retry_requested)
        self._layout.addWidget(self.retry_button)
        self._ticker = QTimer(self)
        self._ticker.setInterval(250)
        self._ticker.timeout.connect(self.on_tick)
        self._show()

    @property
    def seconds_left(self) -> float | None:
        """Seconds until the next automatic retry, or ``None`` when none is scheduled."""
        if self._deadline is None:
            return None
        return max(0.0, self._deadline - self._clock())

    @Slot(str, str)
    def set_state(self, state: str, reason: str = "") -> None:
        if state not in _RETRY_STATES:
            self._stop_countdown()
        self._set(state, reason)

    @Slot(float)
    def set_retry_countdown(self, seconds: float) -> None:
        """Show "retrying in N s", counting down; ``seconds <= 0`` removes the countdown."""
        if seconds > 0 and math.isfinite(seconds):
            self._deadline = self._clock() + seconds
            self._ticker.start()
        else:
            self._stop_countdown()
        self._show()

    @Slot()
    def on_tick(self) -> None:
        if self.seconds_left == 0:
            self._ticker.stop()
        self._show()

    def _stop_countdown(self) -> None:
        self._deadline = None
        self._ticker.stop()

    def _describe(self) -> str:
        left = self.seconds_left
        if left is None:
            return super()._describe()
        when = "now" if left <= 0 else f"in {math.ceil(left)} s"
        if self._state == "reconnecting":
            head = f"Reconnecting {when}"
            return f"{head} — {self._reason}" if self._reason else head
        return f"{super()._describe()} — retrying {when}"

    def _show(self) -> None:
        super()._show()
        self.retry_button.setVisible(self._state in _RETRY_STATES or self._deadline is not None)


class StatusBar(QStatusBar):
    """Transient messages on the left, the connection state on the right.

    Messages use a label of our own rather than ``showMessage`` so they are
    elided instead of clipped, and the connection state keeps its room.
    (Menu status tips still use ``showMessage`` and briefly cover the message.)
    """

    retry_requested = Signal()

    def __init__(self, parent: QWidget | None = None, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(parent)
        self.setObjectName("statusBar")
        self.setSizeGripEnabled(False)
        self.setContentsMargins(10, 0, 10, 0)
        self.message = ElidedLabel(parent=self, min_chars=0)
        self.message.setObjectName("statusMessage")
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.connection = ConnectionIndicator(self, clock=clock)
        self.assistant = ElidedLabel(parent=self, min_chars=8)
        self.assistant.setObjectName("assistantName")
        self.assistant.setAccessibleName("Assistant")
        self.assistant.hide()
        self.loading = ElidedLabel(parent=self, min_chars=8)
        self.loading.setObjectName("loadingState")
        self.loading.setAccessibleName("Loading")
        self.loading.hide()
        self._expire = QTimer(self)
        self._expire.setSingleShot(True)
        self._expire.timeout.connect(self.clear_message_text)
        self.connection.retry_requested.connect(self.retry_requested)
        self.addWidget(self.message, 1)
        self.addPermanentWidget(self.loading)
        self.addPermanentWidget(self.assistant)
        self.addPermanentWidget(self.connection)

    @Slot(str)
    def set_assistant(self, name: str) -> None:
        """Who answers, beside the connection state; ``""`` hides it."""
        self.assistant.setText(name)
        self.assistant.setToolTip(f"Answering: {name}" if name else "")
        self.assistant.setVisible(bool(name))

    @Slot(str)
    def set_loading(self, text: str) -> None:
        """A start-up step in progress; ``""`` hides it."""
        self.loading.setText(text)
        self.loading.setToolTip(text)
        self.loading.setVisible(bool(text))

    def message_text(self) -> str:
        return self.message.text()

    @Slot(str, int)
    def show_message(self, text: str, timeout_ms: int = 5000) -> None:
        """Show ``text`` for ``timeout_ms`` (0 = until the next message)."""
        self.message.setText(text)
        self.message.setToolTip(text)
        if timeout_ms > 0:
            self._expire.start(timeout_ms)
        else:
            self._expire.stop()

    @Slot()
    def clear_message_text(self) -> None:
        self._expire.stop()
        self.message.clear()
        self.message.setToolTip("")
