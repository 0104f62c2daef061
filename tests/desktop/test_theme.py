"""The dark look: colours mapped by what they colour, and the real window drawn dark."""

from __future__ import annotations

import pytest

from desktop import theme
from desktop.ui import resources
from desktop.ui.main_window import MainWindow


@pytest.fixture
def dark(qapp, monkeypatch):
    monkeypatch.setenv(theme.ENV_VAR, "dark")
    palette = qapp.palette()
    assert theme.install(qapp)
    yield
    resources.set_stylesheet_filter(None)
    qapp.setPalette(palette)


def test_white_text_stays_white_while_white_cards_go_dark():
    qss = "QPushButton#talkButton { background: #2f5fe0; color: #ffffff; }\nQFrame { background: #ffffff; }"
    out = theme.darken_stylesheet(qss)
    assert "color: #ffffff;" in out  # text on the accent button
    assert "QFrame { background: #202328; }" in out
    assert "background: #3d6bf0;" in out


def test_text_colours_get_lighter_and_unknown_colours_pass():
    out = theme.darken_stylesheet("QLabel { color: #1f2328; border: 1px solid #123456; }")
    assert "color: #e6e8eb;" in out and "#123456" in out


def test_every_colour_in_the_stylesheet_has_a_dark_counterpart():
    light = resources.load_stylesheet()
    assert light, "resources/style.qss not found"
    unmapped = {c.lower() for c in theme._HEX.findall(light)} - set(theme.DARK_SURFACE) - set(theme.DARK_TEXT)
    assert unmapped == set(), "add these to desktop/theme.py"


def test_the_real_window_is_drawn_dark(qapp, dark):
    window = MainWindow()
    window.show()
    qapp.processEvents()
    image = window.grab().toImage()
    corner = image.pixelColor(image.width() // 2, image.height() // 3)  # the transcript's background
    assert corner.lightness() < 80, corner.name()
    window.close()


def test_light_is_light(qapp, monkeypatch):
    monkeypatch.setenv(theme.ENV_VAR, "light")
    assert not theme.install(qapp)
    window = MainWindow()
    window.show()
    qapp.processEvents()
    image = window.grab().toImage()
    assert image.pixelColor(image.width() // 2, image.height() // 3).lightness() > 200
    window.close()
