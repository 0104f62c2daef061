"""Turn what a protocol plugin's entry point names into a :class:`~desktop.protocols.base.Codec`.

Third-party protocols register under the entry-point group
``voice_desktop.protocols``; the entry point's *name* is the protocol's name
in the app (``--protocol NAME``, the Settings dialog)::

    # pyproject.toml of the plugin package
    [project.entry-points."voice_desktop.protocols"]
    echo_json = "vd_plugin_example:EchoJsonProtocol"

The object the entry point names may take one of two shapes.

1. **A Codec subclass** (the full interface, see :mod:`desktop.protocols.base`):
   used as is. Its ``info.name`` is set to the entry point's name (in a thin
   subclass; the plugin's class is not modified). A class without ``info``
   gets a default ``ProtocolInfo``. A module with a ``CODEC`` attribute is
   read like the built-in protocol modules.

2. **A bring-your-own protocol** (the shape of ``scenario``'s
   ``voice.adapters.websocket`` protocols): a class, an instance or a module
   with

   ``encode_audio(pcm: bytes) -> str | bytes``  (required)
       ``pcm`` is PCM16 mono little-endian at ``sample_rate``. Return one
       WebSocket frame (``str`` = text frame, ``bytes`` = binary frame).
       ``None`` (send nothing) and a list of frames are accepted too.
   ``decode_response(frame: str | bytes) -> bytes | None``  (required)
       One received frame -> PCM16 mono audio at ``output_sample_rate`` to
       play, or ``None`` when the frame carries no audio. Exceptions and
       other return types become a :class:`~desktop.protocols.events.ProtocolError`
       for that frame; the connection stays up.
   ``encode_text(text: str) -> str | bytes``  (optional)
       A typed user turn, same return rules as ``encode_audio``. Without it
       typed text cannot be sent with this protocol.
   ``sample_rate: int = 16000``  (optional)
       Rate of the audio ``encode_audio`` takes; the app resamples the mic to it.
   ``output_sample_rate: int = sample_rate``  (optional)
       Rate of the audio ``decode_response`` returns.
   ``path: str = "/"`` (or ``url``)  (optional)
       Path and query added when the user gives a bare server such as
       ``ws://host:port``; a full ``ws://host/path?q`` string is accepted and
       only its path and query are used. A URL with a path typed by the user is
       used as given.
   ``title``, ``description``: ``str``  (optional), shown in the Settings dialog.

   A class is instantiated once per codec, i.e. once per session, so it may
   keep per-connection state: with the session's config dict as its only
   argument if its constructor takes one, else with no arguments. An instance
   or a module is shared as is.

   The protocol has no turn-complete or interruption messages, so the session
   ends a reply after ``turn_idle_gap`` (1.5 s) without audio. A clean close by
   the server is the end of the stream, not an error.

An entry point that fails to import, or names something of neither shape,
raises :class:`~desktop.errors.UnknownProtocol` with a message naming what is
missing; :func:`desktop.protocols.available` logs it as a warning and leaves
the protocol out.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import urllib.parse
from collections.abc import Mapping
from typing import Any, ClassVar

from desktop.errors import UnknownProtocol

from ._wire import MAX_RATE, MIN_RATE, excerpt, pcm16_events
from .base import Codec, Frame, ProtocolInfo
from .events import Event, ProtocolError

__all__ = ["BYO_TURN_IDLE_GAP", "DEFAULT_SAMPLE_RATE", "BringYourOwnCodec", "adapt"]

DEFAULT_SAMPLE_RATE = 16000
BYO_TURN_IDLE_GAP = 1.5
_REQUIRED = ("encode_audio", "decode_response")


def adapt(name: str, loaded: object) -> type[Codec]:
    """The codec class for the object entry point ``name`` loaded; raises UnknownProtocol."""
    if isinstance(loaded, types.ModuleType) and hasattr(loaded, "CODEC"):
        loaded = loaded.CODEC
    if isinstance(loaded, type) and issubclass(loaded, Codec):
        return _adapt_codec(name, loaded)
    if isinstance(loaded, Codec):
        raise UnknownProtocol(f"Protocol plugin {name!r} names a Codec instance ({_describe(loaded)}); "
                              "its entry point must name the class.")
    return _adapt_bring_your_own(name, loaded)


# ---------------------------------------------------------------------------
# Codec subclasses
# ---------------------------------------------------------------------------


def _adapt_codec(name: str, cls: type[Codec]) -> type[Codec]:
    if inspect.isabstract(cls):
        missing = ", ".join(sorted(getattr(cls, "__abstractmethods__", ())))
        raise UnknownProtocol(f"Protocol plugin {name!r} ({_describe(cls)}) does not implement {missing}.")
    info = getattr(cls, "info", None)
    if info is None:
        info = ProtocolInfo(name=name, title=name)
    elif not isinstance(info, ProtocolInfo):
        raise UnknownProtocol(f"Protocol plugin {name!r} ({_describe(cls)}): 'info' is a "
                              f"{type(info).__name__}, not a desktop.protocols.ProtocolInfo.")
    for field in ("send_rate", "receive_rate"):
        _check_rate(name, cls, field, getattr(info, field))
    if getattr(cls, "info", None) is info and info.name == name:
        return cls
    return type(cls.__name__, (cls,), {"info": dataclasses.replace(info, name=name),
                                       "__module__": cls.__module__, "__doc__": cls.__doc__})


# ---------------------------------------------------------------------------
# Bring-your-own protocols
# ---------------------------------------------------------------------------


class BringYourOwnCodec(Codec):
    """A Codec around a bring-your-own protocol object; :func:`adapt` makes the subclasses."""

    info: ClassVar[ProtocolInfo]
    protocol_factory: ClassVar[Any]  # the plugin's class, instance or module
    instantiate: ClassVar[int]  # -1: use as is, 0: call with no args, 1: call with the config
    plugin_path: ClassVar[str]
    plugin_query: ClassVar[dict[str, str]]

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(config)
        factory = type(self).protocol_factory
        mode = type(self).instantiate
        #: The plugin's protocol object this codec delegates to.
        self.protocol: Any = factory if mode < 0 else factory(dict(self.config)) if mode else factory()

    def default_path(self) -> str:
        return self.plugin_path

    def default_query(self) -> dict[str, str]:
        return dict(self.plugin_query)

    def encode_audio(self, pcm: bytes) -> list[Frame]:
        return _frames(self.protocol.encode_audio(pcm), self.info.name, "encode_audio")

    def encode_text(self, text: str) -> list[Frame]:
        encode = getattr(self.protocol, "encode_text", None)
        if encode is None:
            return []
        return _frames(encode(text), self.info.name, "encode_text")

    def decode(self, frame: Frame) -> list[Event]:
        name = self.info.name
        try:
            result = self.protocol.decode_response(frame)
        except Exception as exc:  # noqa: BLE001 - a plugin bug must not take the connection down
            return [ProtocolError(f"Protocol {name!r} could not decode a frame "
                                  f"({type(exc).__name__}: {exc}).", excerpt(frame))]
        if result is None:
            return []
        if isinstance(result, (bytes, bytearray, memoryview)):
            return pcm16_events(bytes(result), self.info.receive_rate)
        return [ProtocolError(f"Protocol {name!r}: decode_response returned {type(result).__name__}, "
                              "expected PCM16 bytes or None.", excerpt(frame))]


def _adapt_bring_your_own(name: str, target: object) -> type[Codec]:
    what = _describe(target)
    missing = [attr for attr in _REQUIRED if not callable(getattr(target, attr, None))]
    if missing:
        raise UnknownProtocol(
            f"Protocol plugin {name!r} ({what}) is neither a desktop.protocols.Codec subclass nor a "
            f"bring-your-own protocol: it has no {' and no '.join(_SIGNATURES[m] for m in missing)}.")
    encode_text = getattr(target, "encode_text", None)
    if encode_text is not None and not callable(encode_text):
        raise UnknownProtocol(f"Protocol plugin {name!r} ({what}): 'encode_text' is not callable.")
    send_rate = _check_rate(name, target, "sample_rate", getattr(target, "sample_rate", DEFAULT_SAMPLE_RATE))
    receive_rate = _check_rate(name, target, "output_sample_rate",
                               getattr(target, "output_sample_rate", send_rate))
    path, query = _path_and_query(name, target)
    doc = inspect.getdoc(target) if isinstance(target, (type, types.ModuleType)) else None
    info = ProtocolInfo(
        name=name,
        title=_text_attr(target, "title") or name,
        send_rate=send_rate,
        receive_rate=receive_rate,
        has_turn_events=False,
        has_interruption=False,
        has_reset=False,
        turn_idle_gap=BYO_TURN_IDLE_GAP,
        trailing_silence=1.0,  # no end-of-speech message: a server's VAD must hear the user stop
        default_path=path,
        description=_text_attr(target, "description") or (doc.splitlines()[0] if doc else ""),
    )
    namespace = {
        "info": info,
        "protocol_factory": target,
        "instantiate": _instantiation(name, target),
        "plugin_path": path,
        "plugin_query": query,
        "__doc__": f"Bring-your-own protocol {name!r} from {what}.",
    }
    return type(f"BringYourOwn_{name}", (BringYourOwnCodec,), namespace)


_SIGNATURES = {
    "encode_audio": "encode_audio(pcm: bytes) -> str | bytes",
    "decode_response": "decode_response(frame: str | bytes) -> bytes | None",
}


def _instantiation(name: str, target: object) -> int:
    if not isinstance(target, type):
        return -1
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return 0  # no introspectable signature (a builtin): assume it needs nothing
    for mode, args in ((1, ({},)), (0, ())):
        try:
            signature.bind(*args)
        except TypeError:
            continue
        return mode
    raise UnknownProtocol(f"Protocol plugin {name!r} ({_describe(target)}) cannot be instantiated: its "
                          f"constructor{signature} needs more than one argument "
                          "(give it a config=None default).")


def _check_rate(name: str, target: object, field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_RATE <= value <= MAX_RATE:
        raise UnknownProtocol(f"Protocol plugin {name!r} ({_describe(target)}): {field} must be an int "
                              f"between {MIN_RATE} and {MAX_RATE} Hz, got {value!r}.")
    return value


def _path_and_query(name: str, target: object) -> tuple[str, dict[str, str]]:
    raw = getattr(target, "path", None)
    if raw is None:
        raw = getattr(target, "url", None)
        if callable(raw):
            raw = None
    if raw is None or raw == "":
        return "/", {}
    if not isinstance(raw, str):
        raise UnknownProtocol(f"Protocol plugin {name!r} ({_describe(target)}): path/url must be a string, "
                              f"got {type(raw).__name__}.")
    if "://" not in raw:
        raw = "ws://host" + ("" if raw.startswith(("/", "?")) else "/") + raw
    parts = urllib.parse.urlsplit(raw)
    path = parts.path or "/"
    return path, dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))


def _text_attr(target: object, attr: str) -> str:
    value = getattr(target, attr, None)
    return value if isinstance(value, str) else ""


def _frames(result: Any, name: str, method: str) -> list[Frame]:
    if result is None:
        return []
    items = result if isinstance(result, (list, tuple)) else [result]
    frames: list[Frame] = []
    for item in items:
        frame = bytes(item) if isinstance(item, (bytearray, memoryview)) else item
        if not isinstance(frame, (str, bytes)):
            raise TypeError(f"Protocol {name!r}: {method} returned {type(frame).__name__}; expected a str "
                            "(text frame), bytes (binary frame), None, or a list of str/bytes.")
        frames.append(frame)
    return frames


def _describe(obj: object) -> str:
    if isinstance(obj, types.ModuleType):
        return f"module {obj.__name__}"
    if isinstance(obj, type):
        return f"class {obj.__module__}.{obj.__qualname__}"
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__} object"
