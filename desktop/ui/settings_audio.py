"""The Audio tab of the Settings dialog: devices, a live input meter, a test tone, buffering, talk mode.

Why thin: the page never opens a device. The dialog lists devices
(:meth:`AudioPage.set_devices`), feeds the meter (:meth:`AudioPage.set_level`)
and plays the tone when the page asks (``tone_requested``); a device that
cannot be opened is reported here as text, in place of the meter.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.settings import Settings

from .field_note import FieldNote
from .form_rows import add_row, choice, hint_label, row, stack
from .level_meter import LevelMeter

__all__ = ["JITTER_RANGE", "NO_DEVICES", "SYSTEM_DEFAULT", "AudioPage", "DeviceChoice"]

SYSTEM_DEFAULT = "System default"
NO_DEVICES = "No devices found — is a sound server running?"
JITTER_RANGE = (20, 500)

#: (device name as stored in Settings, longer description for the tooltip)
DeviceChoice = tuple[str, str]


class AudioPage(QWidget):
    changed = Signal()
    input_device_changed = Signal(str)  # "" = system default
    tone_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        devices = QGroupBox("Devices", self)
        self.input = choice(devices, "Microphone")
        self.input_note = FieldNote(devices, name="Microphone list problem")
        self.meter = LevelMeter(devices)
        self.meter_note = FieldNote(devices, name="Microphone problem")
        self.output = choice(devices, "Speaker")
        self.output_note = FieldNote(devices, name="Speaker list problem")
        self.tone_button = QPushButton("Play &test tone", devices)
        self.tone_button.setAutoDefault(False)  # Enter means OK, not "play"
        self.tone_button.setToolTip("Half a second of a 440 Hz tone on the chosen speaker")
        self.tone_note = FieldNote(devices, name="Test tone result")
        form = QFormLayout(devices)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        add_row(form, "M&icrophone:", stack(devices, self.input, self.input_note, self.meter, self.meter_note),
                self.input)
        add_row(form, "S&peaker:", stack(devices, self.output, self.output_note,
                                          row(devices, self.tone_button, stretch_first=False), self.tone_note),
                self.output)

        talking = QGroupBox("Talking", self)
        self.jitter = QSpinBox(talking)
        self.jitter.setRange(*JITTER_RANGE)
        self.jitter.setSingleStep(10)
        self.jitter.setSuffix(" ms")
        self.jitter.setAccessibleName("Jitter buffer")
        self.push_to_talk = QRadioButton("&Hold to talk (push-to-talk)", talking)
        self.open_mic = QRadioButton("Open &mic (always listening; the server detects turns)", talking)
        self.talk_group = QButtonGroup(self)
        self.talk_group.addButton(self.push_to_talk)
        self.talk_group.addButton(self.open_mic)
        self.echo_cancellation = QCheckBox("&Echo cancellation (open mic on speakers)", talking)
        self.echo_cancellation.setToolTip(
            "Removes the assistant's own voice from the microphone, so a reply on the speakers does not "
            "interrupt itself. Not needed with headphones or push-to-talk.")
        form = QFormLayout(talking)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        add_row(form, "&Jitter buffer:", stack(talking, row(talking, self.jitter, stretch_first=False), hint_label(
            "Audio held back before a reply plays: more rides out network hiccups, less answers sooner.",
            talking)), self.jitter)
        form.addRow("Talk mode:", stack(talking, self.push_to_talk, self.open_mic, self.echo_cancellation))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 14)
        layout.setSpacing(12)
        layout.addWidget(devices)
        layout.addWidget(talking)
        layout.addStretch(1)

        self.set_devices([], [])
        self.input.currentIndexChanged.connect(self.on_input_changed)
        self.output.currentIndexChanged.connect(self.on_output_changed)
        self.jitter.valueChanged.connect(self.on_edited)
        self.push_to_talk.toggled.connect(self.on_edited)
        self.open_mic.toggled.connect(self.echo_cancellation.setEnabled)
        self.echo_cancellation.toggled.connect(self.on_edited)
        self.tone_button.clicked.connect(self.tone_requested)

    # -- values ----------------------------------------------------------------------

    @property
    def input_device(self) -> str:
        return self.input.currentData() or ""

    @property
    def output_device(self) -> str:
        return self.output.currentData() or ""

    @property
    def has_inputs(self) -> bool:
        """Whether PortAudio listed any microphone (so there is something to monitor)."""
        return self._input_count > 0

    def set_devices(self, inputs: Sequence[DeviceChoice], outputs: Sequence[DeviceChoice], *,
                    problem: str = "") -> None:
        """Fill both lists, keeping the current choices. ``problem``: why nothing could be listed."""
        self._input_count = len(inputs)
        for combo, note, choices in ((self.input, self.input_note, inputs), (self.output, self.output_note, outputs)):
            selected = combo.currentData() or ""
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(SYSTEM_DEFAULT, "")
            for name, description in choices:
                if combo.findData(name) < 0:  # one name under several host APIs: listed once
                    combo.addItem(name, name)
                    combo.setItemData(combo.count() - 1, description, Qt.ItemDataRole.ToolTipRole)
            _select(combo, selected)
            combo.blockSignals(False)
            note.show_note("error" if problem else "warning", problem or ("" if choices else NO_DEVICES))

    def load(self, settings: Settings) -> None:
        for combo, name in ((self.input, settings.input_device), (self.output, settings.output_device)):
            combo.blockSignals(True)
            _select(combo, name)
            combo.blockSignals(False)
        self.jitter.setValue(settings.jitter_ms)
        (self.open_mic if settings.talk_mode == "open_mic" else self.push_to_talk).setChecked(True)
        self.echo_cancellation.setChecked(settings.echo_cancellation)
        self.echo_cancellation.setEnabled(settings.talk_mode == "open_mic")

    def store(self, settings: Settings) -> None:
        settings.input_device = self.input_device
        settings.output_device = self.output_device
        settings.jitter_ms = self.jitter.value()
        settings.talk_mode = "open_mic" if self.open_mic.isChecked() else "push_to_talk"
        settings.echo_cancellation = self.echo_cancellation.isChecked()

    def problems(self) -> list[str]:
        return []

    # -- showing state ------------------------------------------------------------------

    @Slot(float)
    def set_level(self, dbfs: float) -> None:
        self.meter.set_level(dbfs)

    @Slot()
    def show_meter(self) -> None:
        self.meter_note.clear_note()
        self.meter.reset()
        self.meter.show()

    @Slot(str)
    def show_mic_problem(self, reason: str) -> None:
        """The microphone cannot be monitored: say why instead of showing a dead meter."""
        self.meter.reset()
        self.meter.hide()
        self.meter_note.show_note("error", reason)

    @Slot()
    def show_tone_playing(self) -> None:
        self.tone_button.setEnabled(False)
        self.tone_note.show_note("busy", "Playing…")

    @Slot(object)
    def show_tone_result(self, problem: str | None) -> None:
        self.tone_button.setEnabled(True)
        if problem:
            self.tone_note.show_note("error", problem)
        else:
            self.tone_note.show_note("ok", "Played a 440 Hz tone. Heard nothing? Check the volume and the speaker.")

    @Slot()
    def show_tone_stopped(self) -> None:
        self.tone_button.setEnabled(True)
        self.tone_note.clear_note()

    @Slot()
    def on_input_changed(self) -> None:
        self.input_device_changed.emit(self.input_device)
        self.changed.emit()

    @Slot()
    def on_output_changed(self) -> None:
        self.tone_note.clear_note()
        self.changed.emit()

    @Slot()
    def on_edited(self) -> None:
        self.changed.emit()


def _select(combo: QComboBox, name: str) -> None:
    """Select ``name``; a device that is not listed (unplugged?) stays chosen, marked "not found"."""
    index = combo.findData(name)
    if index < 0:
        combo.addItem(f"{name} (not found)", name)
        index = combo.count() - 1
    combo.setCurrentIndex(index)
