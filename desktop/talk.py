"""``voice-desktop-talk``: a headless client for exercising voice servers.

Sends the protocol's config, then a typed turn and/or a spoken turn from a WAV
file (streamed at real time unless ``--fast``), waits for each turn to end,
prints the transcript (``--json``: one JSON event per line) and writes the
received audio to ``--out`` at its own rate.

Exit status: 0 when every turn completed; 1 when the server could not be
reached, refused us or failed; 2 for bad arguments or an unreadable WAV;
3 on timeout. Failures print one line on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from typing import Any, TextIO

from desktop import protocols
from desktop.audio.dsp import resample_pcm16
from desktop.audio.wavio import read_wav_pcm16, write_wav_pcm16
from desktop.errors import VoiceDesktopError
from desktop.protocols.events import (
    Audio,
    Event,
    Health,
    Interrupted,
    Notice,
    ProtocolError,
    ServerError,
    SessionUpdate,
    Transcript,
    TurnComplete,
)
from desktop.session import (
    AudioDropped,
    ConnectionState,
    ConnectionStatus,
    Session,
    TextAnswered,
    TextDelivered,
    TextNotAnswered,
)
from desktop.transcript import TranscriptModel

__all__ = ["Talk", "TalkFailed", "main"]

CHUNK_MS = 20
TRAILING_GRACE = 0.4  # transcripts may trail the end-of-turn signal by a few frames


class TalkFailed(Exception):
    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def event_to_json(event: Event) -> dict[str, Any]:
    if isinstance(event, Transcript):
        return {"type": "transcript", "speaker": event.speaker.value, "text": event.text,
                "final": event.final, "kind": event.kind.value}
    if isinstance(event, Audio):
        return {"type": "audio", "rate": event.rate, "bytes": len(event.pcm),
                "seconds": round(event.duration, 4)}
    if isinstance(event, TurnComplete):
        return {"type": "turn_complete"}
    if isinstance(event, Interrupted):
        return {"type": "interrupted", "connection_lost": event.connection_lost}
    if isinstance(event, Health):
        return {"type": "health"}
    if isinstance(event, (ServerError, ProtocolError, Notice)):
        kind = {ServerError: "server_error", ProtocolError: "protocol_error", Notice: "notice"}[type(event)]
        return {"type": kind, "message": event.message}
    if isinstance(event, SessionUpdate):
        return {"type": "session_update", "going_away": event.going_away, "time_left": event.time_left,
                "resumption_handle": event.resumption_handle, "usage": event.usage}
    if isinstance(event, TextDelivered):
        return {"type": "text_sent", "id": event.message_id}
    if isinstance(event, TextAnswered):
        return {"type": "text_answered", "id": event.message_id}
    if isinstance(event, TextNotAnswered):
        return {"type": "text_not_answered", "id": event.message_id, "written": event.written}
    if isinstance(event, AudioDropped):
        return {"type": "audio_dropped", "parts": event.frames, "reason": event.reason}
    return {"type": type(event).__name__}


class Talk:
    """Drives one session through the requested turns and collects what comes back."""

    def __init__(self, session_factory, *, json_out: TextIO | None = None) -> None:
        self.session: Session = session_factory(self._on_event, self._on_status)
        self.json_out = json_out
        self.transcript = TranscriptModel()
        self.audio: list[Audio] = []
        self.errors: list[str] = []
        self._turn_done = asyncio.Event()
        self._status_changed = asyncio.Event()

    # -- callbacks ---------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        if self.json_out is not None:
            print(json.dumps(event_to_json(event)), file=self.json_out, flush=True)
        if isinstance(event, (Transcript, TurnComplete, Interrupted)):
            self.transcript.apply(event)
        if isinstance(event, Audio):
            self.audio.append(event)
        elif isinstance(event, Interrupted) and event.connection_lost:
            self.errors.append("connection lost mid-turn")
            self._turn_done.set()
        elif isinstance(event, (TurnComplete, Interrupted)):
            self._turn_done.set()
        elif isinstance(event, ServerError):
            self.errors.append(f"server error: {event.message}")
            self._turn_done.set()

    def _on_status(self, status: ConnectionStatus) -> None:
        self._status_changed.set()

    # -- driving -----------------------------------------------------------------------

    async def connect(self) -> None:
        self.session.start()
        while True:
            state = self.session.status
            if state.state is ConnectionState.CONNECTED:
                return
            if state.state in (ConnectionState.ERROR, ConnectionState.DISCONNECTED, ConnectionState.RECONNECTING):
                raise TalkFailed(f"cannot connect to {self.session.url.split('?')[0]}: {state.reason}")
            self._status_changed.clear()
            await self._status_changed.wait()

    async def text_turn(self, text: str) -> None:
        self._begin_turn()
        self.transcript.add_typed(text, sent=True)
        self.session.send_text(text)
        await self._end_turn()

    async def audio_turn(self, pcm: bytes, *, fast: bool) -> None:
        self._begin_turn()
        self.session.activity_start()
        step = self.session.codec.info.send_rate * 2 * CHUNK_MS // 1000
        loop = asyncio.get_running_loop()
        start = loop.time()
        for index, offset in enumerate(range(0, len(pcm), step)):
            self._check_connected()
            self.session.send_audio(pcm[offset:offset + step])
            if fast:
                await asyncio.sleep(0)
            else:  # pace against the clock, not per sleep, so delays don't add up
                await asyncio.sleep(max(0.0, start + (index + 1) * CHUNK_MS / 1000 - loop.time()))
        self.session.audio_end()
        await self._end_turn()

    def _begin_turn(self) -> None:
        self._turn_done.clear()

    def _check_connected(self) -> None:
        if not self.session.connected:
            raise TalkFailed(f"connection lost: {self.session.status.reason}")

    async def _end_turn(self) -> None:
        waiter = asyncio.create_task(self._turn_done.wait())
        try:
            while not waiter.done():
                self._status_changed.clear()
                status = asyncio.create_task(self._status_changed.wait())
                await asyncio.wait({waiter, status}, return_when=asyncio.FIRST_COMPLETED)
                status.cancel()
                if not waiter.done():
                    self._check_connected()
        finally:
            waiter.cancel()
        if self.errors:
            raise TalkFailed(self.errors[-1])
        await asyncio.sleep(TRAILING_GRACE)

    def reply_audio(self) -> tuple[bytes, int] | None:
        if not self.audio:
            return None
        rate = self.audio[0].rate
        return b"".join(resample_pcm16(a.pcm, a.rate, rate) for a in self.audio), rate


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voice-desktop-talk", description=__doc__.splitlines()[0],
                                     epilog="Exit status: 0 turn(s) completed, 1 connection/server failure, "
                                            "2 bad arguments or WAV, 3 timeout.")
    parser.add_argument("--url", help="server URL, e.g. ws://127.0.0.1:8765/?token=... or a bare ws://host:port")
    parser.add_argument("--protocol", default="live_server", help="wire protocol (see --list-protocols)")
    parser.add_argument("--list-protocols", action="store_true", help="list protocols, plugins included, and exit")
    parser.add_argument("--text", help="a typed turn to send")
    parser.add_argument("--wav", help="a WAV file to send as a spoken turn")
    parser.add_argument("--out", help="write the received audio to this WAV file")
    parser.add_argument("--json", action="store_true", help="print one JSON event per line")
    parser.add_argument("--timeout", type=float, default=60.0, help="give up after this many seconds (default 60)")
    parser.add_argument("--fast", action="store_true", help="send the WAV as fast as possible, not at real time")
    parser.add_argument("--token", help="token to add as ?token= (if the URL has none)")
    parser.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                        help="a config entry for the server (repeatable), e.g. --config voice=Puck")
    parser.add_argument("--header", action="append", default=[], metavar="NAME:VALUE",
                        help="an extra HTTP header for the handshake (repeatable)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log to stderr")
    return parser


def _parse_pairs(items: list[str], sep: str, what: str) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, found, value = item.partition(sep)
        if not found or not key.strip():
            raise TalkFailed(f"bad {what} {item!r}: expected NAME{sep}VALUE", 2)
        pairs[key.strip()] = value.strip()
    return pairs


async def run(args: argparse.Namespace, stdout: TextIO) -> int:
    try:
        codec_class = protocols.get(args.protocol)
    except VoiceDesktopError as exc:
        raise TalkFailed(str(exc), 2) from None
    config = _parse_pairs(args.config, "=", "--config")
    headers = _parse_pairs(args.header, ":", "--header")
    codec = codec_class(config)
    pcm = None
    if args.wav:
        try:
            pcm, _ = read_wav_pcm16(args.wav, codec.info.send_rate)
        except VoiceDesktopError as exc:
            raise TalkFailed(f"bad WAV: {exc}", 2) from None

    def make_session(on_event, on_status) -> Session:
        return Session(codec, args.url, token=args.token, headers=headers, on_event=on_event,
                       on_status=on_status, reconnect=False)

    try:
        talk = Talk(make_session, json_out=stdout if args.json else None)
    except VoiceDesktopError as exc:
        raise TalkFailed(str(exc), 2) from None
    try:
        async with asyncio.timeout(args.timeout):
            await talk.connect()
            if args.text:
                await talk.text_turn(args.text)
            if pcm is not None:
                await talk.audio_turn(pcm, fast=args.fast)
    except TimeoutError:
        raise TalkFailed(f"timed out after {args.timeout:g} s waiting for the "
                         f"{'turn to end' if talk.session.connected else 'server'}", 3) from None
    finally:
        await talk.session.close()
        reply = talk.reply_audio()
        if args.out and reply is not None:
            write_wav_pcm16(args.out, *reply)
    if not args.json:
        for turn in talk.transcript.turns:
            if turn.text:
                print(f"{'you' if turn.is_user else 'assistant'}: {turn.text}", file=stdout)
    if args.out and reply is None:
        print(f"voice-desktop-talk: no audio came back; {args.out} not written", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.CRITICAL, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.list_protocols:
        for name, info in protocols.available().items():
            print(f"{name:16} {info.title}: send {info.send_rate} Hz, "
                  f"{'turn events' if info.has_turn_events else 'idle-gap turns'}"
                  f"{', interruption' if info.has_interruption else ''}")
        return 0
    if not args.url:
        print("voice-desktop-talk: --url is required (or --list-protocols)", file=sys.stderr)
        return 2
    if not args.text and not args.wav:
        print("voice-desktop-talk: nothing to say: give --text and/or --wav", file=sys.stderr)
        return 2
    try:
        return asyncio.run(run(args, sys.stdout))
    except TalkFailed as exc:
        print(f"voice-desktop-talk: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
