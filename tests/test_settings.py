"""Settings round-trip through a real QSettings file, secrets through the keyring only."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from desktop.settings import KEYRING_SERVICE, Settings, SettingsStore


@pytest.fixture
def settings_file(tmp_path):
    return tmp_path / "settings.ini"


def store_for(path) -> SettingsStore:
    return SettingsStore(QSettings(str(path), QSettings.Format.IniFormat))


def test_round_trip_keeps_values_and_keeps_secrets_out_of_the_file(settings_file, memory_keyring):
    original = Settings(server_mode="remote", remote_url="wss://agent.example/ws", remote_protocol="adk_bidi",
                        remote_secret="s3cret-token", remote_headers={"X-Team": "blue"},
                        gemini_api_key="AIza-not-real", jitter_ms=120, talk_mode="open_mic", voice="Kore")
    store_for(settings_file).save(original)
    loaded = store_for(settings_file).load()
    assert loaded == original
    text = settings_file.read_text()
    assert "s3cret-token" not in text and "AIza-not-real" not in text
    assert "agent.example" in text
    assert memory_keyring.store[(KEYRING_SERVICE, "remote-secret")] == "s3cret-token"


def test_clearing_a_secret_deletes_it_from_the_keyring(settings_file, memory_keyring):
    store_for(settings_file).save(Settings(gemini_api_key="k"))
    store_for(settings_file).save(Settings(gemini_api_key=""))
    assert memory_keyring.store == {}
    assert store_for(settings_file).load().gemini_api_key == ""


def test_unusable_values_fall_back_to_defaults(settings_file, memory_keyring):
    settings_file.write_text("[General]\njitter_ms=lots\nremote_headers=[1,2]\nvoice=Aoede\n")
    loaded = store_for(settings_file).load()
    assert loaded.jitter_ms == 60 and loaded.remote_headers == {} and loaded.voice == "Aoede"


def test_default_processor_is_gemini_only_with_a_key(monkeypatch):
    assert Settings().effective_processor() == "echo"
    assert Settings(gemini_api_key="k").effective_processor() == "gemini"
    monkeypatch.setenv("GEMINI_API_KEY", "from-env")
    assert Settings().effective_processor() == "gemini"
    assert Settings(processor="echo").effective_processor() == "echo"
    assert "api_key" not in str(Settings(gemini_api_key="k").processor_config())


def test_without_a_keyring_plain_values_are_saved_and_empty_secrets_are_no_error(settings_file):
    import keyring
    from keyring.backends.fail import Keyring as NoKeyring

    from desktop.settings import KeyringUnavailable

    previous = keyring.get_keyring()
    keyring.set_keyring(NoKeyring())
    try:
        store_for(settings_file).save(Settings(server_mode="remote", remote_url="ws://127.0.0.1:9"))
        assert store_for(settings_file).load().remote_url == "ws://127.0.0.1:9"
        with pytest.raises(KeyringUnavailable, match="keyring"):
            store_for(settings_file).save(Settings(voice="Kore", remote_secret="tok"))
        loaded = store_for(settings_file).load()
        assert loaded.voice == "Kore" and loaded.remote_secret == ""  # refused, never written in plain
        assert "tok" not in settings_file.read_text()
    finally:
        keyring.set_keyring(previous)


def test_language_goes_into_the_processor_config():
    assert Settings(language="de-DE").processor_config()["language"] == "de-DE"
    assert "language" not in Settings().processor_config()
