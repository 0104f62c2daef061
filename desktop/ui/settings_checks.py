"""What the Settings dialog checks, as plain functions and coroutines (no Qt).

Why a module of its own: validation and the "Test …" buttons are the parts of
the dialog worth testing on their own, and they must never block the GUI
thread or end in a traceback. Everything here returns values a person can read:
``None`` for "fine", otherwise the reason in words. The dialog decides where to
show them and runs the coroutines through :class:`~desktop.ui.async_jobs.AsyncJobs`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import ipaddress
import re
import socket
import ssl
import urllib.parse
from collections.abc import Mapping
from typing import Any

import numpy as np

from desktop import protocols
from desktop.errors import InvalidEndpoint, VoiceDesktopError
from desktop.protocols.base import ProtocolInfo, split_ws_url

__all__ = [
    "CONNECT_TIMEOUT",
    "RESERVED_HEADERS",
    "TONE_FREQ",
    "TONE_MS",
    "TONE_RATE",
    "UNENCRYPTED_WARNING",
    "VERIFIED_NOTE",
    "VOICES",
    "HeaderError",
    "UrlCheck",
    "check_gemini_key",
    "check_url",
    "describe_protocol",
    "format_headers",
    "is_loopback_host",
    "parse_headers",
    "play_tone",
    "probe_connection",
    "tone_pcm16",
]

#: Gemini Live's prebuilt voices (the combo stays editable for new ones).
VOICES: tuple[str, ...] = ("Puck", "Charon", "Kore", "Fenrir", "Aoede", "Leda", "Orus", "Zephyr")

CONNECT_TIMEOUT = 5.0
UNENCRYPTED_WARNING = "Audio and your key travel unencrypted: use wss://"
VERIFIED_NOTE = "Encrypted; the server's certificate is verified against the system's trusted authorities."

TONE_MS = 500
TONE_FREQ = 440.0
TONE_RATE = 24000

#: Headers the WebSocket handshake sets itself; a second copy would break it.
RESERVED_HEADERS = frozenset({
    "host", "connection", "upgrade", "content-length", "transfer-encoding",
    "sec-websocket-key", "sec-websocket-version", "sec-websocket-accept",
    "sec-websocket-extensions", "sec-websocket-protocol",
})
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


# -- extra headers -------------------------------------------------------------


class HeaderError(ValueError):
    """A line of the extra-headers box that is not a usable ``Name: value``."""


def parse_headers(text: str) -> dict[str, str]:
    """``Name: value`` lines -> a dict. Blank lines and ``#`` comments are skipped.

    Raises :class:`HeaderError` naming the line and what is wrong with it.
    """
    headers: dict[str, str] = {}
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, colon, value = line.partition(":")
        name, value = name.strip(), value.strip()
        if not colon or not name:
            raise HeaderError(f"Line {number}: write it as 'Name: value'.")
        if not _TOKEN.match(name):
            raise HeaderError(f"Line {number}: {name!r} is not a valid header name "
                              "(letters, digits and - only, no spaces).")
        if name.lower() in RESERVED_HEADERS:
            raise HeaderError(f"Line {number}: {name} is set by the WebSocket handshake itself.")
        if _BAD_VALUE.search(value):
            raise HeaderError(f"Line {number}: the value of {name} contains a control character.")
        if name.lower() in seen:
            raise HeaderError(f"Line {number}: {name} is already given on line {seen[name.lower()]}.")
        seen[name.lower()] = number
        headers[name] = value
    return headers


def format_headers(headers: Mapping[str, str]) -> str:
    """The inverse of :func:`parse_headers`, for filling the box."""
    return "\n".join(f"{name}: {value}" for name, value in headers.items())


# -- the server URL ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class UrlCheck:
    """What to show under the URL field: at most one of each, ``error`` blocks saving."""

    error: str = ""
    warning: str = ""
    note: str = ""


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` is this machine: ``localhost``, 127.0.0.0/8 or ::1 (brackets allowed)."""
    host = host.strip().strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def check_url(url: str) -> UrlCheck:
    """Validate a remote server URL (through :func:`split_ws_url`) and say how safe it is."""
    try:
        scheme, _netloc, _path, _query = split_ws_url(url)
    except InvalidEndpoint as exc:
        return UrlCheck(error=str(exc))
    host = urllib.parse.urlsplit(url.strip()).hostname or ""
    if scheme == "wss":
        return UrlCheck(note=VERIFIED_NOTE)
    if not is_loopback_host(host):
        return UrlCheck(warning=UNENCRYPTED_WARNING)
    return UrlCheck()


# -- protocols -------------------------------------------------------------------------


