"""Where icons and the stylesheet live, and loading them without ever failing.

From a source checkout the ``resources/`` folder sits next to the ``desktop``
package. A bundle (PyInstaller) unpacks elsewhere, so the folder can be set
with :func:`set_resources_dir` or the ``VOICE_DESKTOP_RESOURCES`` environment
variable; ``sys._MEIPASS/resources`` is tried as well. If nothing is found the
app still runs: icons come back empty and the stylesheet blank.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QIcon, QImage, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

__all__ = ["ENV_VAR", "load_icon", "load_stylesheet", "resource_path", "resources_dir", "set_resources_dir",
           "set_stylesheet_filter"]

log = logging.getLogger(__name__)

ENV_VAR = "VOICE_DESKTOP_RESOURCES"
#: Rendered ahead for each icon. Buttons and menus need at most 24 px at twice the pixel ratio; the app's own icon
#: also goes to the window manager, the tray and the launcher, which ask for large sizes. A 256 px render costs
#: 14 times a 48 px one, and the window draws eight icons before it first shows.
UI_ICON_SIZES = (16, 20, 24, 32, 48)
APP_ICON_SIZES = (16, 20, 24, 32, 48, 64, 128, 256)

_override: Path | None = None
_stylesheet_filter = None  # e.g. desktop.theme.darken_stylesheet when the system is dark


def set_stylesheet_filter(transform) -> None:
    """Pass every loaded stylesheet through ``transform(text) -> text`` (``None``: as written)."""
    global _stylesheet_filter
    _stylesheet_filter = transform


def set_resources_dir(path: str | os.PathLike[str] | None) -> None:
    """Use ``path`` as the resources folder from now on (``None`` goes back to searching)."""
    global _override
    _override = Path(path) if path is not None else None


def _candidates() -> list[Path]:
    found = []
    if _override is not None:
        found.append(_override)
    if env := os.environ.get(ENV_VAR):
        found.append(Path(env))
    if bundle := getattr(sys, "_MEIPASS", None):
        found.append(Path(bundle) / "resources")
    found.append(Path(__file__).resolve().parents[2] / "resources")
    return found


def resources_dir() -> Path | None:
    """The first existing resources folder, or ``None`` when there is none."""
    for candidate in _candidates():
        if candidate.is_dir():
            return candidate
    return None


def resource_path(*parts: str) -> Path | None:
    """A file inside the resources folder, or ``None`` if it is missing."""
    base = resources_dir()
    if base is None:
        return None
    path = base.joinpath(*parts)
    return path if path.is_file() else None


def load_stylesheet(name: str = "style.qss") -> str:
    """The Qt stylesheet text, or ``""`` if it cannot be read (the app then uses the plain style)."""
    path = resource_path(name)
    if path is None:
        log.info("Stylesheet %s not found; using the default look", name)
        return ""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        log.warning("Could not read stylesheet %s: %s", path, exc)
        return ""
    return _stylesheet_filter(text) if _stylesheet_filter is not None else text


def load_icon(name: str, color: str | None = None, *, sizes: tuple[int, ...] = UI_ICON_SIZES) -> QIcon:
    """The SVG icon ``icons/<name>.svg``, drawn in ``color`` where it says ``currentColor``.

    One monochrome SVG serves every place it appears (white on the talk button,
    grey in the menu). Returns an empty :class:`QIcon` if the file is missing or broken.
    """
    path = resource_path("icons", f"{name}.svg")
    if path is None:
        return QIcon()
    try:
        svg = path.read_text(encoding="utf-8")
    except OSError as exc:
        log.warning("Could not read icon %s: %s", path, exc)
        return QIcon()
    if color is not None:
        svg = svg.replace("currentColor", color)
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    if not renderer.isValid():
        log.warning("Icon %s is not valid SVG", path)
        return QIcon()
    icon = QIcon()
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        icon.addPixmap(QPixmap.fromImage(image))
    return icon
