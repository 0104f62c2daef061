"""Keep every test and benchmark out of the real config, state, history and keyring of whoever runs them.

A pytest plugin (``pytest_plugins`` in tests/conftest.py; bench/conftest.py imports the fixture): the app and
its children, run in a test, write their settings, log and conversation history under the test's own
temporary home, never into the user's.
"""

from __future__ import annotations

import pytest

__all__ = ["isolated_home"]


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))  # the history database
    # Child processes (the app, the CLIs) get keyring's null backend: they never reach the real keyring either.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GEMINI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return home
