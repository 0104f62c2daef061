"""The Server tab of the Settings dialog: the embedded server or a remote one, and their secrets.

Why thin: the page only shows values and what is wrong with them, and asks for
checks through signals (``connection_test_requested``, ``key_test_requested``).
The dialog runs the checks and hands the answers back through ``show_*`` slots,
so no socket or event loop is touched here.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from desktop.protocols.base import ProtocolInfo
from desktop.settings import Settings

from .field_note import FieldNote
from .form_rows import add_row, choice, hint_label, row, stack
from .secret_edit import SecretEdit
from .settings_checks import HeaderError, check_url, describe_protocol, format_headers, parse_headers

__all__ = ["AUTOMATIC_TITLE", "KEY_WORKS", "LLM_HINT", "REACHABLE", "ServerPage"]

AUTOMATIC_TITLE = "Automatic (Gemini when a key is set, the offline assistant otherwise)"
LLM_HINT = ("An OpenAI-compatible server on this computer (Ollama, llama.cpp's llama-server, LM Studio) answers "
            "what the offline assistant's skills do not. Found automatically when Ollama answers at "
            "127.0.0.1:11434.")
KEY_WORKS = "Key works"
REACHABLE = "Reachable"


class ServerPage(QWidget):
    """Embedded processor and Gemini key, or remote URL, protocol, token and extra headers."""

    changed = Signal()
    connection_test_requested = Signal()
    key_test_requested = Signal()

    def __init__(self, protocols: Mapping[str, ProtocolInfo], processors: Mapping[str, str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._protocols = dict(protocols)
        self._processors = dict(processors)
        self._headers: dict[str, str] = {}
        self._headers_error = ""
        self._build_mode()
        self._build_embedded()
        self._build_remote()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 14)
        layout.setSpacing(12)
        layout.addWidget(self.mode_row)
        layout.addWidget(self.embedded_box)
        layout.addWidget(self.remote_box)
        layout.addStretch(1)
        self._connect_signals()

    # -- construction ---------------------------------------------------------------

    def _build_mode(self) -> None:
        self.mode_row = QWidget(self)
        self.embedded_radio = QRadioButton("&Embedded server", self.mode_row)
        self.embedded_radio.setToolTip("Runs inside the app; nothing to set up")
        self.remote_radio = QRadioButton("&Remote server", self.mode_row)
        self.remote_radio.setToolTip("A voice server you run elsewhere, reached over a WebSocket")
        self.mode_group = QButtonGroup(self)
        self.mode_group.addButton(self.embedded_radio)
        self.mode_group.addButton(self.remote_radio)
        label = QLabel("Connect to:", self.mode_row)
        layout = QHBoxLayout(self.mode_row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(16)
        layout.addWidget(label)
        layout.addWidget(self.embedded_radio)
        layout.addWidget(self.remote_radio)
        layout.addStretch(1)

    def _build_embedded(self) -> None:
        box = self.embedded_box = QGroupBox("Embedded server", self)
        self.processor = choice(box, "Processor")
        self.processor.addItem(AUTOMATIC_TITLE, "")
        for name, title in self._processors.items():
            self.processor.addItem(title, name)
        self.gemini_key = SecretEdit(box, placeholder="Paste your Gemini API key", name="Gemini API key")
        self.test_key_button = QPushButton("Test ke&y", box)
        self.test_key_button.setAutoDefault(False)  # Enter in a field means OK, not "test"
        self.test_key_button.setToolTip("Open one Gemini Live session with this key, then close it")
        self.key_note = FieldNote(box, name="Key test result")
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        add_row(form, "&Processor:", self.processor)
        key_field = stack(box, row(box, self.gemini_key, self.test_key_button), self.key_note, hint_label(
            "Kept in the system keyring. Left blank, GEMINI_API_KEY from the environment is used.", box))
        add_row(form, "&Gemini API key:", key_field, self.gemini_key.edit)
        self.llm_url = QLineEdit(box)
        self.llm_url.setAccessibleName("Local model server")
        self.llm_url.setPlaceholderText("Found automatically (Ollama: http://127.0.0.1:11434/v1)")
        self.llm_url.setClearButtonEnabled(True)
        self.llm_model = QLineEdit(box)
        self.llm_model.setAccessibleName("Local model name")
        self.llm_model.setPlaceholderText("The server's first model")
        self.llm_model.setClearButtonEnabled(True)
        add_row(form, "Local model &server:", stack(box, self.llm_url, hint_label(LLM_HINT, box)), self.llm_url)
        add_row(form, "Local mo&del:", self.llm_model)

    def _build_remote(self) -> None:
        box = self.remote_box = QGroupBox("Remote server", self)
        self.url = QLineEdit(box)
        self.url.setPlaceholderText("wss://voice.example.com or ws://127.0.0.1:8765")
        self.url.setAccessibleName("Server URL")
        self.url_note = FieldNote(box, name="Server URL problem")
        self.protocol = choice(box, "Protocol")
        for name, info in self._protocols.items():
            self.protocol.addItem(info.title or name, name)
            self.protocol.setItemData(self.protocol.count() - 1, info.description or name,
                                      Qt.ItemDataRole.ToolTipRole)
        self.protocol_note = FieldNote(box, name="What the protocol supports")
        self.secret = SecretEdit(box, placeholder="If the server asks for one", name="Token or API key")
        self.headers = QPlainTextEdit(box)
        self.headers.setAccessibleName("Extra headers")
        self.headers.setPlaceholderText("Name: value, one per line (optional)")
        self.headers.setTabChangesFocus(True)
        self.headers.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.headers.setFixedHeight(self.headers.fontMetrics().lineSpacing() * 3 + 14)
        self.headers_note = FieldNote(box, name="Extra headers problem")
        self.test_connection_button = QPushButton("Test &connection", box)
        self.test_connection_button.setAutoDefault(False)
        self.test_connection_button.setToolTip("Open the WebSocket once (5 s at most), then close it")
        self.connection_note = FieldNote(box, name="Connection test result")
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        add_row(form, "&URL:", stack(box, self.url, self.url_note), self.url)
        add_row(form, "Pro&tocol:", stack(box, self.protocol, self.protocol_note), self.protocol)
        add_row(form, "Token or API ke&y:", self.secret, self.secret.edit)
        add_row(form, "Extra &headers:", stack(box, self.headers, self.headers_note), self.headers)
        form.addRow("", stack(box, row(box, self.test_connection_button, stretch_first=False),
                              self.connection_note))

    def _connect_signals(self) -> None:
        self.remote_radio.toggled.connect(self.on_mode_toggled)
        self.processor.currentIndexChanged.connect(self.on_edited)
        self.gemini_key.textChanged.connect(self.on_key_edited)
        self.llm_url.textChanged.connect(self.on_edited)
        self.llm_model.textChanged.connect(self.on_edited)
        self.url.textChanged.connect(self.on_endpoint_edited)
        self.protocol.currentIndexChanged.connect(self.on_endpoint_edited)
        self.secret.textChanged.connect(self.on_endpoint_edited)
        self.headers.textChanged.connect(self.on_endpoint_edited)
        self.test_key_button.clicked.connect(self.key_test_requested)
        self.test_connection_button.clicked.connect(self.connection_test_requested)

    # -- values ------------------------------------------------------------------------

    @property
    def remote(self) -> bool:
        return self.remote_radio.isChecked()

    def load(self, settings: Settings) -> None:
        (self.remote_radio if settings.server_mode == "remote" else self.embedded_radio).setChecked(True)
        _select(self.processor, settings.processor, missing=f"{settings.processor} (not installed)")
        self.gemini_key.setText(settings.gemini_api_key)
        self.llm_url.setText(settings.llm_url)
        self.llm_model.setText(settings.llm_model)
        self.url.setText(settings.remote_url)
        _select(self.protocol, settings.remote_protocol, missing=f"{settings.remote_protocol} (not installed)")
        self.secret.setText(settings.remote_secret)
        self.headers.setPlainText(format_headers(settings.remote_headers))
        self.on_mode_toggled(self.remote)
        self.refresh()

    def store(self, settings: Settings) -> None:
        """Write this page's values into ``settings`` (call only while :meth:`problems` is empty)."""
        settings.server_mode = "remote" if self.remote else "embedded"
        settings.processor = self.processor.currentData() or ""
        settings.gemini_api_key = self.gemini_key.text().strip()
        settings.llm_url = self.llm_url.text().strip()
        settings.llm_model = self.llm_model.text().strip()
        settings.remote_url = self.url.text().strip()
        settings.remote_protocol = self.protocol.currentData() or ""
        settings.remote_secret = self.secret.text().strip()
        settings.remote_headers = dict(self._headers)

    def problems(self) -> list[str]:
        """What stops saving. Remote fields count only when the remote server is chosen."""
        found = []
        if self.processor.currentData() not in ("", *self._processors):
            found.append(f"Processor {self.processor.currentData()!r} is not installed.")
        if not self.remote:
            return found
        if error := check_url(self.url.text()).error:
            found.append(error)
        if self.protocol.currentData() not in self._protocols:
            found.append(f"Protocol {self.protocol.currentData()!r} is not installed.")
        if self._headers_error:
            found.append(self._headers_error)
        return found

    # -- showing state --------------------------------------------------------------

    def refresh(self) -> None:
        """Re-validate and update every note from the current values."""
        check = check_url(self.url.text())
        if check.error:
            self.url_note.show_note("error", check.error)
        elif check.warning:
            self.url_note.show_note("warning", check.warning)
        else:
            self.url_note.show_note("info", check.note)
        info = self._protocols.get(self.protocol.currentData())
        if info is None:
            self.protocol_note.show_note("error", "This protocol is not installed: choose another.")
        else:
            self.protocol_note.show_note("info", describe_protocol(info))
        try:
            self._headers, self._headers_error = parse_headers(self.headers.toPlainText()), ""
            self.headers_note.clear_note()
        except HeaderError as exc:
            self._headers, self._headers_error = {}, str(exc)
            self.headers_note.show_note("error", self._headers_error)
        self.test_connection_button.setEnabled(not (check.error or self._headers_error or info is None))

    @Slot(bool)
    def on_mode_toggled(self, remote: bool) -> None:
        self.embedded_box.setVisible(not remote)
        self.remote_box.setVisible(remote)
        self.changed.emit()

    @Slot()
    def on_edited(self) -> None:
        self.changed.emit()

    @Slot()
    def on_key_edited(self) -> None:
        self.key_note.clear_note()  # an answer about the previous key would mislead
        self.changed.emit()

    @Slot()
    def on_endpoint_edited(self) -> None:
        self.connection_note.clear_note()
        self.refresh()
        self.changed.emit()

    @Slot()
    def show_key_testing(self) -> None:
        self.key_note.show_note("busy", "Testing the key…")

    @Slot(object)
    def show_key_result(self, problem: str | None) -> None:
        if problem:
            self.key_note.show_note("error", problem)
        else:
            self.key_note.show_note("ok", KEY_WORKS)

    @Slot()
    def show_connection_testing(self) -> None:
        self.connection_note.show_note("busy", "Connecting…")

    @Slot(object)
    def show_connection_result(self, problem: str | None) -> None:
        if problem:
            self.connection_note.show_note("error", problem)
        else:
            self.connection_note.show_note("ok", REACHABLE)


def _select(combo: QComboBox, value: str, *, missing: str) -> None:
    """Select the item whose data is ``value``, adding one (marked ``missing``) if there is none."""
    index = combo.findData(value)
    if index < 0:
        combo.addItem(missing, value)
        index = combo.count() - 1
    combo.setCurrentIndex(index)
