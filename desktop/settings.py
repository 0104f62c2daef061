"""User settings: plain values in QSettings, secrets in the OS keyring.

:class:`Settings` is a plain value (no Qt), so the controller and tests can use
it freely; :class:`SettingsStore` reads and writes it. A secret (a remote
server's token or an API key, the Gemini API key) never goes to the settings
file: only to the keyring, under the service :data:`KEYRING_SERVICE`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from typing import Any

from desktop.redact import redact

__all__ = ["CHOICES", "JITTER_RANGE", "KEYRING_SERVICE", "Settings", "SettingsStore", "gemini_key_from_env",
           "masked_repr"]

log = logging.getLogger(__name__)

KEYRING_SERVICE = "voice-desktop"
REMOTE_SECRET = "remote-secret"
GEMINI_KEY = "gemini-api-key"


#: Fields that only take one of a few values; anything else in the file falls back to the default.
CHOICES: dict[str, frozenset[str]] = {
    "server_mode": frozenset({"embedded", "remote"}),
    "talk_mode": frozenset({"push_to_talk", "open_mic"}),
}
JITTER_RANGE = (20, 500)
#: Without a Gemini key the embedded server runs the offline assistant when it is there.
OFFLINE_PROCESSOR = "local"


def masked_repr(obj: Any, secrets: Any, mappings: Any = ()) -> str:
    """``Type(field=value, ...)`` with secret fields shown as ``'***'`` (or ``''`` when unset) and the values
    of secret-bearing mappings (extra headers) masked the same way, so a log line or a traceback never
    carries a key."""
    parts = []
    for field in dataclasses.fields(obj):
        value = getattr(obj, field.name)
        if field.name in secrets:
            value = "***" if value else ""
        elif field.name in mappings:
            items = value.items() if isinstance(value, dict) else value
            value = {str(k): "***" for k, _v in items}
        elif isinstance(value, str):
            value = redact(value)
        parts.append(f"{field.name}={value!r}")
    return f"{type(obj).__name__}({', '.join(parts)})"


@dataclasses.dataclass(slots=True, repr=False)
class Settings:
    """Everything the user can set. Secrets are filled from the keyring on load."""

    server_mode: str = "embedded"  # "embedded" or "remote"
    processor: str = ""  # embedded processor; "" = Gemini when a key exists, the offline assistant otherwise
    remote_url: str = ""
    remote_protocol: str = "live_server"
    remote_secret: str = ""  # token or API key for the remote server (keyring only)
    remote_headers: dict[str, str] = dataclasses.field(default_factory=dict)
    gemini_api_key: str = ""  # keyring only
    voice: str = "Puck"
    model: str = ""
    system_instruction: str = ""
    language: str = ""  # BCP-47, e.g. "en-US"; "" lets the model decide
    input_device: str = ""  # "" = system default
    output_device: str = ""
    jitter_ms: int = 60
    talk_mode: str = "push_to_talk"  # or "open_mic"
    echo_cancellation: bool = True  # in open mic: cancel the assistant's voice coming back from the speakers
    hotkey: str = "Space"
    keep_history: bool = True  # off: no conversation is written to the history file
    # Desktop integration (desktop/integration.py): a talk key seen while other windows have focus ("" = off),
    # held ("hold") or pressed once to start and again to stop ("toggle"); the tray; start/stop sounds.
    global_hotkey: str = ""
    global_hotkey_mode: str = "hold"
    close_to_tray: bool = True
    tray_notice_shown: bool = False
    earcons: bool = True
    llm_url: str = ""  # an OpenAI-compatible local model server for the offline assistant; "" = none / found
    llm_model: str = ""

    def __repr__(self) -> str:
        return masked_repr(self, _SECRETS, ("remote_headers",))

    def effective_processor(self) -> str:
        if self.processor:
            return self.processor
        if self.gemini_api_key or gemini_key_from_env():
            return "gemini"
        from desktop.processors import PROCESSORS  # a small registry module: no processor is imported

        return OFFLINE_PROCESSOR if OFFLINE_PROCESSOR in PROCESSORS else "echo"

    def processor_config(self) -> dict[str, Any]:
        """What goes over the wire as the live_server config (never secrets)."""
        config: dict[str, Any] = {"voice": self.voice}
        if self.model:
            config["model"] = self.model
        if self.system_instruction:
            config["system_instruction"] = self.system_instruction
        if self.language:
            config["language"] = self.language
        if self.talk_mode == "push_to_talk":
            config["push_to_talk"] = True
        if self.llm_url:
            config["llm_url"] = self.llm_url
        if self.llm_model:
            config["llm_model"] = self.llm_model
        return config


_SECRETS = {"remote_secret": REMOTE_SECRET, "gemini_api_key": GEMINI_KEY}


_warned: list[bool] = []  # the missing-keyring warning is said once per process


def gemini_key_from_env() -> str:
    return os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY") or ""


class SettingsStore:
    """Load and save :class:`Settings` through a ``QSettings`` and the keyring."""

    def __init__(self, qsettings) -> None:
        self.qsettings = qsettings

    def load(self, *, secrets: bool = True) -> Settings:
        """The saved settings; ``secrets=False`` leaves the keyring alone (see :meth:`load_secrets`)."""
        settings = Settings()
        for field in dataclasses.fields(Settings):
            if field.name in _SECRETS:
                if secrets:
                    setattr(settings, field.name, self._get_secret(_SECRETS[field.name]))
                continue
            raw = self.qsettings.value(field.name)
            if raw is None:
                continue
            default = getattr(settings, field.name)
            try:
                setattr(settings, field.name, _check(field.name, _convert(raw, default)))
            except (TypeError, ValueError) as exc:
                log.warning("Setting %s=%r in %s is unusable (%s); using the default, %r", field.name,
                            _shown(raw), self.qsettings.fileName(), exc, default)
        return settings

    def load_secrets(self, settings: Settings) -> None:
        """Fill ``settings``' secrets from the keyring. Blocks (a keyring may ask to be unlocked): the app
        calls it on a worker thread."""
        for field_name, secret_name in _SECRETS.items():
            setattr(settings, field_name, self._get_secret(secret_name))

    def save(self, settings: Settings) -> None:
        """Write the plain values, then the secrets; a keyring failure never costs the plain values."""
        for field in dataclasses.fields(Settings):
            value = getattr(settings, field.name)
            if field.name in _SECRETS:
                self.qsettings.remove(field.name)  # never in the plain file, even from an older version
            elif isinstance(value, dict):
                self.qsettings.setValue(field.name, json.dumps(value))
            else:
                self.qsettings.setValue(field.name, value)
        self.qsettings.sync()
        for field_name, secret_name in _SECRETS.items():
            self._set_secret(secret_name, getattr(settings, field_name))

    @staticmethod
    def _get_secret(name: str) -> str:
        import keyring  # here: finding the backend costs ~0.1 s, and the first frame never needs it
        from keyring.errors import KeyringError

        try:
            return keyring.get_password(KEYRING_SERVICE, name) or ""
        except KeyringError as exc:
            if not _warned:
                _warned.append(True)
                log.warning("The keyring is unavailable (%s); saved secrets cannot be read. "
                            "GEMINI_API_KEY in the environment still works.", type(exc).__name__)
            return ""

    @staticmethod
    def _set_secret(name: str, value: str) -> None:
        import keyring
        from keyring.errors import KeyringError

        try:
            if not value:
                if keyring.get_password(KEYRING_SERVICE, name) is not None:
                    keyring.delete_password(KEYRING_SERVICE, name)
                return
            keyring.set_password(KEYRING_SERVICE, name, value)
        except KeyringError as exc:
            if not value:
                return  # nothing to store, and no keyring to hold an old value either
            # Refusing to store is safer than falling back to the plain settings file.
            raise KeyringUnavailable(
                f"Could not store the secret in the system keyring ({type(exc).__name__}). "
                "Install or unlock a keyring, or set GEMINI_API_KEY in the environment.") from exc


class KeyringUnavailable(RuntimeError):
    pass


def _shown(raw: Any) -> str:
    return str(raw)[:80]


def _check(name: str, value: Any) -> Any:
    """``value`` if it is one ``name`` can take, else ValueError saying which values it can take."""
    choices = CHOICES.get(name)
    if choices is not None and value not in choices:
        raise ValueError(f"expected one of {', '.join(sorted(choices))}")
    if name == "jitter_ms" and not JITTER_RANGE[0] <= value <= JITTER_RANGE[1]:
        raise ValueError(f"expected {JITTER_RANGE[0]} to {JITTER_RANGE[1]}")
    if name == "hotkey" and not value.strip():
        raise ValueError("empty")
    return value


def _convert(raw: Any, default: Any) -> Any:
    if isinstance(default, bool):
        return raw in (True, "true", "1", 1)
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, dict):
        value = json.loads(raw) if isinstance(raw, str) else raw
        if not isinstance(value, dict):
            raise ValueError("not a mapping")
        return {str(k): str(v) for k, v in value.items()}
    return str(raw)
