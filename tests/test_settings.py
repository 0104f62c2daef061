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
    assert Settings().effective_processor() == "local"  # the offline assistant
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


@pytest.mark.parametrize(("field", "raw", "default"), [
    ("talk_mode", "foo", "push_to_talk"), ("server_mode", "cloud", "embedded"),
    ("jitter_ms", "abc", 60), ("jitter_ms", "100000", 60), ("hotkey", "", "Space")])
def test_a_bad_value_in_the_file_falls_back_to_the_default_with_one_warning(settings_file, caplog, field, raw,
                                                                           default):
    qsettings = QSettings(str(settings_file), QSettings.Format.IniFormat)
    qsettings.setValue(field, raw)
    qsettings.setValue("voice", "Kore")
    qsettings.sync()
    with caplog.at_level("WARNING", logger="desktop.settings"):
        loaded = store_for(settings_file).load()
    assert getattr(loaded, field) == default
    assert loaded.voice == "Kore"  # the other values are kept
    warnings = [r.getMessage() for r in caplog.records if field in r.getMessage()]
    assert len(warnings) == 1 and "using the default" in warnings[0], warnings


def test_repr_never_shows_a_secret():
    from desktop.endpoint import Endpoint

    settings = Settings(remote_url="wss://h.example/ws?token=tok-123", remote_secret="s3cret-token",
                        remote_headers={"Authorization": "Bearer hdr-456"}, gemini_api_key="AIza-789")
    endpoint = Endpoint(url="wss://h.example/ws?token=tok-123", secret="s3cret-token", api_key="AIza-789",
                        headers=(("Authorization", "Bearer hdr-456"),))
    for shown in (repr(settings), str(settings), repr(endpoint), f"{[settings, endpoint]}"):
        for secret in ("tok-123", "s3cret-token", "hdr-456", "AIza-789"):
            assert secret not in shown, shown
        assert "Authorization" in shown and "h.example" in shown  # what is not secret still shows
    assert "remote_secret='***'" in repr(settings) and "gemini_api_key=''" in repr(Settings())


def test_the_default_processor_is_gemini_with_a_key_and_offline_without(monkeypatch):
    from desktop import processors

    assert Settings(gemini_api_key="k").effective_processor() == "gemini"
    monkeypatch.setitem(processors.PROCESSORS, "local", ("desktop.processors.local", "Offline assistant"))
    assert Settings().effective_processor() == "local"
    monkeypatch.delitem(processors.PROCESSORS, "local")
    assert Settings().effective_processor() == "echo"  # until the offline assistant is installed
    assert Settings(processor="echo", gemini_api_key="k").effective_processor() == "echo"


def test_the_local_model_server_goes_to_the_processor_config():
    config = Settings(llm_url="http://127.0.0.1:11434/v1", llm_model="llama3.2").processor_config()
    assert config["llm_url"] == "http://127.0.0.1:11434/v1" and config["llm_model"] == "llama3.2"
    assert "llm_url" not in Settings().processor_config()
