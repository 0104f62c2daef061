"""The system-tray icon: shows what the app is doing and offers the few things worth a click.

A thin widget like the rest of ``ui/``: :meth:`TrayIcon.set_state` says what
to show, and the menu emits intents (``show_requested``, ``talk_toggled`` …)
that the composition root wires. Where there is no tray (a bare X server, some
Wayland desktops) :attr:`TrayIcon.available` is False, nothing is shown and the
app carries on with its window alone; the actions still exist, so the same
intents can be tested everywhere.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QAction, QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from .resources import load_icon

__all__ = ["TRAY_STATES", "TrayIcon"]

#: state: (tooltip text, dot colour). The dot sits on the app icon so the state reads at 16 px.
TRAY_STATES: dict[str, tuple[str, str]] = {
    "idle": ("Ready", "#9aa1ab"),
    "listening": ("Listening", "#22a06b"),
    "speaking": ("Assistant speaking", "#4f8cff"),
    "muted": ("Muted", "#d97706"),
    "disconnected": ("Disconnected", "#e5484d"),
}
_ICON_SIZES = (16, 22, 24, 32, 48, 64)


def state_icon(state: str) -> QIcon:
    """The app icon with a dot in the state's colour in its lower-right corner."""
    base = load_icon("voice-desktop", sizes=_ICON_SIZES)
    color = QColor(TRAY_STATES[state][1])
    icon = QIcon()
    for size in _ICON_SIZES:
        pixmap = base.pixmap(size, size) if not base.isNull() else QPixmap(size, size)
        if base.isNull():
            pixmap.fill(QColor("#2f5fe0"))
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        dot = max(6, size * 5 // 12)
        painter.setPen(QColor("#ffffff"))
        painter.setBrush(color)
        painter.drawEllipse(size - dot, size - dot, dot - 1, dot - 1)
        painter.end()
        icon.addPixmap(pixmap)
    return icon


class TrayIcon(QObject):
    """The tray icon and its menu: Show, Talk, Mute, Settings, Quit."""

    show_requested = Signal()
    talk_toggled = Signal(bool)  # True: start talking
    mute_toggled = Signal(bool)  # True: mute
    settings_requested = Signal()
    quit_requested = Signal()

    def __init__(self, parent: QObject | None = None, *, title: str = "Voice Desktop") -> None:
        super().__init__(parent)
        self._title = title
        self._state = "disconnected"
        self._icons = {state: state_icon(state) for state in TRAY_STATES}
        self.menu = QMenu()
        self.menu.setAccessibleName(f"{title} tray menu")
        self.show_action = QAction("&Show Voice Desktop", self)
        self.talk_action = QAction("&Talk", self)
        self.talk_action.setCheckable(True)
        self.talk_action.setStatusTip("Start talking; choose again to send")
        self.mute_action = QAction("&Mute microphone", self)
        self.mute_action.setCheckable(True)
        self.settings_action = QAction("S&ettings…", self)
        self.quit_action = QAction("&Quit", self)
        for action in (self.show_action, self.talk_action, self.mute_action):
            self.menu.addAction(action)
        self.menu.addSeparator()
        self.menu.addAction(self.settings_action)
        self.menu.addSeparator()
        self.menu.addAction(self.quit_action)

        self.icon = QSystemTrayIcon(self._icons[self._state], self)
        self.icon.setContextMenu(self.menu)
        self._connect_signals()
        self._show_state()

    def _connect_signals(self) -> None:
        self.show_action.triggered.connect(self.show_requested)
        self.talk_action.triggered.connect(self.talk_toggled)
        self.mute_action.triggered.connect(self.mute_toggled)
        self.settings_action.triggered.connect(self.settings_requested)
        self.quit_action.triggered.connect(self.quit_requested)
        self.icon.activated.connect(self.on_activated)

    # -- state in ---------------------------------------------------------------

    @property
    def available(self) -> bool:
        """Whether the desktop has a tray to show the icon in (it may appear later)."""
        return QSystemTrayIcon.isSystemTrayAvailable()

    @property
    def visible(self) -> bool:
        return self.icon.isVisible()

    @property
    def state(self) -> str:
        return self._state

    def tooltip(self) -> str:
        return self.icon.toolTip()

    def show(self) -> bool:
        """Show the icon if there is a tray; False (and nothing shown) where there is none."""
        if not self.available:
            return False
        self.icon.show()
        return True

    def hide(self) -> None:
        self.icon.hide()

    def close(self) -> None:
        """Hide and let go of the menu in a fixed order (a parentless menu freed by Python's GC at a random
        moment, while the icon still points at it, crashed a test run)."""
        self.icon.hide()
        self.icon.setContextMenu(None)
        self.menu.deleteLater()

    @Slot(str)
    def set_state(self, state: str) -> None:
        """``idle`` / ``listening`` / ``speaking`` / ``muted`` / ``disconnected``."""
        if state not in TRAY_STATES:
            raise ValueError(f"unknown tray state {state!r}; expected one of {', '.join(TRAY_STATES)}")
        if state != self._state:
            self._state = state
            self._show_state()

    @Slot(bool)
    def set_talking(self, talking: bool) -> None:
        self.talk_action.setChecked(talking)
        self.talk_action.setText("Stop &talking" if talking else "&Talk")

    @Slot(bool)
    def set_muted(self, muted: bool) -> None:
        self.mute_action.setChecked(muted)

    @Slot(bool)
    def set_talk_enabled(self, enabled: bool) -> None:
        self.talk_action.setEnabled(enabled)

    def notify(self, text: str) -> None:
        """A passing balloon (e.g. "still running in the tray"), where the tray can show one."""
        if self.visible and QSystemTrayIcon.supportsMessages():
            self.icon.showMessage(self._title, text, self._icons[self._state], 8000)

    def _show_state(self) -> None:
        self.icon.setIcon(self._icons[self._state])
        self.icon.setToolTip(f"{self._title}: {TRAY_STATES[self._state][0]}")

    # -- user actions -------------------------------------------------------------

    @Slot(QSystemTrayIcon.ActivationReason)
    def on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.show_requested.emit()
