"""The Settings dialog: edit a copy of :class:`~desktop.settings.Settings`, emit it on Apply or OK.

Why this shape:

* The dialog never changes the object it was given. It edits its own copy and
  emits a fresh copy with ``applied(Settings)``; the app saves it and reconnects
  (no restart). Cancel emits nothing. OK emits only if something changed since
  the dialog opened or since the last Apply, so an untouched OK never reconnects.
* Each tab is a thin page (``settings_server``, ``settings_voice``,
  ``settings_audio``, ``settings_keys``) with ``load``/``store``/``problems``.
  The dialog wires them (all in :meth:`SettingsDialog._connect_signals`) to the
  things that do I/O: the "Test …" buttons run as :class:`AsyncJobs` (a task on
  the running qasync loop, else a worker thread), and a :class:`MicMonitor`
  feeds the level meter while the dialog is shown.
* Every problem is shown next to its field, and the first one also beside the
  buttons (it may be on another tab); OK and Apply stay disabled until it is fixed.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from PySide6.QtCore import QSize, Signal, Slot
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop import protocols
from desktop.errors import VoiceDesktopError
from desktop.processors import PROCESSORS
from desktop.settings import Settings

from .async_jobs import AsyncJobs
from .field_note import FIELD_NOTE_QSS, FieldNote
from .mic_monitor import MicMonitor
from .resources import load_icon, load_stylesheet
from .settings_audio import AudioPage, DeviceChoice
from .settings_checks import check_gemini_key, play_tone, probe_connection
from .settings_keys import KeysPage
from .settings_privacy import PrivacyPage
from .settings_server import ServerPage
from .settings_voice import VoicePage

__all__ = ["DIALOG_QSS", "SettingsDialog", "copy_settings", "list_devices"]

log = logging.getLogger(__name__)

TITLE = "Settings"
DEFAULT_SIZE = QSize(600, 580)
MINIMUM_SIZE = QSize(460, 380)

DIALOG_QSS = """
QDialog#settingsDialog { background: #f5f6f8; color: #1f2328; }
QTabWidget#settingsTabs::pane { background: #ffffff; border: 1px solid #e3e6eb; border-radius: 8px; top: -1px; }
QTabWidget#settingsTabs > QTabBar::tab {
    background: transparent; color: #5b6470; border: none; border-bottom: 2px solid transparent;
    padding: 7px 16px; margin-right: 2px;
}
QTabWidget#settingsTabs > QTabBar::tab:selected { color: #1f2328; border-bottom: 2px solid #2f5fe0; }
QTabWidget#settingsTabs > QTabBar::tab:hover:!selected { color: #1f2328; }
QTabWidget#settingsTabs > QTabBar::tab:focus { color: #2f5fe0; }
QScrollArea#settingsScroll, QWidget#settingsPage { background: #ffffff; border: none; }
QWidget#settingsPage QGroupBox {
    border: 1px solid #e3e6eb; border-radius: 8px; margin-top: 10px; padding: 12px 10px 8px 10px;
}
QWidget#settingsPage QGroupBox::title {
    subcontrol-origin: margin; left: 10px; padding: 0 4px; color: #5b6470; background: #ffffff;
}
QLabel#hint { color: #5b6470; font-size: 9pt; background: transparent; }
QDialog#settingsDialog QLineEdit, QDialog#settingsDialog QPlainTextEdit {
    background: #ffffff; border: 1px solid #d3d8df; border-radius: 6px; padding: 3px 6px;
    selection-background-color: #b9cbf7; selection-color: #1f2328;
}
QDialog#settingsDialog QLineEdit:focus, QDialog#settingsDialog QPlainTextEdit:focus { border-color: #2f5fe0; }
QDialog#settingsDialog QPushButton {
    background: #ffffff; color: #1f2328; border: 1px solid #d3d8df; border-radius: 6px;
    padding: 5px 14px; min-width: 64px;
}
QDialog#settingsDialog QPushButton:hover { background: #f0f3f7; }
QDialog#settingsDialog QPushButton:focus { border-color: #2f5fe0; }
QDialog#settingsDialog QPushButton:default { background: #2f5fe0; color: #ffffff; border-color: #2f5fe0; }
QDialog#settingsDialog QPushButton:default:hover { background: #2a55cc; }
QDialog#settingsDialog QPushButton:disabled { background: #f5f6f8; color: #9aa1ab; border-color: #e3e6eb; }
QToolButton#revealButton {
    background: transparent; color: #2f5fe0; border: 1px solid transparent; border-radius: 6px; padding: 3px 8px;
}
QToolButton#revealButton:hover { background: #e8eefc; }
QToolButton#revealButton:focus { border-color: #2f5fe0; }
"""


def copy_settings(settings: Settings) -> Settings:
    """An independent copy (the headers dict too), so neither side sees the other's edits."""
    return dataclasses.replace(settings, remote_headers=dict(settings.remote_headers))


