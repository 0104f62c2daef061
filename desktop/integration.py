"""Desktop integration: the tray, the global talk key, one instance, close-to-tray, earcons.

Why a module of its own next to ``app.py``: these parts only connect things
that already exist (the window's :class:`PushToTalk`, the controller's state
signals, the settings) and must keep working while ``app.py`` changes; the
composition root builds one :class:`DesktopIntegration` and hands it new
settings. Every talk source (button, in-window key, global key, tray) goes
through the window's single :class:`PushToTalk`, so they can never disagree.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Slot

from desktop.earcons import RATE as EARCON_RATE
from desktop.earcons import earcon
from desktop.global_hotkey import GlobalHotkey, HotkeyError, support, support_note
from desktop.single_instance import SingleInstance
from desktop.ui.tray import TrayIcon

__all__ = ["DesktopIntegration", "tray_state"]

log = logging.getLogger(__name__)

TRAY_NOTICE = ("Voice Desktop is still running in the tray. Choose Quit from its menu to end it, or turn this "
               "off in Settings → Keys.")


def tray_state(*, connection: str, mic: str, talking: bool, speaking: bool, muted: bool) -> str:
    """What the tray shows, most important first: no server, muted, you talking, it talking, idle."""
    if connection != "connected":
        return "disconnected"
    if muted or mic == "muted":
        return "muted"
    if talking:
        return "listening"
    if speaking:
        return "speaking"
    return "listening" if mic == "listening" else "idle"


class DesktopIntegration(QObject):
    def __init__(self, app, instance: SingleInstance | None, quit: Callable[[], None]) -> None:
        super().__init__(app.window)
        self.app = app
        self.window = app.window
        self.controller = app.controller
        self.instance = instance
        self._quit = quit
        self.tray = TrayIcon(self)
        self.hotkey = GlobalHotkey(self)
        self.muted = False
        self.quitting = False
        self._closed = False
        self._connection = "connecting"
        self._mic = "off"
        self._open_replies: set[int] = set()
        self._said: set[str] = set()  # notices said once per run
        self._connect_signals()
        self.tray_shown = self.tray.show()
        log.info("Tray icon shown" if self.tray_shown else "No system tray here; the window alone it is")
        self.apply(app.settings)
        self._refresh()

    def _connect_signals(self) -> None:
        talk = self.window.talk
        if self.instance is not None:
            self.instance.activated.connect(self.on_activation_requested)
        self.tray.show_requested.connect(self.show_window)
        self.tray.talk_toggled.connect(self.on_tray_talk)
        self.tray.mute_toggled.connect(self.set_muted)
        self.tray.settings_requested.connect(self.on_settings)
        self.tray.quit_requested.connect(self.quit)
        self.hotkey.pressed.connect(self.on_hotkey_pressed)
        self.hotkey.released.connect(self.on_hotkey_released)
        talk.started.connect(self.on_talk_started)
        talk.stopped.connect(self.on_talk_stopped)
        self.controller.connection_changed.connect(self.on_connection_changed)
        self.controller.mic_changed.connect(self.on_mic_changed)
        # Connected after the window's own slot, so a mute outlasts "connected, you may talk".
        self.controller.talk_enabled.connect(self.on_talk_enabled)
        self._unsubscribe = self.app.transcript.subscribe(self.on_turn, self.on_cleared)
        self.window.installEventFilter(self)

    # -- settings ---------------------------------------------------------------------

    def apply(self, settings) -> None:
        """(Re)start the global key from ``settings``; unusable keys are said once in words."""
        self.settings = settings
        self.hotkey.stop()
        if not settings.global_hotkey:
            return
        ok, why = support()
        if not ok:
            self._say_once(why, "unsupported")
            return
        try:
            self.hotkey.start(settings.global_hotkey)
        except HotkeyError as exc:
            self.window.show_error(f"The global talk key {settings.global_hotkey} cannot be used: {exc}")
            return
        if note := support_note():
            self._say_once(note, "note")

    def _say_once(self, text: str, key: str) -> None:
        if key not in self._said:
            self._said.add(key)
            log.info("%s", text)
            self.window.show_notice(text)

    # -- intents ---------------------------------------------------------------------------

    @Slot()
    def show_window(self) -> None:
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()  # the window manager may still refuse to move the focus

    @Slot()
    def on_activation_requested(self) -> None:
        self.show_window()
        log.info("Window shown and raised for another launch")

    @Slot()
    def on_settings(self) -> None:
        self.show_window()
        self.app.open_settings()

    @Slot()
    def quit(self) -> None:
        self.quitting = True
        self.close()
        self.window.close()
        self._quit()

    @Slot(bool)
    def on_tray_talk(self, start: bool) -> None:
        if start:
            self.window.talk.press()
        else:
            self.window.talk.release()
        self.tray.set_talking(self.window.talk.talking)  # a refused start leaves it unchecked

    @Slot()
    def on_hotkey_pressed(self) -> None:
        talk = self.window.talk
        if self.settings.global_hotkey_mode == "toggle" and talk.talking:
            talk.release()
        else:
            talk.press()

    @Slot()
    def on_hotkey_released(self) -> None:
        if self.settings.global_hotkey_mode != "toggle":
            self.window.talk.release()

    @Slot(bool)
    def set_muted(self, muted: bool) -> None:
        """Mute: no talk starts until unmuted (open mic: the stream is muted too)."""
        self.muted = muted
        self.tray.set_muted(muted)
        if self.controller.talk_mode == "open_mic":
            (self.controller.on_talk_started if muted else self.controller.on_talk_stopped)()
        elif muted:
            self.window.talk.set_enabled(False)
        else:
            self.window.talk.set_enabled(self._connection == "connected")
        self._refresh()

    # -- state in ----------------------------------------------------------------------------

    @Slot(bool)
    def on_talk_enabled(self, enabled: bool) -> None:
        if self.muted and self.controller.talk_mode != "open_mic":
            self.window.talk.set_enabled(False)
        self.tray.set_talk_enabled(enabled and not self.muted)

    @Slot()
    def on_talk_started(self) -> None:
        self.tray.set_talking(True)
        self._earcon("start")
        self._refresh()

    @Slot()
    def on_talk_stopped(self) -> None:
        self.tray.set_talking(False)
        self._earcon("stop")
        self._refresh()

    @Slot(str, str)
    def on_connection_changed(self, state: str, reason: str) -> None:
        self._connection = state
        self._refresh()

    @Slot(str, str)
    def on_mic_changed(self, state: str, reason: str) -> None:
        self._mic = state
        self._refresh()

    def on_turn(self, turn, is_new: bool) -> None:
        if turn.is_user:
            return
        if turn.is_open:
            self._open_replies.add(turn.id)
        else:
            self._open_replies.discard(turn.id)
        self._refresh()

    def on_cleared(self) -> None:
        self._open_replies.clear()
        self._refresh()

    def _refresh(self) -> None:
        state = tray_state(connection=self._connection, mic=self._mic, talking=self.window.talk.talking,
                           speaking=bool(self._open_replies), muted=self.muted)
        if state != self.tray.state:
            log.debug("Tray state: %s", state)
        self.tray.set_state(state)

    def _earcon(self, kind: str) -> None:
        player = self.controller.player
        if not getattr(self.settings, "earcons", False) or player is None:
            return
        try:
            player.feed(earcon(kind), EARCON_RATE)
            player.mark_end()  # play now, not once the jitter buffer would fill
        except (RuntimeError, ValueError) as exc:
            log.debug("No earcon: %s", exc)

    # -- closing the window ----------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Only the window manager's close (spontaneous) goes to the tray; Quit and Ctrl+Q really quit.
        if (watched is getattr(self, "window", None) and event.type() == QEvent.Type.Close and event.spontaneous()
                and not self.quitting and self.settings.close_to_tray and self.tray.visible):
            event.ignore()
            self.window.hide()
            log.info("Window closed: still running in the tray")
            if not self.settings.tray_notice_shown:
                self.settings.tray_notice_shown = True
                self.tray.notify(TRAY_NOTICE)
                self._save_settings()
            return True
        return False

    def _save_settings(self) -> None:
        try:
            self.app.store.save(self.settings)
        except RuntimeError as exc:  # a keyring problem; the plain values were saved first
            log.warning("%s", exc)

    def close(self) -> None:
        """At quit: stop the listener threads, hide the icon, free the instance name."""
        self.hotkey.stop()
        if not self._closed:
            self._closed = True
            self.tray.close()
        self._unsubscribe()
        self.window.removeEventFilter(self)
        if self.instance is not None:
            self.instance.close()
