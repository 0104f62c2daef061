"""Thin Qt widgets: they show the state they are given and emit what the user asks for.

Nothing here touches sockets, audio devices or asyncio; the composition root
connects these signals and slots to the controller.
"""

from __future__ import annotations

from .level_meter import LevelMeter
from .main_window import MainWindow
from .resources import resources_dir, set_resources_dir
from .status import ConnectionIndicator, MicIndicator, StatusBar
from .transcript_view import TranscriptView

__all__ = [
    "ConnectionIndicator",
    "LevelMeter",
    "MainWindow",
    "MicIndicator",
    "StatusBar",
    "TranscriptView",
    "resources_dir",
    "set_resources_dir",
]
