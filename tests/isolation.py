"""Keep every test and benchmark out of the real config, state, history and keyring of whoever runs them.

A pytest plugin (``pytest_plugins`` in tests/conftest.py; bench/conftest.py imports the fixture): the app and
its children, run in a test, write their settings, log and conversation history under the test's own
temporary home, never into the user's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

__all__ = ["home_env", "isolated_home"]


def home_env(home: Path) -> dict[str, str]:
    """The environment that keeps the app (and its children) under ``home``: config, state (the log), data (the
    history database), and keyring's null backend instead of the real keyring."""
    return {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_STATE_HOME": str(home / ".local" / "state"), "XDG_DATA_HOME": str(home / ".local" / "share"),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    for name, value in home_env(home).items():
        monkeypatch.setenv(name, value)
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GEMINI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return home
