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

from PySide6.QtCore import QSize, QTimer, Signal, Slot
from PySide6.QtGui import QHideEvent, QIcon, QShowEvent
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


def _scroll_area() -> QScrollArea:
    """A frameless scroll area for a page: a small screen scrolls it instead of squashing its fields."""
    scroll = QScrollArea()
    scroll.setObjectName("settingsScroll")
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setWidgetResizable(True)
    return scroll


PAGE_TITLES = ("&Server", "V&oice", "A&udio", "&Keys", "&Privacy")
AUDIO_TAB = 2


class SettingsDialog(QDialog):
    """Server, voice, audio, keys and privacy; ``applied(Settings)`` on Apply and (if changed) OK.

    The pages are built when first asked for (their attributes, :meth:`page`), not all at once: the one in
    front when the dialog is shown, the others one per turn of the event loop after that. Opening the
    dialog then holds the GUI thread for one page, not five (a first open costs ~50 ms of widget set-up
    otherwise). Until a page is built, its values are the opened settings and it has no problems to report:
    :meth:`settings` and :meth:`problems` are right either way, and OK and Apply build every page first.
    """

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
        self._protocol_infos = protocols.available() if protocol_infos is None else protocol_infos
        self._devices = list_devices() if devices is None else devices
        self._pages: list[QWidget | None] = [None] * len(PAGE_TITLES)
        self.jobs = AsyncJobs(self)
        self.monitor = MicMonitor(self)

        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("settingsTabs")
        for title in PAGE_TITLES:
            self.tabs.addTab(_scroll_area(), title)
        self.tabs.currentChanged.connect(self.on_tab_changed)

        self.problem_note = FieldNote(self, name="Why the settings cannot be saved")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.Apply, self)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.apply_button = self.buttons.button(QDialogButtonBox.StandardButton.Apply)
        self.cancel_button = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        for button in (self.ok_button, self.apply_button, self.cancel_button):
            button.setIcon(QIcon())  # some styles add stock icons that clash with the flat buttons
        footer = QHBoxLayout()
        footer.setSpacing(12)
        footer.addWidget(self.problem_note, 1)
        footer.addWidget(self.buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 14, 14, 12)
        layout.setSpacing(12)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(footer)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.apply_button.clicked.connect(self.on_apply_clicked)
        self.monitor.level.connect(lambda level: self.audio.set_level(level))
        self.monitor.failed.connect(lambda why: self.audio.show_mic_problem(why))
        self.refresh()
        # Styled once over the skeleton; a page joining later is styled as it joins. The app's style sheet
        # cascades from a parent that has it: not parsed and applied twice.
        if stylesheet is None:
            stylesheet = "" if parent is not None and parent.window().styleSheet() else load_stylesheet()
        self.setStyleSheet(stylesheet + DIALOG_QSS + FIELD_NOTE_QSS)

    # -- pages ---------------------------------------------------------------------------

    def page(self, index: int) -> QWidget:
        """Page ``index`` (in tab order), built and loaded with the opened settings the first time."""
        built = self._pages[index]
        if built is None:
            built = self._pages[index] = self._build_page(index)
            built.load(self._base)
            built.setObjectName("settingsPage")
            built.changed.connect(self.refresh)
            self.refresh()
        return built

    def _build_page(self, index: int) -> QWidget:
        if index == 0:
            page = ServerPage(self._protocol_infos, {name: title for name, (_m, title) in PROCESSORS.items()})
            page.key_test_requested.connect(self.on_key_test_requested)
            page.connection_test_requested.connect(self.on_connection_test_requested)
            return page
        if index == AUDIO_TAB:
            page = AudioPage()
            inputs, outputs, problem = self._devices
            page.set_devices(inputs, outputs, problem=problem)
            page.tone_requested.connect(self.on_tone_requested)
            page.input_device_changed.connect(self.on_input_device_changed)
            return page
        return (None, VoicePage, None, KeysPage, PrivacyPage)[index]()

    server = property(lambda self: self.page(0), doc="The Server page.")
    voice = property(lambda self: self.page(1), doc="The Voice page.")
    audio = property(lambda self: self.page(AUDIO_TAB), doc="The Audio page.")
    keys = property(lambda self: self.page(3), doc="The Keys page.")
    privacy = property(lambda self: self.page(4), doc="The Privacy page.")

    @property
    def pages(self) -> tuple[QWidget, ...]:
        """Every page (building those not built yet)."""
        return tuple(self.page(index) for index in range(len(self._pages)))

    @property
    def pages_built(self) -> tuple[bool, ...]:
        """Per tab, whether its page has been built yet."""
        return tuple(page is not None for page in self._pages)

    def _place_page(self, index: int) -> None:
        """Put page ``index`` into its tab, the first time that tab is shown. Until then the page has no
        parent: it holds and checks its values, but Qt neither styles nor lays it out."""
        scroll = self.tabs.widget(index)
        if isinstance(scroll, QScrollArea) and scroll.widget() is None:
            scroll.setWidget(self.page(index))

    def _build_next_page(self) -> None:
        """Build one page not built yet, and ask for the next on a later turn of the event loop."""
        if not self.isVisible():
            return
        for index, built in enumerate(self._pages):
            if built is None:
                self.page(index)
                QTimer.singleShot(0, self._build_next_page)
                return

    def show_page(self, page: QWidget) -> None:
        """Bring the tab holding ``page`` to the front."""
        self.tabs.setCurrentIndex(self._pages.index(page))

    @property
    def audio_page_shown(self) -> bool:
        return self.isVisible() and self.tabs.currentIndex() == AUDIO_TAB

    @Slot(int)
    def on_tab_changed(self, index: int) -> None:
        self._place_page(index)
        self.on_input_device_changed(self.audio.input_device if self._pages[AUDIO_TAB] is not None else "")

    # -- values --------------------------------------------------------------------------

    def settings(self) -> Settings:
        """The settings as edited so far (a new object each call)."""
        edited = copy_settings(self._base)
        for page in self._pages:
            if page is not None:
                page.store(edited)
        return edited

    def problems(self) -> list[str]:
        """What must be fixed before the settings can be applied, with the tab it is on."""
        return [f"{self.tabs.tabText(i).replace('&', '')}: {problem}"
                for i, page in enumerate(self._pages) if page is not None for problem in page.problems()]

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
        self.pages  # noqa: B018 - every page built: a problem on one never opened still counts
        if self.problems():
            self.refresh()
            return
        if self.modified:
            self._apply()
        super().accept()

    @Slot()
    def on_apply_clicked(self) -> None:
        self.pages  # noqa: B018 - see accept
        if not self.problems():
            self._apply()
        self.refresh()

    def _apply(self) -> None:
        self._last_applied = self.settings()
        self.applied.emit(copy_settings(self._last_applied))

    def showEvent(self, event: QShowEvent) -> None:
        self._place_page(self.tabs.currentIndex())  # before the first paint: the page in front is drawn whole
        super().showEvent(event)
        self.on_tab_changed(self.tabs.currentIndex())
        QTimer.singleShot(0, self._build_next_page)

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
        """The level meter listens to the chosen microphone while the Audio tab is in front, and only then:
        Settings opened for the server address does not light the system's microphone indicator."""
        if not self.audio_page_shown:
            self.monitor.stop()
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
