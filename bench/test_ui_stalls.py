"""The GUI thread never blocks: the largest event-loop stall while opening Settings, applying them and quitting.

The real App (window, controller, embedded echo server, PortAudio devices on the private PulseAudio) on a
qasync loop; a probe task wakes every 5 ms and records how late it woke. Anything that blocks the GUI thread
(a keyring call, QSettings.sync(), PortAudio opening a device, an entry-point scan) shows as a late wake-up.
Figures only, no asserts on time (the target, < 30 ms, is in the summary table).
"""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from . import _results

pytestmark = pytest.mark.bench

TICK = 0.005
TARGET = "< 30 ms"


class StallProbe:
    """Wakes every TICK seconds; ``worst`` is the largest lateness (ms) since the last :meth:`phase`."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + TICK
            await asyncio.sleep(TICK)
            self.worst = max(self.worst, (loop.time() - due) * 1000)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def phase(self) -> float:
        worst, self.worst = self.worst, 0.0
        return worst

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


async def until(predicate, timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


def test_largest_event_loop_stall_opening_settings_applying_and_quitting(pulse, tmp_path, monkeypatch):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    import keyring
    import qasync
    from keyring.backends.null import Keyring as NullKeyring
    from PySide6.QtWidgets import QApplication

    from desktop.app import App, build_parser, worker_pool
    from desktop.ui.settings_dialog import SettingsDialog

    previous_keyring = keyring.get_keyring()
    keyring.set_keyring(NullKeyring())
    qapp = QApplication.instance() or QApplication([])
    qapp.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(qapp)
    loop.set_default_executor(worker_pool())
    asyncio.set_event_loop(loop)
    app = App(qapp, build_parser().parse_args(["--processor", "echo", "--settings", str(tmp_path / "s.ini")]))
    figures: dict[str, float] = {}

    async def scenario() -> None:
        probe = StallProbe()
        app.window.show()
        await app.start()
        await until(lambda: app.controller.session is not None and app.controller.session.connected)
        await asyncio.sleep(0.5)
        probe.start()
        await asyncio.sleep(0.5)
        figures["idle, window open"] = probe.phase()
        started = time.perf_counter()
        app.window.settings_action.trigger()
        await until(lambda: app.window.findChild(SettingsDialog) is not None)
        dialog = app.window.findChild(SettingsDialog)
        await until(lambda: dialog.isVisible() and all(dialog.pages_built))
        figures["opening Settings (keyring, plugins, devices, pages)"] = probe.phase()
        figures["opening Settings: wall time"] = (time.perf_counter() - started) * 1000
        dialog.show_page(dialog.audio)
        await until(lambda: dialog.monitor.running and not dialog.monitor.busy)  # the meter's mic is open
        figures["showing its Audio tab (mic monitor)"] = probe.phase()
        dialog.audio.jitter.setValue(dialog.audio.jitter.value() + 20)
        dialog.voice.voice.setCurrentText("Kore")  # an endpoint change too: the server restarts
        session = app.controller.session
        dialog.ok_button.click()
        await until(lambda: app.controller.session is not session and app.controller.session is not None
                    and app.controller.session.connected)
        await app.controller.wait_idle()
        figures["applying Settings (save, reconnect, reopen the speaker)"] = probe.phase()
        await app.shutdown()
        figures["quitting (session, server, devices, history)"] = probe.phase()
        await probe.stop()

    try:
        with loop:
            loop.run_until_complete(scenario())
    finally:
        app.window.close()
        app.window.deleteLater()
        asyncio.set_event_loop(None)
        keyring.set_keyring(previous_keyring)
        qapp.setQuitOnLastWindowClosed(True)

    print()
    for what, ms in figures.items():
        print(f"  largest event-loop stall, {what}: {ms:.1f} ms" if "wall" not in what else f"  {what}: {ms:.0f} ms")
        if "wall" in what:
            _results.record("GUI thread", what, round(ms), "ms")
        else:
            _results.record("GUI thread", f"largest stall, {what}", round(ms, 1), "ms", TARGET, ms < 30)
