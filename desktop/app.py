"""The composition root: builds every part, wires the signals, runs the loop.

Only this module knows everything; each part below it can be used alone.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib
import logging
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from logging.handlers import RotatingFileHandler
from pathlib import Path

__all__ = ["App", "PrivateRotatingFileHandler", "build_parser", "main", "setup_logging"]

log = logging.getLogger("desktop")

OFFLINE_MISSING = "Offline speech is not installed: run pip install 'voice-desktop[offline]'."


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
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _private_opener(path: str, flags: int) -> int:
    fd = os.open(path, flags, 0o600)
    os.fchmod(fd, 0o600)  # also narrows a file an older version created with the umask's mode
    return fd


class PrivateRotatingFileHandler(RotatingFileHandler):
    """A rotating log only its owner can read (0600), rotated files included: it names servers and devices."""

    def _open(self):  # noqa: ANN202 - logging's own signature
        return open(self.baseFilename, self.mode, encoding=self.encoding, errors=self.errors,  # noqa: SIM115
                    opener=_private_opener)


def setup_logging(verbose: bool) -> Path | None:
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    stderr = logging.StreamHandler()
    stderr.setFormatter(fmt)
    root.addHandler(stderr)
    try:
        path = _log_dir() / "voice-desktop.log"
        handler = PrivateRotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
        handler.setFormatter(fmt)
        root.addHandler(handler)
        return path
    except OSError:
        return None


def worker_pool() -> ThreadPoolExecutor:
    """The executor behind ``asyncio.to_thread``: plain Python threads.

    qasync's default (QThreadExecutor) starts ten QThreads per loop; under load its threads' teardown
    crashed Qt's timer dispatch (seen in the test suite), and nothing here needs a Qt thread.
    """
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="vd-worker")


class App:
    """Everything the window needs, built and wired; ``run()`` until the window closes."""

    def __init__(self, qapp, args: argparse.Namespace) -> None:
        from PySide6.QtCore import QSettings

        from desktop.audio.backend import AudioBackend
        from desktop.controller import Controller, connect_window
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
        self.settings = self.store.load(secrets=False)  # the keyring is read off the GUI thread, in start()
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
        self.history.set_endpoint(self._endpoint)
        self.history.notice.connect(self.window.show_notice)
        self.window.history_requested.connect(lambda: self.history.open_panel(self.window))
        self.window.reset_requested.connect(self.history.on_new_conversation)
        self.diagnostics = None  # the Diagnostics panel, built when first asked for
        self.integration = None  # tray, global key, single instance: set by main() (desktop/integration.py)
        self.window.diagnostics_requested.connect(self.open_diagnostics)
        self.closed = asyncio.Event()
        self.window.quit_requested.connect(self.closed.set)  # not a method of self: no reference cycle
        self._apply_lock = asyncio.Lock()
        self._shut_down = False
        self.ollama_url = "http://127.0.0.1:11434/v1"  # where a local model server is looked for
        self._secrets: asyncio.Future[None] | None = None
        self._settings_opening: asyncio.Task[None] | None = None

    def open_diagnostics(self) -> None:
        from desktop.ui.diagnostics import DiagnosticsDialog

        if self.diagnostics is None:
            self.diagnostics = DiagnosticsDialog(self.window)
            self.diagnostics.refresh_requested.connect(
                lambda: self.diagnostics.set_figures(self.controller.diagnostics()))
            self.controller.diagnostics_changed.connect(self.diagnostics.set_figures)
        self.diagnostics.show()
        self.diagnostics.raise_()

    def request_quit(self) -> None:
        """Ctrl+Q, the last window closed, SIGTERM/SIGINT: :meth:`run` shuts down and returns."""
        self.closed.set()

    def open_settings(self) -> None:
        """Open Settings once what it shows is gathered off the GUI thread (saved secrets from the keyring,
        the protocol plugins, the audio devices)."""
        if self._settings_opening is not None and not self._settings_opening.done():
            return  # already on its way (a double click, Ctrl+, held)
        self._settings_opening = self.controller.spawn(self._open_settings(), "Opening Settings")

    async def _open_settings(self) -> None:
        from PySide6.QtCore import Qt

        from desktop import protocols

        # The dialog's modules (and what they import) load on a worker thread: the first time is ~0.1 s.
        module = await asyncio.to_thread(importlib.import_module, "desktop.ui.settings_dialog")
        SettingsDialog, list_devices = module.SettingsDialog, module.list_devices  # noqa: N806
        await self._secrets_loaded()  # a dialog without the saved key would save it away
        infos, devices = await asyncio.gather(asyncio.to_thread(protocols.available),
                                              asyncio.to_thread(list_devices))
        dialog = SettingsDialog(self.settings, parent=self.window, protocol_infos=infos, devices=devices)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.applied.connect(self.apply_settings)
        # The skeleton and the page in front are built on separate turns of the loop. Not sleep(0): under qasync
        # that resumes this task before Qt looks at its due timers, so the two would hold the GUI thread as one.
        await asyncio.sleep(0.001)
        dialog.open()

    async def _secrets_loaded(self) -> None:
        """The saved secrets are read from the keyring once, on a worker thread (it may ask to unlock)."""
        if self._secrets is None:
            self._secrets = asyncio.ensure_future(asyncio.to_thread(self.store.load_secrets, self.settings))
        await asyncio.shield(self._secrets)

    def apply_settings(self, settings) -> None:
        """Save and apply at once; only what changed is redone (see :meth:`_apply`)."""
        previous, self.settings = self.settings, settings
        self.window.set_talk_mode(settings.talk_mode)
        self.window.set_talk_key(settings.hotkey)
        self.controller.echo_cancellation = settings.echo_cancellation
        if self.integration is not None:
            self.integration.apply(settings)
        self.controller.set_talk_mode(settings.talk_mode)
        self.history.set_keep(settings.keep_history)
        self.controller.spawn(self._apply(previous, settings), "Applying the settings")

    async def _apply(self, previous, settings) -> None:
        """Reconnect only if the endpoint changed (a new session makes Gemini forget the conversation);
        reopen only the devices that changed. Saving (keyring, file sync) runs off the GUI thread."""
        from desktop.endpoint import Endpoint

        async with self._apply_lock:  # two quick Applies are applied in order, never interleaved
            try:
                await asyncio.to_thread(self.store.save, settings)
            except RuntimeError as exc:
                self.window.show_error(str(exc))
            endpoint = await self._resolved(Endpoint.from_settings(settings))
            self.history.set_endpoint(endpoint)
            if endpoint != self.controller.endpoint:
                log.info("Settings changed the endpoint: reconnecting")
                await self.controller.apply(endpoint)
            audio = (settings.input_device, settings.output_device, settings.jitter_ms)
            if audio != (previous.input_device, previous.output_device, previous.jitter_ms) and \
                    self.controller.audio is not None:
                await self.controller.reopen_audio(*audio)

    @property
    def _endpoint(self):
        from desktop.endpoint import Endpoint

        return Endpoint.from_settings(self.settings)

    async def start(self) -> None:
        """Connect and open the devices (once the window is up); the offline models load alongside."""
        await self.history.start()  # the last conversation is shown again (and unsent text re-sent) first
        await self._secrets_loaded()
        endpoint = await self._resolved(self._endpoint)
        if endpoint.embedded and endpoint.processor == "local":
            self.controller.spawn(self._preload_offline(), "Loading offline speech")
        # Devices first: opening them (PortAudio/ALSA open and close many descriptors) while the WebSocket
        # handshake was in flight left the loop deaf to the socket in most runs as a process (tests/desktop).
        await self.controller.start_audio()
        await self.controller.apply(endpoint)

    async def _resolved(self, endpoint):
        """``endpoint`` with the local model server found automatically (Ollama answering at its default
        address) when the offline assistant runs and none is set. Not saved: found again at each start."""
        if not endpoint.embedded or endpoint.processor != "local" or dict(endpoint.config).get("llm_url"):
            return endpoint
        try:
            llm = await asyncio.to_thread(importlib.import_module, "desktop.assistant.llm")
        except ImportError:
            return endpoint
        found = await llm.discover_ollama(self.ollama_url)
        if found is None:
            return endpoint
        log.info("Found a local model server at %s (%d models)", found.url, len(found.models))
        config = dict(endpoint.config)
        config["llm_url"] = found.url
        if found.models and not config.get("llm_model"):
            config["llm_model"] = found.models[0]
        return dataclasses.replace(endpoint, config=tuple(sorted(config.items())))

    async def _preload_offline(self) -> None:
        """Load the offline speech models now, showing progress, so the first spoken reply does not wait;
        say clearly when the extra is missing or a model is broken (typed turns still work)."""
        from desktop.processors import PROCESSORS

        if "local" not in PROCESSORS:
            return
        try:
            models = await asyncio.to_thread(importlib.import_module, "desktop.processors.local.models")
        except ImportError as exc:
            log.warning("Offline speech cannot load: %s", exc)
            self.window.show_error(f"{OFFLINE_MISSING} Typed questions still work.")
            return

        def progress(done: int, total: int, _what: str) -> None:
            self.controller.loading_changed.emit(f"Loading offline speech… {done} of {total}" if done < total else "")

        progress(0, 3, "")
        try:
            loaded = await models.preload(progress)
        finally:
            self.controller.loading_changed.emit("")
        if loaded.message:
            self.window.show_error(f"{loaded.message.rstrip('.')}. Typed questions still work.")

    async def run(self, closed: asyncio.Event) -> None:
        """Show the window, start, wait until ``closed`` is set, then :meth:`shutdown`."""
        from desktop.ui.first_paint import first_paint

        self.window.show()
        await first_paint(self.window)  # the first frame before the server starts (its imports take ~0.3 s)
        try:
            self.controller.spawn(self.start(), "Starting")
            await closed.wait()
        finally:
            await self.shutdown()

    async def shutdown(self) -> None:
        """Close the session, the server, the devices and the history, in that order. Safe to repeat;
        a failing step is logged and the others still run."""
        if self._shut_down:
            return
        self._shut_down = True
        try:
            await self.controller.shutdown()
        except Exception:
            log.exception("Shutting down the controller failed")
        try:
            await self.history.close()
        except Exception:
            log.exception("Closing the history failed")
        log.info("Voice Desktop closed cleanly")


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

    from desktop import qt_gc

    qapp = QApplication.instance() or QApplication(sys.argv[:1])
    qapp.setApplicationName("Voice Desktop")
    qapp.setOrganizationName("voice-desktop")
    qapp.setDesktopFileName("voice-desktop")
    # We quit ourselves, after shutting down: Qt quitting on its own stops the loop mid-shutdown.
    qapp.setQuitOnLastWindowClosed(False)
    from desktop import theme
    from desktop.integration import DesktopIntegration
    from desktop.single_instance import SingleInstance, instance_key

    instance = SingleInstance(instance_key(args.settings))
    if not instance.claim():
        print("voice-desktop: already running; its window was brought to the front", file=sys.stderr)
        return 0
    theme.install(qapp)  # before any window: the stylesheet is loaded as widgets are built
    qt_gc.install(qapp)  # cycles holding QObjects are freed on this thread, never in an audio/worker thread
    loop = qasync.QEventLoop(qapp)
    loop.set_default_executor(worker_pool())
    asyncio.set_event_loop(loop)
    app = App(qapp, args)
    if log_path:
        log.info("Logging to %s", log_path)
    app.integration = DesktopIntegration(app, instance, quit=app.request_quit)
    qapp.lastWindowClosed.connect(app.request_quit)
    qapp.aboutToQuit.connect(app.request_quit)
    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(signum, app.request_quit)
        except (NotImplementedError, RuntimeError):  # Windows: Ctrl+C and logout go through Qt
            pass
    with loop:
        task = loop.create_task(app.run(app.closed))
        for _attempt in range(3):
            try:
                loop.run_until_complete(task)
                break
            except RuntimeError as exc:  # something called QApplication.quit(): finish shutting down anyway
                if task.done():
                    raise
                log.info("The event loop stopped early (%s); finishing the shutdown", exc)
                app.request_quit()
    app.integration.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
