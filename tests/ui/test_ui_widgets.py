"""The small widgets on their own: level meter, indicators, banner, resources, throttle."""

from __future__ import annotations

import math

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QObject
from PySide6.QtWidgets import QWidget

from desktop.ui import resources
from desktop.ui.banner import ErrorBanner, user_text
from desktop.ui.level_meter import DECAY_DB_PER_S, FLOOR_DB, LevelMeter
from desktop.ui.status import ConnectionIndicator, MicIndicator, StatusBar
from desktop.ui.throttle import Throttle


def test_level_meter_clamps_and_rises_at_once(qtbot, clock):
    meter = LevelMeter(clock=clock)
    qtbot.addWidget(meter)
    for value, expected in ((-20.0, -20.0), (5.0, 0.0), (-200.0, FLOOR_DB), (-math.inf, FLOOR_DB),
                            (math.nan, FLOOR_DB)):
        meter.set_level(value)
        assert meter.target_level == expected
    meter.reset()
    meter.set_level(-10.0)
    assert meter.level == -10.0


def test_level_meter_decays_smoothly(qtbot, clock):
    meter = LevelMeter(clock=clock)
    qtbot.addWidget(meter)
    meter.set_level(-6.0)
    meter.set_level(-60.0)
    assert meter.level == -6.0  # falls are not instant

    clock.advance(0.5)
    meter.on_tick()
    assert meter.level == pytest.approx(-6.0 - DECAY_DB_PER_S * 0.5)

    clock.advance(10)
    meter.on_tick()
    assert meter.level == FLOOR_DB


def _painted(meter: LevelMeter, x_fraction: float) -> str:
    image = meter.grab().toImage()
    return image.pixelColor(int(image.width() * x_fraction), image.height() // 2).name()


def test_level_meter_paints_its_level_in_the_colour_of_its_loudness(qtbot):
    meter = LevelMeter()
    qtbot.addWidget(meter)
    meter.resize(200, 10)
    track, fill, loud = (c.name() for c in (meter._track, meter._fill, meter._loud))
    assert len({track, fill, loud}) == 3
    meter.set_level(-3.0)  # 95 % of the bar, in the loud colour
    assert (_painted(meter, 0.5), _painted(meter, 0.9)) == (loud, loud)
    meter.reset()
    assert meter.level == FLOOR_DB
    assert (_painted(meter, 0.5), _painted(meter, 0.9)) == (track, track)
    meter.set_level(-45.0)  # a quarter of the bar, in the normal colour; the rest is the track
    assert (_painted(meter, 0.15), _painted(meter, 0.6)) == (fill, track)


class _PaintCounter(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.paints = 0

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        self.paints += event.type() == QEvent.Type.Paint
        return False


def test_level_meter_repaints_only_when_the_bar_would_look_different(qtbot, clock):
    meter = LevelMeter(clock=clock)
    qtbot.addWidget(meter)
    meter.resize(120, 10)  # 2 px per dB
    meter.show()
    qtbot.waitExposed(meter)
    counter = _PaintCounter()
    meter.installEventFilter(counter)
    meter.set_level(-30.0)
    meter.on_tick()
    qtbot.waitUntil(lambda: counter.paints == 1)
    for wobble in (-30.1, -29.9, -30.2):  # steady noise: under a pixel either way
        meter.set_level(wobble)
        clock.advance(0.001)
        meter.on_tick()
    QCoreApplication.processEvents()
    assert counter.paints == 1
    meter.set_level(-20.0)  # 20 px longer
    meter.on_tick()
    qtbot.waitUntil(lambda: counter.paints == 2)


def test_unknown_states_are_programming_errors(qtbot):
    mic = MicIndicator()
    qtbot.addWidget(mic)
    with pytest.raises(ValueError):
        mic.set_state("sleeping")
    connection = ConnectionIndicator()
    qtbot.addWidget(connection)
    with pytest.raises(ValueError):
        connection.set_state("maybe")


def test_disconnected_with_countdown(qtbot, clock):
    connection = ConnectionIndicator(clock=clock)
    qtbot.addWidget(connection)
    connection.set_state("disconnected", "network is unreachable")
    connection.set_retry_countdown(10)
    assert connection.text() == "Disconnected: network is unreachable — retrying in 10 s"
    assert connection.toolTip() == connection.text()
    connection.set_retry_countdown(math.inf)
    assert connection.seconds_left is None


def test_status_bar_messages_expire(qtbot):
    bar = StatusBar()
    qtbot.addWidget(bar)
    bar.show_message("Gemini session resumed", 10)
    assert bar.message_text() == "Gemini session resumed"
    qtbot.waitUntil(lambda: bar.message_text() == "")
    bar.show_message("sticky", 0)
    assert bar.message_text() == "sticky"


def test_banner_dismiss_is_idempotent(qtbot):
    parent = QWidget()  # never shown: the banner is tested as a child, not as a window
    qtbot.addWidget(parent)
    banner = ErrorBanner(parent)
    with qtbot.assertNotEmitted(banner.dismissed):
        banner.dismiss()
    banner.show_error("x")
    with qtbot.waitSignal(banner.dismissed):
        banner.dismiss()


def test_user_text_shortens_long_messages():
    assert user_text("  fine  ") == "fine"
    assert len(user_text("x" * 2000)) == 500


def test_resources_are_found_and_missing_ones_degrade(tmp_path, qtbot):
    found = resources.resources_dir()
    assert found is not None and (found / "style.qss").is_file()
    assert resources.load_stylesheet()
    assert not resources.load_icon("voice-desktop").isNull()
    assert resources.load_icon("no-such-icon").isNull()

    resources.set_resources_dir(tmp_path)  # a bundle that shipped without them
    assert resources.resources_dir() == tmp_path
    assert resources.load_stylesheet() == ""
    assert resources.load_icon("mic").isNull()

    (tmp_path / "icons").mkdir()
    (tmp_path / "icons" / "broken.svg").write_text("<svg", encoding="utf-8")
    assert resources.load_icon("broken").isNull()


def test_resources_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(resources.ENV_VAR, str(tmp_path))
    assert resources.resources_dir() == tmp_path


def test_throttle_runs_first_call_at_once_and_merges_the_rest(qtbot):
    calls = []
    throttle = Throttle(lambda: calls.append(True), interval_ms=10_000)
    throttle()
    assert calls == [True]
    throttle()
    throttle()
    assert calls == [True] and throttle.pending
    throttle.flush()
    assert calls == [True, True] and not throttle.pending
    throttle()
    throttle.cancel()
    QCoreApplication.processEvents()
    assert calls == [True, True]
