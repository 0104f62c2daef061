"""``voice-desktop --self-test`` from a source install, run as a real process."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

TIMEOUT = 120


def run_self_test(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "desktop", "--self-test", *args], capture_output=True, text=True,
                          timeout=TIMEOUT, env={**os.environ, **(env or {})})


def lines_of(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """``{check name: status}`` from the report."""
    found = {}
    for line in done.stdout.splitlines():
        status, _, rest = line.partition("  ")
        if status.strip() in ("ok", "warn", "FAIL") and ":" in rest:
            found[rest.split(":", 1)[0].strip()] = status.strip()
    return found


def test_healthy_install_passes(tmp_path):
    done = run_self_test("--settings", str(tmp_path / "settings.ini"))
    assert done.returncode == 0, done.stdout + done.stderr
    checks = lines_of(done)
    for name in ("embedded server", "settings dir", "data dir", "TLS roots", "Qt", "offline speech", "keyring"):
        assert checks.get(name) in ("ok", "warn"), (name, done.stdout)
    assert checks["embedded server"] == "ok"
    assert checks["Qt"] == "ok"
    assert "all checks passed" in done.stdout


def test_no_audio_devices_is_a_warning_not_a_failure(tmp_path):
    # No sound server is reachable from this environment: PortAudio lists nothing.
    done = run_self_test("--settings", str(tmp_path / "settings.ini"),
                         env={"PULSE_SERVER": f"unix:{tmp_path}/nowhere", "PULSE_RUNTIME_PATH": str(tmp_path)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert lines_of(done)["audio"] == "warn"


@pytest.mark.audio
def test_audio_devices_are_listed(pulse, tmp_path):
    done = run_self_test("--settings", str(tmp_path / "settings.ini"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert lines_of(done)["audio"] == "ok", done.stdout


def test_unwritable_settings_dir_fails_with_one_line(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    done = run_self_test("--settings", str(blocker / "settings.ini"))
    assert done.returncode == 1
    failed = [line for line in done.stdout.splitlines() if line.startswith("FAIL")]
    assert len(failed) == 1 and "settings dir" in failed[0] and str(blocker) in failed[0], done.stdout
    assert "1 check(s) failed" in done.stdout


def test_unwritable_data_dir_fails(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    done = run_self_test("--settings", str(tmp_path / "settings.ini"),
                         env={"XDG_DATA_HOME": str(blocker), "XDG_STATE_HOME": str(blocker)})
    assert done.returncode == 1
    assert lines_of(done)["data dir"] == "FAIL", done.stdout
    assert lines_of(done)["embedded server"] == "ok"


def test_a_qt_platform_that_cannot_load_is_reported_not_a_crash(tmp_path):
    done = run_self_test("--settings", str(tmp_path / "settings.ini"), env={"QT_QPA_PLATFORM": "no-such-platform"})
    assert done.returncode == 1
    assert lines_of(done)["Qt"] == "FAIL", done.stdout
    # The other checks still ran and reported.
    assert lines_of(done)["keyring"] in ("ok", "warn")