def list_devices() -> tuple[list[DeviceChoice], list[DeviceChoice], str]:
    """Microphones and speakers PortAudio lists, and why none could be listed (``""`` if it worked)."""
    try:
        from desktop.audio import devices

        inputs = [(d.name, str(d)) for d in devices.input_devices()]
        outputs = [(d.name, str(d)) for d in devices.output_devices()]
    except (VoiceDesktopError, OSError) as exc:
        return [], [], str(exc)
    return inputs, outputs, ""


def _scrollable(page: QWidget) -> QScrollArea:
    """``page`` in a frameless scroll area: a small screen scrolls it instead of squashing its fields."""
    page.setObjectName("settingsPage")
    scroll = QScrollArea()
    scroll.setObjectName("settingsScroll")
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setWidgetResizable(True)
    scroll.setWidget(page)
    return scroll


class SettingsDialog(QDialog):
    """Server, voice, audio and keys; ``applied(Settings)`` on Apply and (if changed) OK."""

    applied = Signal(object)

    def __init__(self, settings: Settings, parent: QWidget | None = None, *,
                 gemini_http_options: Any = None, stylesheet: str | None = None,
                 protocol_infos: dict[str, Any] | None = None,
                 devices: tuple[list[DeviceChoice], list[DeviceChoice], str] | None = None) -> None:
        """``protocol_infos`` (:func:`desktop.protocols.available`) and ``devices`` (:func:`list_devices`)
        scan entry points and ask PortAudio: the app gathers them on a worker thread and passes them in;
        left out, they are gathered here, on the calling thread."""
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle(TITLE)
        icon = load_icon("settings")
        if not icon.isNull():
            self.setWindowIcon(icon)
        self.setMinimumSize(MINIMUM_SIZE)  # explicit: pages scroll rather than squash when it is small
        self.resize(DEFAULT_SIZE)
        self._base = copy_settings(settings)  # fields no page shows are kept from here
        self._last_applied = copy_settings(settings)
        self._gemini_http_options = gemini_http_options
        self.jobs = AsyncJobs(self)
        self.monitor = MicMonitor(self)

        infos = protocols.available() if protocol_infos is None else protocol_infos
        self.server = ServerPage(infos, {name: title for name, (_m, title) in PROCESSORS.items()})
        self.voice = VoicePage()
        self.audio = AudioPage()
        self.keys = KeysPage()
        self.privacy = PrivacyPage()
        self.pages = (self.server, self.voice, self.audio, self.keys, self.privacy)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("settingsTabs")
        for page, title in zip(self.pages, ("&Server", "V&oice", "A&udio", "&Keys", "&Privacy"), strict=True):
            self.tabs.addTab(_scrollable(page), title)

        self.problem_note = FieldNote(self, name="Why the settings cannot be saved")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.Apply, self)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.apply_button = self.buttons.button(QDialogButtonBox.StandardButton.Apply)
        self.cancel_button = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        footer = QHBoxLayout()
        footer.setSpacing(12)
        footer.addWidget(self.problem_note, 1)
        footer.addWidget(self.buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 14, 14, 12)
        layout.setSpacing(12)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(footer)

        inputs, outputs, problem = list_devices() if devices is None else devices
        self.audio.set_devices(inputs, outputs, problem=problem)
        for page in self.pages:
            page.load(self._base)
        self._connect_signals()
        self.refresh()
        # Last: styled once over the finished tree (set first, every widget added later was re-polished as it
        # joined). The app's style sheet cascades from a parent that has it: not parsed and applied twice.
        if stylesheet is None:
            stylesheet = "" if parent is not None and parent.window().styleSheet() else load_stylesheet()
        self.setStyleSheet(stylesheet + DIALOG_QSS + FIELD_NOTE_QSS)

    def _connect_signals(self) -> None:
        for page in self.pages:
            page.changed.connect(self.refresh)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.apply_button.clicked.connect(self.on_apply_clicked)
        self.server.key_test_requested.connect(self.on_key_test_requested)
        self.server.connection_test_requested.connect(self.on_connection_test_requested)
        self.audio.tone_requested.connect(self.on_tone_requested)
        self.audio.input_device_changed.connect(self.on_input_device_changed)
        self.monitor.level.connect(self.audio.set_level)
        self.monitor.failed.connect(self.audio.show_mic_problem)

    # -- values --------------------------------------------------------------------------

    def show_page(self, page: QWidget) -> None:
        """Bring the tab holding ``page`` to the front."""
        for index in range(self.tabs.count()):
            scroll = self.tabs.widget(index)
            if isinstance(scroll, QScrollArea) and scroll.widget() is page:
                self.tabs.setCurrentIndex(index)

    def settings(self) -> Settings:
        """The settings as edited so far (a new object each call)."""
        edited = copy_settings(self._base)
        for page in self.pages:
            page.store(edited)
        return edited

    def problems(self) -> list[str]:
        """What must be fixed before the settings can be applied, with the tab it is on."""
        return [f"{self.tabs.tabText(i).replace('&', '')}: {problem}"
                for i, page in enumerate(self.pages) for problem in page.problems()]

    @property
    def modified(self) -> bool:
        """Whether the edits differ from what was last applied (or opened with)."""
        return self.settings() != self._last_applied

    @Slot()
    def refresh(self) -> None:
        problems = self.problems()
        self.ok_button.setEnabled(not problems)
        self.apply_button.setEnabled(not problems and self.modified)
        self.problem_note.show_note("error", problems[0] if problems else "")

    # -- closing -------------------------------------------------------------------------

    def accept(self) -> None:
        if self.problems():
            return
        if self.modified:
            self._apply()
        super().accept()

    @Slot()
    def on_apply_clicked(self) -> None:
        if not self.problems():
            self._apply()
        self.refresh()

    def _apply(self) -> None:
        self._last_applied = self.settings()
        self.applied.emit(copy_settings(self._last_applied))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.on_input_device_changed(self.audio.input_device)

    def hideEvent(self, event: QHideEvent) -> None:
        if event.spontaneous():  # minimised: keep checks running, but let go of the microphone
            self.monitor.stop()
        else:
            self.shutdown()
        super().hideEvent(event)

    def shutdown(self) -> None:
        """Close the monitored microphone and cancel running checks (on close; safe to repeat)."""
        self.monitor.stop()
        interrupted = {name: self.jobs.busy(name) for name in ("key", "connection", "tone")}
        self.jobs.cancel_all()
        if interrupted["key"]:
            self.server.key_note.clear_note()
        if interrupted["connection"]:
            self.server.connection_note.clear_note()
        if interrupted["tone"]:
            self.audio.show_tone_stopped()

    # -- checks ----------------------------------------------------------------------------

    @Slot(str)
    def on_input_device_changed(self, device: str) -> None:
        if not self.isVisible():
            return
        if not self.audio.has_inputs:
            self.monitor.stop()
            self.audio.show_mic_problem("")  # the list already says why
            return
        self.audio.show_meter()
        self.monitor.start(device)

    @Slot()
    def on_key_test_requested(self) -> None:
        key, model = self.server.gemini_key.text(), self.voice.model.text()
        options = self._gemini_http_options
        self.server.show_key_testing()
        self.jobs.start("key", lambda: check_gemini_key(key, http_options=options, model=model),
                        self.server.show_key_result)

    @Slot()
    def on_connection_test_requested(self) -> None:
        edited = self.settings()
        self.server.show_connection_testing()
        self.jobs.start("connection", lambda: probe_connection(
            edited.remote_url, edited.remote_protocol, token=edited.remote_secret,
            headers=edited.remote_headers, config=edited.processor_config()),
            self.server.show_connection_result)

    @Slot()
    def on_tone_requested(self) -> None:
        device, jitter = self.audio.output_device, self.audio.jitter.value()
        self.audio.show_tone_playing()
        self.jobs.start("tone", lambda: play_tone(device, jitter_ms=jitter), self.audio.show_tone_result)
