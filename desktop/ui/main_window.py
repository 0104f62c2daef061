"""The main window: shows state it is given and emits what the user asks for.

It never touches sockets, audio devices or asyncio. The composition root
connects the intent signals (``text_submitted``, ``talk_started``, ...) to the
controller and the controller's state to the ``set_*`` slots. All wiring
inside the window lives in :meth:`MainWindow._connect_signals`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QSize, Qt, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desktop.transcript import TranscriptModel

from .banner import ErrorBanner, user_text
from .level_meter import LevelMeter
from .push_to_talk import PushToTalk, SpaceToTalk
from .resources import APP_ICON_SIZES, load_icon, load_stylesheet
from .status import MicIndicator, StatusBar, repolish
from .transcript_view import TranscriptView

__all__ = ["MINIMUM_SIZE", "TITLE", "MainWindow"]

TITLE = "Voice Desktop"
MINIMUM_SIZE = QSize(480, 600)
_NOTICE_MS = 5000
_ERROR_MS = 15000
_TALK_IDLE = "Hold to talk"
_TALK_ACTIVE = "Release to send"
#: Button labels by talk mode: (idle, held). In open-mic mode holding the key mutes.
_TALK_LABELS = {"push_to_talk": (_TALK_IDLE, _TALK_ACTIVE), "open_mic": ("Hold to mute", "Release to unmute")}
_ACCENT_ON = "#ffffff"
_ICON_MUTED = "#5b6470"


class MainWindow(QMainWindow):
    """Transcript, talk controls, a text box, and the state of mic and connection."""

    # Intents: what the user asked for. The window does nothing else about them.
    text_submitted = Signal(str)
    talk_started = Signal()
    talk_stopped = Signal()
    reset_requested = Signal()
    retry_requested = Signal()
    settings_requested = Signal()
    history_requested = Signal()
    diagnostics_requested = Signal()
    quit_requested = Signal()  # Ctrl+Q / Conversation → Quit: the app shuts down, then exits

    def __init__(self, parent: QWidget | None = None, *, clock: Callable[[], float] = time.monotonic,
                 stylesheet: str | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(TITLE)
        self.setObjectName("mainWindow")
        self.setMinimumSize(MINIMUM_SIZE)
        self.resize(560, 720)
        icon = load_icon("voice-desktop", sizes=APP_ICON_SIZES)
        if not icon.isNull():
            self.setWindowIcon(icon)
        self.setStyleSheet(load_stylesheet() if stylesheet is None else stylesheet)

        self.talk = PushToTalk(self)
        self._build_actions()
        self._build_body()
        self.status = StatusBar(self, clock=clock)
        self.setStatusBar(self.status)
        self._space = SpaceToTalk(self, self.talk)
        self._connect_signals()
        self.transcript.setFocus()

    # -- construction ---------------------------------------------------------

    def _build_actions(self) -> None:
        # "New conversation" (was "Reset"): the old one stays in History. Ctrl+Shift+R kept for old hands.
        self.reset_action = QAction(load_icon("reset", _ICON_MUTED), "&New conversation", self)
        self.reset_action.setShortcuts([QKeySequence(QKeySequence.StandardKey.New), QKeySequence("Ctrl+Shift+R")])
        self.reset_action.setStatusTip("Start a new conversation; this one stays in History")
        self.history_action = QAction("&History…", self)
        self.history_action.setShortcut(QKeySequence("Ctrl+H"))
        self.history_action.setStatusTip("Find, read, export or delete past conversations")
        self.diagnostics_action = QAction("&Diagnostics…", self)
        self.diagnostics_action.setStatusTip("Time to first audio, jitter buffer, round trip, dropped audio")
        self.settings_action = QAction(load_icon("settings", _ICON_MUTED), "&Settings…", self)
        # Preferences has no binding on many Linux desktops: Ctrl+, is the common fallback.
        self.settings_action.setShortcuts(
            [*QKeySequence.keyBindings(QKeySequence.StandardKey.Preferences), QKeySequence("Ctrl+,")])
        self.settings_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.quit_action = QAction("&Quit", self)
        # Some platforms (and Qt's offscreen one) bind nothing to StandardKey.Quit: Ctrl+Q always works.
        quit_keys = QKeySequence.keyBindings(QKeySequence.StandardKey.Quit)
        self.quit_action.setShortcuts(quit_keys + [key for key in [QKeySequence("Ctrl+Q")] if key not in quit_keys])
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)

        menu = self.menuBar().addMenu("&Conversation")
        menu.addAction(self.reset_action)
        menu.addAction(self.history_action)
        menu.addAction(self.diagnostics_action)
        menu.addSeparator()
        menu.addAction(self.settings_action)
        menu.addSeparator()
        menu.addAction(self.quit_action)

    def _build_body(self) -> None:
        self.banner = ErrorBanner()
        self.transcript = TranscriptView()
        self.transcript.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

        self.mic = MicIndicator()
        self.level_meter = LevelMeter()
        self.talk_button = QPushButton(load_icon("mic", _ACCENT_ON), _TALK_IDLE)
        self.talk_button.setObjectName("talkButton")
        self.talk_button.setIconSize(QSize(20, 20))
        self.talk_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.talk_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.talk_button.setToolTip("Hold this button, or hold Space, and speak")
        self.talk_button.setAccessibleName("Push to talk")
        self.talk_button.setProperty("talking", False)

        self.input = QLineEdit()
        self.input.setObjectName("messageInput")
        self.input.setPlaceholderText("Type a message…")
        self.input.setAccessibleName("Message")
        self.input.setClearButtonEnabled(False)
        self.send_button = QPushButton(load_icon("send", _ACCENT_ON), "Send")
        self.send_button.setObjectName("sendButton")
        self.send_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.send_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.send_button.setToolTip("Send (Enter)")
        self.send_button.setEnabled(False)

        voice = QHBoxLayout()
        voice.setSpacing(12)
        meter = QVBoxLayout()
        meter.setSpacing(6)
        meter.addWidget(self.mic)
        meter.addWidget(self.level_meter)
        voice.addLayout(meter, 1)
        voice.addWidget(self.talk_button)

        typed = QHBoxLayout()
        typed.setSpacing(8)
        typed.addWidget(self.input, 1)
        typed.addWidget(self.send_button)

        controls = QFrame()
        controls.setObjectName("controls")
        panel = QVBoxLayout(controls)
        panel.setContentsMargins(16, 12, 16, 14)
        panel.setSpacing(12)
        panel.addLayout(voice)
        panel.addLayout(typed)

        central = QWidget()
        central.setObjectName("central")
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.banner)
        column.addWidget(self.transcript, 1)
        column.addWidget(controls)
        self.setCentralWidget(central)

        # Room for either label (measured once styled), so the layout does not jump when talking starts.
        self.talk_button.ensurePolished()
        widest = max(self.talk_button.fontMetrics().horizontalAdvance(t)
                     for labels in _TALK_LABELS.values() for t in labels)
        self.talk_button.setMinimumWidth(widest + self.talk_button.iconSize().width() + 56)

    def _connect_signals(self) -> None:
        """Every connection inside the window, in one place."""
        self.talk_button.pressed.connect(self.talk.press)
        self.talk_button.released.connect(self.talk.release)
        self.talk.started.connect(self.on_talk_started)
        self.talk.stopped.connect(self.on_talk_stopped)
        self.talk.started.connect(self.talk_started)
        self.talk.stopped.connect(self.talk_stopped)

        self.input.returnPressed.connect(self.on_submit)
        self.input.textChanged.connect(self.on_input_changed)
        self.send_button.clicked.connect(self.on_submit)

        self.reset_action.triggered.connect(self.reset_requested)
        self.settings_action.triggered.connect(self.settings_requested)
        self.history_action.triggered.connect(self.history_requested)
        self.diagnostics_action.triggered.connect(self.diagnostics_requested)
        self.quit_action.triggered.connect(self.quit_requested)
        self.quit_action.triggered.connect(self.close)
        self.status.retry_requested.connect(self.retry_requested)

    # -- state in (slots) -------------------------------------------------------

    @Slot(object)
    def set_transcript_model(self, model: TranscriptModel | None) -> None:
        self.transcript.set_model(model)

    @Slot(str, str)
    def set_connection_state(self, state: str, reason: str = "") -> None:
        """``connecting`` / ``connected`` / ``reconnecting`` / ``disconnected`` / ``error``."""
        self.status.connection.set_state(state, reason)

    @Slot(float)
    def set_retry_countdown(self, seconds: float) -> None:
        """Seconds until the next automatic reconnect; 0 hides the countdown."""
        self.status.connection.set_retry_countdown(seconds)

    @Slot(str, str)
    def set_mic_state(self, state: str, reason: str = "") -> None:
        """``off`` / ``listening`` / ``muted`` / ``unavailable``."""
        self.mic.set_state(state, reason)
        self.level_meter.setEnabled(state == "listening")
        if state != "listening":
            self.level_meter.reset()

    @Slot(float)
    def set_level(self, dbfs: float) -> None:
        self.level_meter.set_level(dbfs)

    @Slot(str)
    def show_error(self, text: str) -> None:
        """Show an error without blocking: a banner above the transcript and the status bar."""
        text = user_text(text)
        self.banner.show_error(text)
        self.status.show_message(text, _ERROR_MS)

    @Slot(str)
    def show_notice(self, text: str) -> None:
        """A passing remark (e.g. "Gemini session resumed") in the status bar."""
        self.status.show_message(user_text(text), _NOTICE_MS)

    @Slot(str, str)
    def set_assistant(self, name: str, about: str) -> None:
        """Who answers ("Offline assistant", "Gemini", "Remote: host"), and what it can do and how to get
        more, shown in the status bar and on the empty conversation."""
        self.status.set_assistant(name)
        self.transcript.set_about(name, about)

    @Slot(str)
    def set_loading(self, text: str) -> None:
        """Progress of a slow start ("Loading offline speech… 2 of 3"); ``""`` when done."""
        self.status.set_loading(text)

    @Slot(bool)
    def set_talk_enabled(self, enabled: bool) -> None:
        """Allow or forbid talking; forbidding it mid-talk ends the talk."""
        self.talk.set_enabled(enabled)
        self.talk_button.setEnabled(enabled)

    # -- user actions (internal slots) -------------------------------------------

    @Slot()
    def on_submit(self) -> None:
        text = self.input.text().strip()
        if not text:
            return
        self.input.clear()
        self.text_submitted.emit(text)

    @Slot(str)
    def on_input_changed(self, text: str) -> None:
        self.send_button.setEnabled(bool(text.strip()))

    @Slot()
    def on_talk_started(self) -> None:
        self._show_talking(True)

    @Slot()
    def on_talk_stopped(self) -> None:
        self._show_talking(False)

    @Slot(str)
    def set_talk_key(self, portable_text: str) -> None:
        """The key held to talk (Settings → Keys), e.g. ``"Space"`` or ``"F8"``."""
        if not self._space.set_key(portable_text):
            self.show_error(f"{portable_text!r} cannot be used as the talk key; keeping the previous one.")
            return
        self._talk_key_name = QKeySequence(portable_text).toString(QKeySequence.SequenceFormat.NativeText)
        self._show_talk_hint()

    def _show_talk_hint(self) -> None:
        self.transcript.set_talk_hint(getattr(self, "_talk_key_name", "Space"),
                                      open_mic=getattr(self, "_talk_mode", "") == "open_mic")

    @Slot(str)
    def set_talk_mode(self, mode: str) -> None:
        """``push_to_talk`` (hold to talk) or ``open_mic`` (always listening, hold to mute)."""
        if mode not in _TALK_LABELS:
            raise ValueError(f"unknown talk mode {mode!r}")
        self._talk_mode = mode
        self._show_talking(self.talk.talking)
        self._show_talk_hint()

    def _show_talking(self, talking: bool) -> None:
        idle, held = _TALK_LABELS[getattr(self, "_talk_mode", "push_to_talk")]
        self.talk_button.setText(held if talking else idle)
        self.talk_button.setProperty("talking", talking)
        repolish(self.talk_button)

    # -- losing the keyboard ends a talk -------------------------------------------

    def _release_talk(self) -> None:
        """The Space release will never reach us: stop now rather than talk forever."""
        self._space.cancel()
        self.talk.release()

    def event(self, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.WindowDeactivate, QEvent.Type.Hide) or (
                kind == QEvent.Type.ActivationChange and not self.isActiveWindow()):
            self._release_talk()
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape and self.input.hasFocus():
            # Leave the text box so Space talks again.
            self.transcript.setFocus()
            return
        text = event.text()
        plain = not (event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
                                          | Qt.KeyboardModifier.MetaModifier))
        if plain and text and text.isprintable() and not text.isspace() and not self.input.hasFocus():
            # Typing anywhere in the window starts a message, as in chat apps (Space still talks).
            self.input.setFocus()
            self.input.insert(text)
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._release_talk()
        super().closeEvent(event)
