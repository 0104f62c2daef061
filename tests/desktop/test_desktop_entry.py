"""make install-desktop / uninstall-desktop, run for real into a private XDG_DATA_HOME."""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "packaging" / "desktop_entry.py"


def run(*args: str, data_home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "XDG_DATA_HOME": str(data_home), "QT_QPA_PLATFORM": "offscreen"})


def test_install_then_uninstall(tmp_path):
    data_home = tmp_path / "share"
    program = Path(sys.executable).parent / "voice-desktop"
    done = run("install", "--exec", str(program), data_home=data_home)
    assert done.returncode == 0, done.stderr
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(data_home / "applications" / "voice-desktop.desktop")
    section = entry["Desktop Entry"]
    assert section["Exec"] == f'"{program.resolve()}"' and section["TryExec"] == str(program.resolve())
    assert section["Icon"] == "voice-desktop" and section["Name"] == "Voice Desktop"
    for size in (16, 48, 256):
        image = QImage(str(data_home / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "voice-desktop.png"))
        assert (image.width(), image.height()) == (size, size)
        assert image.pixelColor(size // 2, size // 2).alpha() == 255  # drawn, not an empty canvas
        assert image.pixelColor(0, 0).alpha() == 0  # the rounded corner stays transparent
    assert (data_home / "icons" / "hicolor" / "scalable" / "apps" / "voice-desktop.svg").is_file()

    done = run("uninstall", data_home=data_home)
    assert done.returncode == 0, done.stderr
    left = [p for p in data_home.rglob("*voice-desktop*")]
    assert left == []


def test_install_refuses_a_missing_program(tmp_path):
    done = run("install", "--exec", str(tmp_path / "nothing-here"), data_home=tmp_path / "share")
    assert done.returncode != 0 and "is not an executable" in done.stderr
    assert not (tmp_path / "share" / "applications").exists()
