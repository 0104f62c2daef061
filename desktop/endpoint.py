"""Where the app talks: the embedded server running a processor, or a remote voice server."""

from __future__ import annotations

import dataclasses
from typing import Any

from desktop.settings import Settings, masked_repr

__all__ = ["Endpoint"]


@dataclasses.dataclass(frozen=True, slots=True, repr=False)
class Endpoint:
    """Where to talk: the embedded server running ``processor``, or a remote URL."""

    processor: str = "echo"
    url: str = ""  # empty: embedded
    protocol: str = "live_server"
    secret: str = dataclasses.field(default="", repr=False)
    headers: tuple[tuple[str, str], ...] = dataclasses.field(default=(), repr=False)  # may carry a key
    config: tuple[tuple[str, Any], ...] = ()
    api_key: str = dataclasses.field(default="", repr=False)  # for the embedded Gemini processor; never sent

    def __repr__(self) -> str:
        return masked_repr(self, {"secret", "api_key"}, ("headers",))

    @property
    def embedded(self) -> bool:
        return not self.url

    @classmethod
    def from_settings(cls, settings: Settings) -> Endpoint:
        config = tuple(sorted(settings.processor_config().items()))
        if settings.server_mode == "remote" and settings.remote_url:
            return cls(url=settings.remote_url, protocol=settings.remote_protocol,
                       secret=settings.remote_secret, headers=tuple(sorted(settings.remote_headers.items())),
                       config=config)
        return cls(processor=settings.effective_processor(), config=config, api_key=settings.gemini_api_key)
