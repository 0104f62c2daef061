"""Push-to-talk: the one place that knows whether the user is talking.

The talk button and the Space bar both drive a single :class:`PushToTalk`, so
holding both never starts twice and releasing either stops once.
:class:`SpaceToTalk` turns Space presses anywhere in a window into
press/release, except in text fields, where Space types a space.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

__all__ = ["PushToTalk", "SpaceToTalk", "is_text_entry"]


class PushToTalk(QObject):
    """Talking or not; ``started``/``stopped`` fire exactly once per talk."""

    started = Signal()
    stopped = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._talking = False
        self._enabled = True

    @property
    def talking(self) -> bool:
        return self._talking

    @property
    def enabled(self) -> bool:
        return self._enabled

    @Slot()
    def press(self) -> None:
        if self._enabled and not self._talking:
            self._talking = True
            self.started.emit()

    @Slot()
    def release(self) -> None:
        if self._talking:
            self._talking = False
            self.stopped.emit()

    @Slot(bool)
    def set_enabled(self, enabled: bool) -> None:
        """Disabling while talking stops the talk (the mic went away under the user's finger)."""
        self._enabled = enabled
        if not enabled:
            self.release()


def is_text_entry(widget: QObject | None) -> bool:
    """Whether Space typed into ``widget`` is text, not a talk key.

    An empty line edit is not: a message never starts with a space, and after
    sending one the focus is still there, where the user expects Space to talk.
    """
    if isinstance(widget, QLineEdit):
        return bool(widget.text())
    if isinstance(widget, QAbstractSpinBox):
        return True
    if isinstance(widget, QTextEdit | QPlainTextEdit):
        return not widget.isReadOnly()
    if isinstance(widget, QComboBox):
        return widget.isEditable()
    return False


class SpaceToTalk(QObject):
    """Hold Space in ``window`` to talk.

    An event filter on the window's widgets, so it sees Space before buttons
    (which would "click" on Space) and only keys aimed at ``window``.
    Auto-repeated presses and releases are swallowed; the talk ends on the real
    release, or when the window loses focus (see :meth:`PushToTalk.release`).

    A release only counts once no press follows within ``release_grace_ms``:
    where X cannot mark auto-repeat (XTEST input, some remote desktops, Xvfb)
    a held key arrives as release/press pairs a few ms apart, which would
    otherwise chop one utterance into many turns.
    """

    def __init__(self, window: QWidget, talk: PushToTalk, *, release_grace_ms: int = 60) -> None:
        super().__init__(window)
        self._window = window
        self._talk = talk
        self._held = False
        self._release_timer = QTimer(self)
        self._release_timer.setSingleShot(True)
        self._release_timer.setInterval(release_grace_ms)
        self._release_timer.timeout.connect(self._release_now)
        self._key = Qt.Key.Key_Space
        self._modifiers = Qt.KeyboardModifier.NoModifier
        # On the window's own widgets, not the application: an application-wide filter in Python runs for
        # every event of every object (building the Settings dialog alone sends thousands), and that cost the
        # GUI thread more than the dialog itself. Widgets made later get it when they take the focus.
        for widget in (window, *window.findChildren(QWidget)):
            widget.installEventFilter(self)
        app = QApplication.instance()
        if app is not None:
            app.focusChanged.connect(self._on_focus_changed)

    @Slot(QWidget, QWidget)
    def _on_focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        if new is not None and new.window() is self._window:
            new.installEventFilter(self)

    @property
    def held(self) -> bool:
        return self._held

    @property
    def key(self) -> Qt.Key:
        return self._key

    def set_key(self, portable_text: str) -> bool:
        """Talk with this key instead (``"Space"``, ``"F8"``, ``"Ctrl+Space"``); False if unusable."""
        sequence = QKeySequence.fromString(portable_text or "Space", QKeySequence.SequenceFormat.PortableText)
        if sequence.isEmpty():
            return False
        combination = sequence[0]
        self.cancel()
        self._key, self._modifiers = combination.key(), combination.keyboardModifiers()
        return True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            return False
        if not isinstance(event, QKeyEvent) or event.key() != self._key:
            if kind == QEvent.Type.KeyPress and self._release_timer.isActive():
                # Another key came between Space's release and the next press: that release was real.
                self._release_timer.stop()
                self._release_now()
            return False
        if not isinstance(watched, QWidget) or watched.window() is not self._window:
            return False
        if kind == QEvent.Type.KeyPress:
            return self._on_press(watched, event)
        return self._on_release(event)

    def _on_press(self, watched: QWidget, event: QKeyEvent) -> bool:
        if self._release_timer.isActive():
            self._release_timer.stop()  # an unmarked auto-repeat: the key never went up
            return True
        if self._held:
            return True  # auto-repeat (or a duplicate): already talking from this key
        types_text = bool(event.text()) and event.text().isprintable()
        if (types_text and is_text_entry(watched)) or event.isAutoRepeat():
            return False
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if modifiers != self._modifiers or not self._talk.enabled:
            return False
        self._held = True
        self._talk.press()
        return True

    def _on_release(self, event: QKeyEvent) -> bool:
        if not self._held:
            return False
        if event.isAutoRepeat():
            return True
        self._release_timer.start()
        return True

    @Slot()
    def _release_now(self) -> None:
        if self._held:
            self._held = False
            self._talk.release()

    @Slot()
    def cancel(self) -> None:
        """Forget a held Space (focus left the window; its release will go elsewhere)."""
        self._release_timer.stop()
        self._held = False
