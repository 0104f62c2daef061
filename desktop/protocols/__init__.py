"""Wire protocols, one sans-I/O codec module each, discoverable by name.

Built-in protocols live in this package; third-party ones register a
:class:`~desktop.protocols.base.Codec` subclass under the entry-point group
``voice_desktop.protocols`` (see the README).
"""

from __future__ import annotations

import importlib
import logging
from importlib.metadata import entry_points

from desktop.errors import UnknownProtocol

from .base import Codec, Frame, ProtocolInfo

__all__ = ["BUILTIN", "ENTRY_POINT_GROUP", "Codec", "Frame", "ProtocolInfo", "available", "get"]

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "voice_desktop.protocols"

#: name -> module under desktop.protocols defining ``CODEC``.
BUILTIN: dict[str, str] = {
    "live_server": "live_server",
    "adk": "adk",
    "adk_bidi": "adk_bidi",
    "ai_proxy_core": "ai_proxy_core",
}


def _builtin(name: str) -> type[Codec]:
    module = importlib.import_module(f"{__name__}.{BUILTIN[name]}")
    return module.CODEC


def _plugins() -> dict[str, object]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _load_plugin(name: str, entry_point) -> type[Codec]:
    from .plugin import adapt

    try:
        loaded = entry_point.load()
    except Exception as exc:  # a broken plugin must not break the app
        raise UnknownProtocol(f"Protocol plugin {name!r} failed to load: {exc}") from exc
    return adapt(name, loaded)


def available() -> dict[str, ProtocolInfo]:
    """Every protocol by name, built-in first, then plugins that load."""
    found = {name: _builtin(name).info for name in BUILTIN}
    for name, ep in sorted(_plugins().items()):
        if name in found:
            log.warning("Protocol plugin %r ignored: a built-in protocol has that name", name)
            continue
        try:
            found[name] = _load_plugin(name, ep).info
        except UnknownProtocol as exc:
            log.warning("%s", exc)
    return found


def get(name: str) -> type[Codec]:
    """The codec class registered as ``name``; raises :class:`UnknownProtocol`."""
    if name in BUILTIN:
        return _builtin(name)
    plugins = _plugins()
    if name in plugins:
        return _load_plugin(name, plugins[name])
    known = ", ".join(sorted(set(BUILTIN) | set(plugins)))
    raise UnknownProtocol(f"Unknown protocol {name!r}. Known protocols: {known}.")