def describe_protocol(info: ProtocolInfo) -> str:
    """One line on what a protocol supports: send rate, how turns end, interruption."""
    rate = f"{info.send_rate / 1000:g} kHz audio up"
    if info.has_turn_events:
        turns = "turn events"
    elif info.turn_idle_gap:
        turns = f"a turn ends after {info.turn_idle_gap:g} s of quiet"
    else:
        turns = "turns end after a quiet gap"
    interruption = "interruption" if info.has_interruption else "no interruption"
    return f"{rate} · {turns} · {interruption}"


# -- "Test connection" -------------------------------------------------------------------


async def probe_connection(
    url: str,
    protocol: str,
    *,
    token: str = "",
    headers: Mapping[str, str] | None = None,
    config: Mapping[str, Any] | None = None,
    timeout: float = CONNECT_TIMEOUT,
) -> str | None:
    """Open (and close at once) the WebSocket the session would open: None if it works, else why not.

    Uses the codec's own URL and headers, so a protocol's path, query and token
    placement are what is tested. Nothing is sent over the socket.
    """
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI

    try:
        codec = protocols.get(protocol)(config or {})
        full_url = codec.url(url, token=token or None)
        all_headers = {**codec.headers(token=token or None), **dict(headers or {})}
    except VoiceDesktopError as exc:
        return str(exc)
    host = urllib.parse.urlsplit(full_url).hostname or "the server"
    try:
        async with asyncio.timeout(timeout):
            ws = await connect(full_url, additional_headers=all_headers or None, open_timeout=None,
                               user_agent_header="voice-desktop", ping_interval=None)
            await ws.close()
    except InvalidStatus as exc:
        code = exc.response.status_code
        if code in (401, 403):
            return f"Refused with HTTP {code}: check the token or API key."
        if code == 404:
            return "HTTP 404: no WebSocket at that path; check the URL and the protocol."
        return f"The server answered HTTP {code} instead of accepting a WebSocket."
    except TimeoutError:
        return f"No answer from {host} within {timeout:g} s: is it reachable from here?"
    except ssl.SSLCertVerificationError as exc:
        return f"The server's certificate was rejected: {exc.verify_message or exc.reason}."
    except ssl.SSLError as exc:
        return f"TLS failed: {exc.reason or exc}. Does the server speak wss:// on that port?"
    except ConnectionRefusedError:
        return f"Connection refused by {host}: is the server running on that port?"
    except socket.gaierror:
        return f"Unknown host {host!r}: check the spelling, or your network."
    except OSError as exc:
        return f"Cannot reach {host}: {exc.strerror or exc}."
    except InvalidURI:
        return "That URL cannot be used for a WebSocket."
    except InvalidHandshake as exc:
        return f"The WebSocket handshake failed: {exc}."
    return None


# -- "Test key" ---------------------------------------------------------------------------


async def check_gemini_key(api_key: str, *, http_options: Any = None, model: str = "") -> str | None:
    """:func:`desktop.processors.gemini.check_api_key` with the environment as the fallback key.

    The Gemini module (and google-genai) is imported on a worker thread: the first
    import takes about a second, which the GUI must not spend frozen.
    """
    gemini = await asyncio.to_thread(importlib.import_module, "desktop.processors.gemini")
    kwargs: dict[str, Any] = {"model": model.strip()} if model.strip() else {}
    return await gemini.check_api_key(gemini.resolve_api_key(api_key), http_options=http_options, **kwargs)


# -- "Play test tone" -----------------------------------------------------------------------


def tone_pcm16(ms: int = TONE_MS, *, freq: float = TONE_FREQ, rate: int = TONE_RATE,
               amplitude: float = 0.3, fade_ms: int = 10) -> bytes:
    """A sine tone as PCM16 mono, faded in and out so it starts and ends without a click."""
    n = rate * ms // 1000
    t = np.arange(n, dtype=np.float64) / rate
    wave = amplitude * np.sin(2 * np.pi * freq * t)
    fade = min(n // 2, rate * fade_ms // 1000)
    if fade:
        ramp = np.linspace(0.0, 1.0, fade)
        wave[:fade] *= ramp
        wave[n - fade:] *= ramp[::-1]
    return (wave * 32767).astype("<i2").tobytes()


async def play_tone(device: str, *, jitter_ms: int = 60, ms: int = TONE_MS) -> str | None:
    """Play :func:`tone_pcm16` on ``device`` ("" = default) through a fresh Player: None, or why not.

    Opening and closing the stream happen on worker threads: PortAudio may take
    a while (or, with a broken sound server, up to the close timeout).
    """
    from desktop.audio.playback import Player

    player = Player(device or None, jitter_ms=jitter_ms)
    try:
        await asyncio.to_thread(player.start)
    except (VoiceDesktopError, OSError) as exc:
        return str(exc)
    try:
        player.feed(tone_pcm16(ms), TONE_RATE)
        player.mark_end()
        await asyncio.sleep((ms + jitter_ms) / 1000 + 0.2)
        return player.error
    finally:
        await asyncio.to_thread(player.close)
