"""A local double of the Gemini Live API wire protocol, for tests and manual tries.

Why: the Gemini processor must be tested through the *real* google-genai SDK
(its URL shape, its frame encoding, its error mapping), without the internet.
google-genai 3.4.0 always opens ``wss://<host>/ws/google.ai.generativelanguage.
<version>.GenerativeService.BidiGenerateContent`` (``v1`` by default), so the
double speaks TLS with a self-signed certificate made for 127.0.0.1/localhost.

What the SDK sends: top-level keys in snake_case (``setup``, ``client_content``,
``realtime_input``) with camelCase inside, audio as URL-safe base64, the key in an
``x-goog-api-key`` header. What it accepts back: camelCase only (snake_case
replies are silently dropped), so every reply here is camelCase.

Use it as ``async with GeminiDouble(api_key="k") as double:`` and point the SDK
at it with ``double.http_options()`` or with the environment
(``double.environ()``: ``GOOGLE_GEMINI_BASE_URL`` + ``SSL_CERT_FILE``). Every
setup frame is checked and recorded in ``double.setups``; behaviours are plain
attributes a test flips (``interrupt_next``, ``go_away_after_turns``,
``reject_setup``, ``handshake_status``, ...).

Standalone: ``python -m tests.gemini_double`` prints its base URL, the cert
path and the environment to export, then serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import dataclasses
import datetime
import ipaddress
import json
import logging
import math
import os
import re
import signal
import ssl
import struct
import sys
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any, Self

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

__all__ = [
    "DEFAULT_KEY",
    "LIVE_PATH_RE",
    "GeminiDouble",
    "TlsFiles",
    "make_tls_files",
    "tone_pcm16",
]

log = logging.getLogger("tests.gemini_double")

DEFAULT_KEY = "double-test-key"
OUTPUT_RATE = 24000
#: The path google-genai 3.4.0 opens for an API-key (Gemini API) live session.
LIVE_PATH_RE = re.compile(
    r"^/ws/google\.ai\.generativelanguage\.(?P<version>v[0-9a-z]+)\.GenerativeService\."
    r"(?P<method>BidiGenerateContent|BidiGenerateContentConstrained)$"
)
BAD_KEY_REASON = "API key not valid. Please pass a valid API key."


# -- TLS ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TlsFiles:
    """A self-signed certificate (also its own CA) and its key, as PEM files."""

    cert_path: Path
    key_path: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert_path, self.key_path)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts only this certificate."""
        return ssl.create_default_context(cafile=str(self.cert_path))


