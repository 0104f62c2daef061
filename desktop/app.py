"""The composition root: builds every part, wires the signals, runs the loop.

Only this module knows everything; each part below it can be used alone.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

__all__ = ["App", "build_parser", "main"]

log = logging.getLogger("desktop")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voice-desktop", description="Voice Desktop: talk to a voice assistant.")
    parser.add_argument("--processor", help="embedded server processor (echo, gemini, …); overrides Settings")
    parser.add_argument("--url", help="talk to this remote server instead of the embedded one")
    parser.add_argument("--protocol", default=None, help="wire protocol of --url (default: live_server)")
    parser.add_argument("--no-audio", action="store_true", help="do not open audio devices (text only)")
    parser.add_argument("--settings", metavar="FILE", help="use this settings file (INI) instead of the default")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--export-history", metavar="FILE.md|FILE.json",
                        help="write the saved conversations to FILE (Markdown or JSON, by its ending) and exit")
    parser.add_argument("--conversation", metavar="ID|all", default="all",
                        help="with --export-history: only this conversation (its id in History)")
    parser.add_argument("--self-test", action="store_true",
                        help="check this install without opening a window; exit 0 if it can run, else 1")
    parser.add_argument("--self-test-part", choices=["qt"], help=argparse.SUPPRESS)
    return parser


def history_path() -> Path:
    """Where the history lives. GenericDataLocation + our folder: AppDataLocation would append the
    organisation *and* application names (``voice-desktop/Voice Desktop``); this is ~/.local/share/voice-desktop
    on Linux, the same folder in ~/Library/Application Support or %LOCALAPPDATA% elsewhere."""
    from PySide6.QtCore import QStandardPaths

    from desktop.history import FILE_NAME

    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericDataLocation)
    return Path(base) / "voice-desktop" / FILE_NAME


def export_history(target: str, conversation: str) -> int:
    """``--export-history``: no window, no display needed; an error in words and exit status 1."""
    from desktop.history import ExportError, HistoryReader, export_to_file

    try:
        ids = None if conversation.strip().lower() == "all" else [int(conversation)]
    except ValueError:
        print(f"voice-desktop: --conversation takes a number or 'all', not {conversation!r}", file=sys.stderr)
        return 2
    source = history_path()
    if not source.exists():
        print(f"voice-desktop: there is no history yet ({source} does not exist)", file=sys.stderr)
        return 1
    reader = HistoryReader(source)
    try:
        count = reader.run(export_to_file, target, ids)
    except (ExportError, OSError) as exc:
        print(f"voice-desktop: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # sqlite3.DatabaseError and kin: a damaged file is the app's to move aside
        print(f"voice-desktop: cannot read the history {source}: {exc}", file=sys.stderr)
        return 1
    finally:
        reader.close()
    print(f"Exported {count} conversation{'s' * (count != 1)} to {target}")
    return 0


def _has_display() -> bool:
    if sys.platform != "linux":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM"))


def _log_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    path = Path(base) / "voice-desktop"
    path.mkdir(parents=True, exist_ok=True)
    return path


def setup_logging(verbose: bool) -> Path | None:
    from logging.handlers import RotatingFileHandler

    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    stderr = logging.StreamHandler()
    stderr.setFormatter(fmt)
    root.addHandler(stderr)
    try:
        path = _log_dir() / "voice-desktop.log"
        handler = RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
        handler.setFormatter(fmt)
        root.addHandler(handler)
        return path
    except OSError:
        return None


class App:
    """Everything the window needs, built and wired; ``run()`` until the window closes."""

    def __init__(self, qapp, args: argparse.Namespace) -> None:
        from PySide6.QtCore import QSettings

        from desktop.controller import AudioBackend, Controller, Endpoint, connect_window
        from desktop.history.legacy import default_legacy_path
        from desktop.history_controller import HistoryController
        from desktop.settings import SettingsStore
        from desktop.transcript import TranscriptModel
        from desktop.ui.main_window import MainWindow

        self.qapp = qapp
        self.args = args
        qsettings = (QSettings(args.settings, QSettings.Format.IniFormat) if args.settings
                     else QSettings("voice-desktop", "voice-desktop"))
        self.store = SettingsStore(qsettings)
        self.settings = self.store.load()
        if args.processor:
            self.settings.server_mode, self.settings.processor = "embedded", args.processor
        if args.url:
            self.settings.server_mode, self.settings.remote_url = "remote", args.url
            self.settings.remote_protocol = args.protocol or "live_server"
        self.transcript = TranscriptModel()
        audio = None if args.no_audio else AudioBackend(
            self.settings.input_device, self.settings.output_device, self.settings.jitter_ms)
        self.controller = Controller(self.transcript, audio)
        self.controller.talk_mode = self.settings.talk_mode
        self.history = HistoryController(history_path(), keep=self.settings.keep_history, transcript=self.transcript,
                                         controller=self.controller, legacy_path=default_legacy_path())
        self.controller.echo_cancellation = self.settings.echo_cancellation
        self.window = MainWindow()
        self.window.set_transcript_model(self.transcript)
        connect_window(self.window, self.controller, self.open_settings)
        self.window.set_talk_key(self.settings.hotkey)
        self._endpoint = Endpoint.from_settings(self.settings)
        self.history.set_endpoint(self._endpoint)
        self.history.notice.connect(self.window.show_notice)
        self.window.history_requested.connect(lambda: self.history.open_panel(self.window))
        self.window.reset_requested.connect(self.history.on_new_conversation)
        self.diagnostics = None  # the Diagnostics panel, built when first asked for
        self.integration = None  # tray, global key, single instance: set by main() (desktop/integration.py)
        self.window.diagnostics_requested.connect(self.open_diagnostics)

    def open_diagnostics(self) -> None:
        from desktop.ui.diagnostics import DiagnosticsDialog

        if self.diagnostics is None:
            self.diagnostics = DiagnosticsDialog(self.window)
            self.diagnostics.refresh_requested.connect(
                lambda: self.diagnostics.set_figures(self.controller.diagnostics()))
            self.controller.diagnostics_changed.connect(self.diagnostics.set_figures)
        self.diagnostics.show()
        self.diagnostics.raise_()

    def open_settings(self) -> None:
        from PySide6.QtCore import Qt

        try:
            from desktop.ui.settings_dialog import SettingsDialog
        except ImportError:
            self.window.show_notice("Settings are not available in this build yet.")
            return
        dialog = SettingsDialog(self.settings, parent=self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.applied.connect(self.apply_settings)
        dialog.open()

    def apply_settings(self, settings) -> None:
        """Save and apply at once: reconnect if the server changed, reopen devices if audio changed."""
        from desktop.controller import Endpoint

        previous, self.settings = self.settings, settings
        try:
            self.store.save(settings)
        except RuntimeError as exc:
            self.window.show_error(str(exc))
        self.window.set_talk_mode(settings.talk_mode)
        self.window.set_talk_key(settings.hotkey)
        self.controller.echo_cancellation = settings.echo_cancellation
        if self.integration is not None:
            self.integration.apply(settings)
        self.controller.set_talk_mode(settings.talk_mode)
        self.history.set_keep(settings.keep_history)
        endpoint = Endpoint.from_settings(settings)
        self.history.set_endpoint(endpoint)
        if endpoint != self.controller.endpoint:
            asyncio.ensure_future(self.controller.apply(endpoint))
        audio = (settings.input_device, settings.output_device, settings.jitter_ms)
        if audio != (previous.input_device, previous.output_device, previous.jitter_ms) and \
                self.controller.audio is not None:
            asyncio.ensure_future(self.controller.reopen_audio(*audio))

    async def run(self, closed: asyncio.Event) -> None:
        from desktop.ui.first_paint import first_paint

        self.window.show()
        await first_paint(self.window)  # the first frame before the server starts (its imports take ~0.3 s)
        await self.history.start()  # the last conversation is shown again (and unsent text re-sent) first
        # Devices first: opening them (PortAudio/ALSA open and close many descriptors) while the WebSocket
        # handshake was in flight left the loop deaf to the socket in most runs as a process (tests/desktop).
        await self.controller.start_audio()
        await self.controller.apply(self._endpoint)
        await closed.wait()
        await self.controller.shutdown()
        await self.history.close()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.export_history:
        return export_history(args.export_history, args.conversation)
    if args.conversation != "all":
        parser.error("--conversation goes with --export-history")
    if args.self_test or args.self_test_part:
        from desktop import selftest

        return selftest.run_qt_part() if args.self_test_part else selftest.run_self_test(args.settings)
    if not _has_display():
        print("voice-desktop: no display (DISPLAY is not set). Run it under a virtual one: "
              "xvfb-run -a voice-desktop", file=sys.stderr)
        return 2
    log_path = setup_logging(args.verbose)
    import qasync
    from PySide6.QtWidgets import QApplication

    qapp = QApplication.instance() or QApplication(sys.argv[:1])
    qapp.setApplicationName("Voice Desktop")
    qapp.setOrganizationName("voice-desktop")
    qapp.setDesktopFileName("voice-desktop")
    from desktop import theme
    from desktop.integration import DesktopIntegration
    from desktop.single_instance import SingleInstance, instance_key

    instance = SingleInstance(instance_key(args.settings))
    if not instance.claim():
        print("voice-desktop: already running; its window was brought to the front", file=sys.stderr)
        return 0
    theme.install(qapp)  # before any window: the stylesheet is loaded as widgets are built
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    app = App(qapp, args)
    if log_path:
        log.info("Logging to %s", log_path)
    closed = asyncio.Event()
    app.integration = DesktopIntegration(app, instance, quit=closed.set)
    qapp.aboutToQuit.connect(closed.set)
    qapp.lastWindowClosed.connect(closed.set)
    with loop:
        loop.run_until_complete(app.run(closed))
    app.integration.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
