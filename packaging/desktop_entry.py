"""``make install-desktop`` / ``make uninstall-desktop``: the launcher entry and icons for the current user.

Installs ``$XDG_DATA_HOME/applications/voice-desktop.desktop`` (from ``resources/voice-desktop.desktop``, with
``Exec`` pointing at the bundle if one is built, else at the venv's ``voice-desktop``) and the icon in the hicolor
theme: PNGs rendered from ``resources/icons/voice-desktop.svg`` with Qt's SVG renderer at every usual size, plus
the SVG itself as ``scalable``. Uninstall removes exactly those files.

    python packaging/desktop_entry.py install [--exec PATH]
    python packaging/desktop_entry.py uninstall
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAME = "voice-desktop"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def installed_files() -> list[Path]:
    icons = data_home() / "icons" / "hicolor"
    return [data_home() / "applications" / f"{NAME}.desktop", icons / "scalable" / "apps" / f"{NAME}.svg",
            *(icons / f"{n}x{n}" / "apps" / f"{NAME}.png" for n in SIZES)]


def default_exec() -> Path:
    bundle = ROOT / "dist" / NAME / NAME
    return bundle if bundle.is_file() else ROOT / ".venv" / "bin" / NAME


def render_png(svg: Path, size: int, out: Path) -> None:
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"install-desktop: {svg} is not valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(out), "PNG"):
        raise SystemExit(f"install-desktop: could not write {out}")


def _refresh_caches() -> None:
    """Let menus notice at once; these tools are optional and their absence is fine."""
    for argv in (["update-desktop-database", str(data_home() / "applications")],
                 ["gtk-update-icon-cache", "-q", "-t", str(data_home() / "icons" / "hicolor")]):
        if shutil.which(argv[0]):
            subprocess.run(argv, check=False, capture_output=True)


def install(executable: Path) -> list[Path]:
    if not executable.is_file() or not os.access(executable, os.X_OK):
        raise SystemExit(f"install-desktop: {executable} is not an executable: run `make bundle` or `make run` first")
    from PySide6.QtGui import QGuiApplication

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    svg = ROOT / "resources" / "icons" / f"{NAME}.svg"
    entry, scalable, *pngs = installed_files()
    for size, png in zip(SIZES, pngs, strict=True):
        render_png(svg, size, png)
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(svg, scalable)
    lines = []
    for line in (ROOT / "resources" / f"{NAME}.desktop").read_text(encoding="utf-8").splitlines():
        if line.startswith("Exec="):
            line = f'Exec="{executable.resolve()}"'
        elif line.startswith("TryExec="):
            continue
        lines.append(line)
    lines.insert(lines.index("[Desktop Entry]") + 1, f"TryExec={executable.resolve()}")
    entry.parent.mkdir(parents=True, exist_ok=True)
    entry.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _refresh_caches()
    return installed_files()


def uninstall() -> list[Path]:
    removed = [path for path in installed_files() if path.is_file()]
    for path in removed:
        path.unlink()
    _refresh_caches()
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["install", "uninstall"])
    parser.add_argument("--exec", dest="executable", type=Path, help="the program the entry starts")
    args = parser.parse_args(argv)
    if args.action == "install":
        executable = args.executable or default_exec()
        files = install(executable)
        print(f"install-desktop: {files[0]} -> {executable.resolve()}, icons in {len(files) - 1} sizes")
    else:
        removed = uninstall()
        print(f"uninstall-desktop: removed {len(removed)} file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
