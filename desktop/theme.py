"""A dark look when the system is dark: the same stylesheet with its colours mapped, and a dark palette.

Why a colour map instead of a second stylesheet: one ``resources/style.qss`` stays the only place that says
what each widget looks like; dark mode only swaps colours. A colour means different things as a background
and as text (white cards vs. white text on the blue talk button), so each declaration is mapped by its
property: ``color`` through :data:`DARK_TEXT`, everything else through :data:`DARK_SURFACE`. Colours not in
the maps pass through unchanged.

``VOICE_DESKTOP_THEME=dark|light`` overrides what the system says (``auto``, the default, asks Qt).
"""

from __future__ import annotations

import os
import re

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette

__all__ = ["DARK_SURFACE", "DARK_TEXT", "dark_palette", "darken_stylesheet", "install", "system_is_dark"]

ENV_VAR = "VOICE_DESKTOP_THEME"

DARK_SURFACE = {
    "#ffffff": "#202328", "#f5f6f8": "#16181b", "#e3e6eb": "#34383f", "#eef1f5": "#2a2e35", "#e8eefc": "#22304f",
    "#e3ecff": "#243457", "#f7f9ff": "#1c2333", "#fdecea": "#3a1f1e", "#f8d7d3": "#4a2623", "#f6c9c4": "#5a2b27",
    "#dfe3e8": "#3a3f47", "#dde3ee": "#2c3340", "#d3d8df": "#444a53", "#cfdcfb": "#2d3f6b", "#c9ced6": "#4a5059",
    "#c5cbd4": "#505660", "#c3d1f5": "#34487a", "#b9cbf7": "#3b5290", "#aab1bc": "#5d646e", "#9db4ee": "#4a63a8",
    "#2f5fe0": "#3d6bf0", "#2a55cc": "#3560e0", "#1f2328": "#0f1113", "#8a919c": "#6b727c", "#5b6470": "#8a929e",
}
DARK_TEXT = {
    "#1f2328": "#e6e8eb", "#5b6470": "#a3abb6", "#8a919c": "#7d8591", "#2f5fe0": "#7aa2ff", "#b42318": "#ff8a80",
    "#b45309": "#f0a040", "#d92d20": "#ff6b60", "#8a1c1c": "#ffb4ab", "#3b5bb5": "#9bb5ff", "#2a55cc": "#8fb0ff",
}
_DECLARATION = re.compile(r"(?P<prop>[\w-]+)\s*:\s*(?P<value>[^;{}]+);")
_HEX = re.compile(r"#[0-9a-fA-F]{6}\b")


def darken_stylesheet(qss: str) -> str:
    """The dark variant of a light stylesheet (see the module docstring for the rule)."""
    def declaration(match: re.Match[str]) -> str:
        colours = DARK_TEXT if match["prop"] in ("color", "selection-color") else DARK_SURFACE
        value = _HEX.sub(lambda m: colours.get(m[0].lower(), m[0]), match["value"])
        return f"{match['prop']}: {value};"

    return _DECLARATION.sub(declaration, qss)


def system_is_dark(app: QGuiApplication) -> bool:
    choice = os.environ.get(ENV_VAR, "auto").lower()
    if choice in ("dark", "light"):
        return choice == "dark"
    scheme = app.styleHints().colorScheme()
    if scheme != Qt.ColorScheme.Unknown:
        return scheme == Qt.ColorScheme.Dark
    return app.palette().color(QPalette.ColorRole.Window).lightness() < 128


def dark_palette() -> QPalette:
    """For what the stylesheet does not cover (standard dialogs, menus of the tray)."""
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#16181b", QPalette.ColorRole.WindowText: "#e6e8eb",
        QPalette.ColorRole.Base: "#202328", QPalette.ColorRole.AlternateBase: "#2a2e35",
        QPalette.ColorRole.Text: "#e6e8eb", QPalette.ColorRole.Button: "#2a2e35",
        QPalette.ColorRole.ButtonText: "#e6e8eb", QPalette.ColorRole.Highlight: "#3d6bf0",
        QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.ToolTipBase: "#0f1113",
        QPalette.ColorRole.ToolTipText: "#e6e8eb", QPalette.ColorRole.PlaceholderText: "#7d8591",
        QPalette.ColorRole.Link: "#7aa2ff",
    }
    for role, colour in roles.items():
        palette.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6b727c"))
    return palette


def install(app: QGuiApplication) -> bool:
    """Use the dark look if the system is dark; True if it did. Call before the window is built."""
    from desktop.ui import resources

    dark = system_is_dark(app)
    if dark:
        app.setPalette(dark_palette())
    if hasattr(resources, "set_stylesheet_filter"):
        resources.set_stylesheet_filter(darken_stylesheet if dark else None)
    return dark