def make_tls_files(directory: str | os.PathLike[str]) -> TlsFiles:
    """Write ``cert.pem``/``key.pem`` for 127.0.0.1, ::1 and localhost into ``directory``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Gemini Live test double")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
        ]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    key_path.chmod(0o600)
    return TlsFiles(cert_path, key_path)


# -- audio -------------------------------------------------------------------


def tone_pcm16(ms: int, *, rate: int = OUTPUT_RATE, freq: float = 440.0, amplitude: float = 0.3,
               start_sample: int = 0) -> bytes:
    """A sine tone as PCM16 mono little-endian, continuous across calls via ``start_sample``."""
    n = rate * ms // 1000
    peak = int(32767 * amplitude)
    return struct.pack(
        f"<{n}h",
        *(int(peak * math.sin(2 * math.pi * freq * (start_sample + i) / rate)) for i in range(n)),
    )


def _field(obj: Any, camel: str) -> Any:
    """``obj[camel]``, or its snake_case spelling: protobuf JSON accepts both, and the SDK
    sends nested setup fields (``voice_config``, ``automatic_activity_detection``) in snake_case."""
    if not isinstance(obj, dict):
        return None
    if camel in obj:
        return obj[camel]
    return obj.get(re.sub(r"(?<!^)([A-Z])", lambda m: "_" + m.group(1).lower(), camel))


def _path(obj: Any, *camels: str) -> Any:
    for camel in camels:
        obj = _field(obj, camel)
    return obj


def _b64decode_any(data: str) -> bytes:
    """Decode standard or URL-safe base64 (the SDK sends URL-safe)."""
    data = data.strip()
    padded = data + "=" * (-len(data) % 4)
    return base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))


# -- the double --------------------------------------------------------------


class _Connection:
    """One SDK session: setup, then client frames in, replies out."""

    def __init__(self, double: GeminiDouble, ws: ServerConnection) -> None:
        self.double = double
        self.ws = ws
        self.setup: dict[str, Any] = {}
        self.push_to_talk = False
        self.in_activity = False
        self.audio_bytes = 0
        self.reply_task: asyncio.Task[None] | None = None
        self.send_lock = asyncio.Lock()

    async def send(self, message: dict[str, Any]) -> None:
        async with self.send_lock:
            await self.ws.send(json.dumps(message))

    # -- setup ----------------------------------------------------------------

    def check_setup(self, setup: dict[str, Any]) -> str | None:
        """What is wrong with a setup frame (as a close reason), or None."""
        d = self.double
        model = setup.get("model", "")
        if not isinstance(model, str) or not model.startswith("models/"):
            return f"setup.model must look like 'models/NAME', got {model!r}"
        if d.known_models is not None and model.removeprefix("models/") not in d.known_models:
            return (f"{model} is not found for API version {d.last_version}, or is not supported "
                    f"for bidiGenerateContent.")
        if not d.strict:
            return None
        modalities = _path(setup, "generationConfig", "responseModalities")
        if modalities != ["AUDIO"]:
            return f"generationConfig.responseModalities must be ['AUDIO'], got {modalities!r}"
        voice = _path(setup, "generationConfig", "speechConfig", "voiceConfig", "prebuiltVoiceConfig",
                      "voiceName")
        if not voice:
            return "generationConfig.speechConfig.voiceConfig.prebuiltVoiceConfig.voiceName is missing"
        for key in ("inputAudioTranscription", "outputAudioTranscription", "sessionResumption"):
            if not isinstance(setup.get(key), dict):
                return f"setup.{key} is missing"
        handle = setup["sessionResumption"].get("handle")
        if handle is not None and handle not in d.issued_handles:
            return f"Unknown session resumption handle {handle!r}"
        for key in setup:
            if "_" in key:
                return f"setup key {key!r} is not camelCase"
        return None

    async def run(self) -> None:
        d = self.double
        try:
            first = await asyncio.wait_for(self.ws.recv(), timeout=10)
        except (TimeoutError, ConnectionClosed):
            return
        frame = json.loads(first)
        d.frames.append(frame)
        setup = frame.get("setup")
        if not isinstance(setup, dict):
            await self.ws.close(1007, "The first message must be a setup message")
            return
        self.setup = setup
        d.setups.append(setup)
        d._setup_event.set()
        if not d.key_ok(self.ws.request):
            await self.ws.close(d.bad_key_close_code, BAD_KEY_REASON)
            return
        if d.silent_setup:
            await self.ws.wait_closed()
            return
        if d.reject_setup is not None:
            reason, code = d.reject_setup
            await self.ws.close(code, reason)
            return
        problem = self.check_setup(setup)
        if problem is not None:
            d.violations.append(problem)
            await self.ws.close(1007 if "not found" not in problem else 1008, problem[:120])
            return
        aad_off = _path(setup, "realtimeInputConfig", "automaticActivityDetection", "disabled")
        self.push_to_talk = bool(aad_off)
        await self.send({"setupComplete": {}})
        if d.close_after_setup is not None:
            code, reason = d.close_after_setup
            await self.ws.close(code, reason)
            return
        try:
            async for raw in self.ws:
                message = json.loads(raw)
                d.frames.append(message)
                await self.on_message(message)
        except ConnectionClosed:
            pass
        finally:
            if self.reply_task is not None:
                self.reply_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                    await self.reply_task

    # -- client messages ---------------------------------------------------------

    async def on_message(self, message: dict[str, Any]) -> None:
        d = self.double
        if "client_content" in message or "clientContent" in message:
            content = message.get("client_content") or message.get("clientContent") or {}
            turns = content.get("turns") or []
            texts = [p.get("text", "") for turn in turns for p in turn.get("parts") or []]
            text = " ".join(t for t in texts if t)
            if text:
                d.texts_received.append(text)
            if content.get("turnComplete") and text:
                await self.start_reply(text, user_transcript=None)
        elif "realtime_input" in message or "realtimeInput" in message:
            rt = message.get("realtime_input") or message.get("realtimeInput") or {}
            await self.on_realtime(rt)
        else:
            d.violations.append(f"unexpected client message keys {sorted(message)}")

    async def on_realtime(self, rt: dict[str, Any]) -> None:
        d = self.double
        if "audio" in rt:
            blob = rt["audio"]
            mime = blob.get("mimeType") or blob.get("mime_type") or ""
            if not mime.startswith("audio/pcm"):
                d.violations.append(f"audio mime type {mime!r}")
            try:
                pcm = _b64decode_any(blob.get("data", ""))
            except (binascii.Error, ValueError):
                d.violations.append("audio data is not base64")
                return
            d.audio_mime_types.add(mime)
            d.audio_bytes_received += len(pcm)
            if self.push_to_talk and not self.in_activity:
                d.violations.append("audio outside an activity while automatic activity detection is off")
                return
            self.audio_bytes += len(pcm)
        elif "text" in rt:
            d.texts_received.append(rt["text"])
            await self.start_reply(rt["text"], user_transcript=None)
        elif "activityStart" in rt:
            d.activity_events.append("start")
            if not self.push_to_talk:
                d.violations.append("activityStart while automatic activity detection is on")
            self.in_activity = True
            await self.barge_in()
        elif "activityEnd" in rt:
            d.activity_events.append("end")
            if not self.push_to_talk:
                d.violations.append("activityEnd while automatic activity detection is on")
            self.in_activity = False
            await self.end_of_speech()
        elif rt.get("audioStreamEnd"):
            d.audio_stream_ends += 1
            if self.push_to_talk:
                d.violations.append("audioStreamEnd while automatic activity detection is off")
                return
            await self.end_of_speech()
        else:
            d.violations.append(f"unexpected realtime input keys {sorted(rt)}")

    async def end_of_speech(self) -> None:
        if self.audio_bytes:
            self.audio_bytes = 0
            await self.start_reply(None, user_transcript=self.double.user_transcript)

    async def barge_in(self) -> None:
        """New input while a reply plays: the reply stops with ``interrupted``."""
        task, self.reply_task = self.reply_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await self.send({"serverContent": {"interrupted": True}})
            await self.send({"serverContent": {"turnComplete": True}})

    async def start_reply(self, text: str | None, *, user_transcript: str | None) -> None:
        await self.barge_in()
        self.reply_task = asyncio.create_task(self.reply(text, user_transcript))

    # -- replies -------------------------------------------------------------------

    async def reply(self, text: str | None, user_transcript: str | None) -> None:
        d = self.double
        try:
            if user_transcript is not None:
                await self.send({"serverContent": {"inputTranscription": {"text": user_transcript,
                                                                          "finished": True}}})
            answer = d.reply_for(text if text is not None else user_transcript or "")
            words = answer.split(" ")
            chunks = max(1, d.audio_chunks)
            per_chunk = math.ceil(len(words) / chunks)
            interrupt_at = 1 if d.interrupt_next else None
            d.interrupt_next = False
            go_away_left, d.go_away_during_next_reply = d.go_away_during_next_reply, None
            sample = 0
            for i in range(chunks):
                if interrupt_at is not None and i == interrupt_at:
                    await self.send({"serverContent": {"interrupted": True}})
                    await self.send({"serverContent": {"turnComplete": True}})
                    d.turns_completed += 1
                    return
                if go_away_left is not None and i == 1:
                    d.go_aways_sent += 1
                    await self.send({"goAway": {"timeLeft": go_away_left}})
                pcm = tone_pcm16(d.chunk_ms, start_sample=sample)
                sample += len(pcm) // 2
                await self.send({"serverContent": {"modelTurn": {"parts": [{"inlineData": {
                    "mimeType": f"audio/pcm;rate={OUTPUT_RATE}",
                    "data": base64.b64encode(pcm).decode("ascii"),
                }}]}}})
                piece = " ".join(words[i * per_chunk:(i + 1) * per_chunk])
                if piece:
                    await self.send({"serverContent": {"outputTranscription": {
                        "text": piece if i == 0 else " " + piece}}})
                if d.chunk_delay:
                    await asyncio.sleep(d.chunk_delay)
            await self.send({"serverContent": {"generationComplete": True}})
            await self.send({
                "serverContent": {"turnComplete": True},
                "usageMetadata": {"promptTokenCount": 10, "responseTokenCount": 20, "totalTokenCount": 30},
            })
            d.turns_completed += 1
            self.reply_task = None
            handle = f"handle-{len(d.issued_handles) + 1}"
            d.issued_handles.append(handle)
            await self.send({"sessionResumptionUpdate": {"newHandle": handle, "resumable": True}})
            if d.go_away_after_turns is not None and d.turns_completed >= d.go_away_after_turns:
                d.go_away_after_turns = None
                d.go_aways_sent += 1
                await self.send({"goAway": {"timeLeft": "0s"}})
                await asyncio.sleep(0.05)
                await self.ws.close(1000, "Session time limit reached")
        except ConnectionClosed:
            pass


class GeminiDouble:
    """A TLS WebSocket server on 127.0.0.1 that answers like the Gemini Live API.

    Behaviours (set before or during a test):

    - ``api_key``: the key to expect in ``x-goog-api-key`` or ``?key=`` (None: any);
      a mismatch answers HTTP 403 in the handshake when ``bad_key_in_handshake``,
      else closes with ``bad_key_close_code`` (1007) and a reason after the setup frame;
    - ``handshake_status``: answer the handshake with this HTTP status (e.g. 429, 503);
    - ``reject_setup=(reason, code)``: close right after the setup frame;
    - ``close_after_setup=(code, reason)``: send ``setupComplete`` and then close;
    - ``silent_setup``: never answer the setup frame (a hung service);
    - ``known_models``: models it serves (others: 1008 "models/x is not found ...");
    - ``interrupt_next``: the next reply stops after one chunk with ``interrupted``;
    - ``go_away_after_turns=N``: after N replies send a resumption handle, ``goAway``, close;
    - ``go_away_during_next_reply="5s"``: ``goAway`` with that time left mid-reply; the reply
      goes on and the connection stays open (the client should finish the turn, then move);
    - ``reply_for(text)``: what the model says; ``user_transcript``: what it "heard".
    """

    def __init__(
        self,
        *,
        api_key: str | None = DEFAULT_KEY,
        tls: TlsFiles | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        strict: bool = True,
    ) -> None:
        self.api_key = api_key
        self.host, self.port = host, port
        self.strict = strict
        self._tls = tls
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self._server: Server | None = None
        # behaviours
        self.bad_key_in_handshake = False
        self.bad_key_close_code = 1007
        self.handshake_status: int | None = None
        self.reject_setup: tuple[str, int] | None = None
        self.close_after_setup: tuple[int, str] | None = None
        self.silent_setup = False
        self.known_models: set[str] | None = None
        self.interrupt_next = False
        self.go_away_after_turns: int | None = None
        self.go_away_during_next_reply: str | None = None
        self.audio_chunks = 4
        self.chunk_ms = 100
        self.chunk_delay = 0.0
        self.user_transcript = "Hello there, double."
        # records
        self.setups: list[dict[str, Any]] = []
        self.frames: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.versions: list[str] = []
        self.key_sources: list[str] = []
        self.violations: list[str] = []
        self.texts_received: list[str] = []
        self.audio_mime_types: set[str] = set()
        self.audio_bytes_received = 0
        self.audio_stream_ends = 0
        self.activity_events: list[str] = []
        self.issued_handles: list[str] = []
        self.turns_completed = 0
        self.go_aways_sent = 0
        self.connections: set[_Connection] = set()
        self._setup_event = asyncio.Event()

    # -- what tests use --------------------------------------------------------

    @staticmethod
    def reply_for(text: str) -> str:
        return f"You said: {text}" if text else "I heard nothing."

    @property
    def tls(self) -> TlsFiles:
        if self._tls is None:
            raise RuntimeError("GeminiDouble is not started")
        return self._tls

    @property
    def cert_path(self) -> Path:
        return self.tls.cert_path

    @property
    def base_url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def last_version(self) -> str:
        return self.versions[-1] if self.versions else "v1"

    def ssl_context(self) -> ssl.SSLContext:
        return self.tls.client_context()

    def http_options(self) -> Any:
        """``google.genai.types.HttpOptions`` pointing the SDK here, trusting the double's cert."""
        from google.genai import types

        return types.HttpOptions(base_url=self.base_url, async_client_args={"ssl": self.ssl_context()})

    def environ(self) -> dict[str, str]:
        """The environment that points an unmodified SDK user here."""
        return {"GOOGLE_GEMINI_BASE_URL": self.base_url, "SSL_CERT_FILE": str(self.cert_path)}

    async def wait_for_setups(self, count: int, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.setups) < count:
                self._setup_event.clear()
                await self._setup_event.wait()

    def key_ok(self, request: Request | None) -> bool:
        if self.api_key is None or request is None:
            return True
        header = request.headers.get("x-goog-api-key")
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.path).query).get("key", [None])[0]
        return self.api_key in (header, query)

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> Self:
        if self._tls is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="gemini-double-")
            self._tls = make_tls_files(self._tmpdir.name)
        self._server = await serve(
            self._handler, self.host, self.port, ssl=self._tls.server_context(),
            process_request=self._process_request, max_size=16 * 1024 * 1024,
        )
        sock = next(iter(self._server.sockets))
        self.port = sock.getsockname()[1]
        log.info("Gemini double listening on %s", self.base_url)
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None
            self._tls = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def drop_connections(self, code: int = 1011, reason: str = "Internal error") -> None:
        """Close every open session from the server side (a dropped connection)."""
        for conn in list(self.connections):
            await conn.ws.close(code, reason)

    # -- websockets hooks ------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path = urllib.parse.urlsplit(request.path).path
        self.paths.append(request.path.split("?")[0])
        match = LIVE_PATH_RE.match(path)
        if match is None:
            return _json_response(connection, 404, "NOT_FOUND", f"Unknown path {path}")
        self.versions.append(match["version"])
        self.key_sources.append("header" if "x-goog-api-key" in request.headers else
                                "query" if "key=" in request.path else "none")
        if self.handshake_status is not None:
            status = self.handshake_status
            return _json_response(connection, status, _STATUS_NAMES.get(status, "ERROR"),
                                  f"Double answered HTTP {status}")
        if self.bad_key_in_handshake and not self.key_ok(request):
            return _json_response(connection, 403, "PERMISSION_DENIED", BAD_KEY_REASON)
        return None

    async def _handler(self, ws: ServerConnection) -> None:
        conn = _Connection(self, ws)
        self.connections.add(conn)
        try:
            await conn.run()
        finally:
            self.connections.discard(conn)


_STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


def _json_response(connection: ServerConnection, status: int, name: str, message: str) -> Response:
    response = connection.respond(status, json.dumps(
        {"error": {"code": status, "message": message, "status": name}}))
    del response.headers["Content-Type"]  # Headers is a multidict: replace, don't add
    response.headers["Content-Type"] = "application/json"
    return response


# -- standalone ----------------------------------------------------------------


async def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.gemini_double",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default=DEFAULT_KEY, help="key to expect; '' accepts any key")
    parser.add_argument("--chunk-delay", type=float, default=0.1, help="seconds between reply chunks")
    parser.add_argument("--cert-dir", help="keep cert.pem/key.pem here (default: a temp dir)")
    args = parser.parse_args(argv)
    tls = make_tls_files(args.cert_dir) if args.cert_dir else None
    double = GeminiDouble(api_key=args.api_key or None, tls=tls, port=args.port, strict=False)
    double.chunk_delay = args.chunk_delay
    async with double:
        print(f"base_url={double.base_url}", flush=True)
        print(f"cert={double.cert_path}", flush=True)
        print(f"export GOOGLE_GEMINI_BASE_URL={double.base_url} SSL_CERT_FILE={double.cert_path}"
              + (f" GEMINI_API_KEY={args.api_key}" if args.api_key else ""), flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()  # then the temporary certificate directory is removed
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    sys.exit(asyncio.run(_main()))
