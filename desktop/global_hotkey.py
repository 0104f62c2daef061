"""A talk key that works while another window has focus (X11, Windows, macOS through pynput).

Why its own module: the in-window key (``ui/push_to_talk.py``) only sees keys
Qt delivers to our window. This listens to the whole desktop without stealing
keys, which pynput does through XRecord on X11, a low-level hook on Windows and
an event tap on macOS (which needs the Accessibility permission).

Where it cannot work, :func:`support` says why in one sentence (no pynput,
Wayland without XWayland) and :class:`GlobalHotkey` emits nothing; the
in-window key keeps working.

Threading: pynput calls back on its own thread. Those callbacks only update
the key state under a lock and emit Qt signals, which Qt queues to the
receiver's (GUI) thread. A held key is re-checked against the keyboard's real
state every ``poll_ms`` on a small watchdog thread (X11 and Windows), so a
key-up that never reaches us (a grab, a focus change, a lost event) still
ends the talk.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

__all__ = ["GlobalHotkey", "HotkeyError", "parse_hotkey", "support"]

log = logging.getLogger(__name__)

POLL_MS = 150
#: Qt portable names that differ from pynput's ``Key`` member names.
_QT_TO_PYNPUT = {
    "space": "space", "pgup": "page_up", "pgdown": "page_down", "scrolllock": "scroll_lock",
    "numlock": "num_lock", "capslock": "caps_lock", "print": "print_screen", "esc": "esc", "escape": "esc",
    "return": "enter", "enter": "enter", "backspace": "backspace", "del": "delete", "delete": "delete",
    "ins": "insert", "insert": "insert", "pause": "pause", "home": "home", "end": "end", "menu": "menu",
    "tab": "tab", "left": "left", "right": "right", "up": "up", "down": "down",
}
_MODIFIERS = {"ctrl": "ctrl", "alt": "alt", "shift": "shift", "meta": "cmd"}


class HotkeyError(ValueError):
    """The key text cannot be listened for (the message says which part)."""


def support() -> tuple[bool, str]:
    """``(True, "")`` where a global key can work here, else ``(False, why)`` in words for the user."""
    if sys.platform.startswith("linux"):
        session = os.environ.get("XDG_SESSION_TYPE", "").lower()
        wayland = session == "wayland" or bool(os.environ.get("WAYLAND_DISPLAY"))
        if not os.environ.get("DISPLAY"):
            if wayland:
                return False, ("Global talk keys do not work on Wayland: use the talk key in the window "
                               "(or log in to an X11 session).")
            return False, "Global talk keys need an X11 display (DISPLAY is not set)."
    if importlib.util.find_spec("pynput") is None:
        return False, "Global talk keys need pynput (pip install --no-deps pynput python-xlib six)."
    try:
        import pynput.keyboard  # noqa: F401 - the backend is chosen (and the display tried) at import
    except Exception as exc:  # pynput raises ImportError, or its backends' own errors, when none can load
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return False, f"Global talk keys are unavailable here: {first}"
    return True, ""


def support_note() -> str:
    """Extra words the Settings page shows next to the global key on this platform."""
    if sys.platform == "darwin":
        return ("macOS asks for the Accessibility permission (System Settings → Privacy & Security → "
                "Accessibility) before other apps' keys can be seen.")
    if sys.platform.startswith("linux") and os.environ.get("WAYLAND_DISPLAY") and os.environ.get("DISPLAY"):
        return "On Wayland the key is seen only while an X11 (XWayland) window has focus."
    return ""


def parse_hotkey(portable_text: str):
    """``"F8"``, ``"Ctrl+Alt+T"`` → ``(main key, frozenset of modifier keys)`` as pynput keys."""
    from pynput import keyboard

    parts = [p for p in portable_text.replace(" ", "").split("+") if p] if portable_text else []
    if portable_text.endswith("++"):
        parts.append("+")
    if not parts:
        raise HotkeyError("No key chosen.")
    *modifier_names, main_name = parts
    modifiers = set()
    for name in modifier_names:
        member = _MODIFIERS.get(name.lower())
        if member is None:
            raise HotkeyError(f"{name!r} is not a modifier (Ctrl, Alt, Shift or Meta).")
        modifiers.add(getattr(keyboard.Key, member))
    lower = main_name.lower()
    if len(main_name) == 1:
        main = keyboard.KeyCode.from_char(lower)
    elif lower in _QT_TO_PYNPUT:
        main = getattr(keyboard.Key, _QT_TO_PYNPUT[lower])
    elif lower.startswith("f") and lower[1:].isdigit() and hasattr(keyboard.Key, lower):
        main = getattr(keyboard.Key, lower)
    else:
        raise HotkeyError(f"{main_name!r} cannot be used as a global talk key.")
    return main, frozenset(modifiers)


class GlobalHotkey(QObject):
    """Emits ``pressed`` once when the key goes down and ``released`` once when it comes up.

    Auto-repeat (X11 repeats arrive as presses with one release) is ignored by
    remembering which keys are down.
    """

    pressed = Signal()
    released = Signal()

    def __init__(self, parent: QObject | None = None, *, poll_ms: int = POLL_MS) -> None:
        super().__init__(parent)
        self.poll_ms = poll_ms
        self._lock = threading.Lock()
        self._listener = None
        self._main = None
        self._modifiers: frozenset = frozenset()
        self._down: set = set()
        self._held = False
        self._is_down: Callable[[], bool | None] | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._watchdog: threading.Thread | None = None
        self.key_text = ""
        self.repeats_ignored = 0  # presses of a key already down (X11 auto-repeat), for diagnostics

    @property
    def running(self) -> bool:
        return self._listener is not None

    @property
    def held(self) -> bool:
        return self._held

    def start(self, portable_text: str) -> None:
        """Listen for ``portable_text`` (Qt's portable key text); raises :class:`HotkeyError` if unusable."""
        ok, why = support()
        if not ok:
            raise HotkeyError(why)
        from pynput import keyboard

        main, modifiers = parse_hotkey(portable_text)
        self.stop()
        listener = keyboard.Listener(on_press=self._on_press, on_release=self._on_release)
        self._main = listener.canonical(main)
        self._modifiers = frozenset(listener.canonical(m) for m in modifiers)
        self._down.clear()
        self._held = False
        listener.start()
        listener.wait()  # the backend is connected (or failed) once this returns
        if not listener.running:
            raise HotkeyError("The keyboard listener could not start on this display.")
        self._listener = listener
        self.key_text = portable_text
        self._is_down = _physical_state_probe(main)
        self._stopping.clear()
        if self._is_down is not None:
            self._watchdog = threading.Thread(target=self._watch, name="hotkey-watchdog", daemon=True)
            self._watchdog.start()
        log.info("Global talk key %s is active", portable_text)

    def stop(self) -> None:
        """Stop listening; a held key is released first."""
        listener, self._listener = self._listener, None
        if listener is not None:
            _end_x11_recording(listener)
            try:
                listener.stop()
            except Exception as exc:  # noqa: BLE001 - the recording connection already closed: it has stopped
                # Ending the recording early (above) lets pynput's thread return and close its recording
                # connection; pynput's own stop then writes to that closed connection and raises.
                log.debug("The keyboard listener had already stopped: %s", exc)
            listener.join(timeout=5)
            if listener.is_alive():
                log.warning("The keyboard listener did not stop within 5 s")
        self._stopping.set()
        self._wake.set()
        if self._watchdog is not None:
            self._watchdog.join(timeout=5)
            self._watchdog = None
        close, self._is_down = getattr(self._is_down, "close", None), None
        if close is not None:
            try:
                close()
            except Exception as exc:  # an X connection that is already gone
                log.debug("Closing the watchdog's X connection: %s", exc)
        self._wake.clear()
        self._release("stopped")
        self._down.clear()

    # -- pynput's thread ----------------------------------------------------------------

    def _on_press(self, key) -> None:
        listener = self._listener
        if listener is None or key is None:
            return
        key = listener.canonical(key)
        with self._lock:
            if key in self._down:
                self.repeats_ignored += 1
                return  # auto-repeat: the key never went up
            self._down.add(key)
            start = key == self._main and self._modifiers <= self._down and not self._held
            if start:
                self._held = True
        if start:
            self._wake.set()
            self.pressed.emit()

    def _on_release(self, key) -> None:
        listener = self._listener
        if listener is None or key is None:
            return
        key = listener.canonical(key)
        with self._lock:
            self._down.discard(key)
        if key == self._main or key in self._modifiers:
            self._release("key up")

    def _release(self, why: str) -> None:
        with self._lock:
            if not self._held:
                return
            self._held = False
            self._down.discard(self._main)
        log.debug("Global talk key released (%s)", why)
        self.released.emit()

    # -- the watchdog thread ------------------------------------------------------------

    def _watch(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait()
            if self._stopping.is_set():
                return
            while self._held and not self._stopping.wait(self.poll_ms / 1000):
                probe = self._is_down
                if probe is not None and probe() is False:
                    self._release("the key-up was lost")
            self._wake.clear()
            if self._held:
                self._wake.set()


def _end_x11_recording(listener) -> None:
    """Make pynput's X11 listener thread return now.

    pynput stops it by queueing "disable recording" on the very connection that thread is blocked reading,
    which goes out only when some other input arrives; with a quiet keyboard ``stop()`` then hangs (seen under
    Xvfb). Sending it on pynput's separate control connection, as its own clean-up does later, ends the wait.
    """
    display, context = getattr(listener, "_display_stop", None), getattr(listener, "_context", None)
    if display is None or context is None:
        return  # not the X11 backend
    try:
        display.record_disable_context(context)
        display.flush()
    except Exception as exc:  # the display may be gone already; pynput's own stop still runs
        log.debug("Could not end X recording early: %s", exc)


def _physical_state_probe(key) -> Callable[[], bool | None] | None:
    """A function telling whether ``key`` is physically down right now, or None where we cannot ask."""
    vk = getattr(getattr(key, "value", key), "vk", None)
    char = getattr(key, "char", None)
    if sys.platform.startswith("linux"):
        try:
            from Xlib import XK, display
        except ImportError:
            return None
        try:
            connection = display.Display()
        except Exception as exc:  # Xlib raises its own error types for an unreachable display
            log.info("No X connection for the key watchdog: %s", exc)
            return None
        keysym = vk if vk is not None else (XK.string_to_keysym(char) if char else 0)
        keycode = connection.keysym_to_keycode(keysym) if keysym else 0
        if not keycode:
            return None
        lock = threading.Lock()

        def x11_is_down() -> bool | None:
            with lock:  # one Xlib connection, used from the watchdog thread only
                try:
                    keymap = connection.query_keymap()
                except Exception:  # the display went away: say "unknown", never release on a guess
                    return None
            return bool(keymap[keycode // 8] & (1 << (keycode % 8)))

        x11_is_down.close = connection.close  # type: ignore[attr-defined]
        return x11_is_down
    if sys.platform == "win32" and vk is not None:
        import ctypes

        def windows_is_down() -> bool | None:
            return bool(ctypes.windll.user32.GetAsyncKeyState(vk) & 0x8000)

        return windows_is_down
    return None
