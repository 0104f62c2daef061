"""Every built-in protocol, through the real session client and voice-desktop-talk, against a
reference-like server on 127.0.0.1 (tests/servers)."""

from __future__ import annotations

import asyncio
import io
import json
import wave

import numpy as np
import pytest

from desktop import protocols, talk
from desktop.protocols.events import Audio, Transcript, TurnComplete
from desktop.session import Backoff, ConnectionState, Session, TextDelivered
from tests.servers.adk_bidi_server import AdkBidiServer
from tests.servers.adk_server import AdkServer
from tests.servers.ai_proxy_core_server import AiProxyCoreServer
from tests.session.test_session import Recorder

SERVERS = {"adk": AdkServer, "adk_bidi": AdkBidiServer, "ai_proxy_core": AiProxyCoreServer}


def tone(rate: int, seconds: float) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return (np.sin(2 * np.pi * 440 * t) * 10000).astype("<i2").tobytes()


@pytest.mark.parametrize("name", sorted(SERVERS))
async def test_session_text_and_audio_turns(name):
    async with SERVERS[name]() as server:
        rec = Recorder()
        codec = protocols.get(name)({"turn_idle_gap": 0.3} if name == "ai_proxy_core" else {})
        session = Session(codec, server.url, on_event=rec.on_event, on_status=rec.on_status,
                          backoff=Backoff(initial=0.05, cap=0.2))
        session.start()
        await rec.wait_for(lambda: session.connected)
        message_id = session.send_text("hello there")
        await rec.wait_for(lambda: rec.count(TurnComplete) >= 1)
        assert TextDelivered(message_id) in rec.events
        said = "".join(e.text for e in rec.events if isinstance(e, Transcript) and e.final)
        assert "hello there" in said
        session.activity_start()
        pcm = tone(codec.info.send_rate, 0.4)
        step = codec.info.send_rate * 2 // 50
        for offset in range(0, len(pcm), step):
            session.send_audio(pcm[offset:offset + step])
            await asyncio.sleep(0)
        session.audio_end()
        await rec.wait_for(lambda: rec.count(TurnComplete) >= 2 and rec.count(Audio))
        await session.close()
    audio = [e for e in rec.events if isinstance(e, Audio)]
    assert {a.rate for a in audio} == {24000}
    assert rec.state is ConnectionState.DISCONNECTED


def write_wav(path, pcm: bytes, rate: int) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm)


@pytest.mark.parametrize("name", sorted(SERVERS) + ["live_server"])
async def test_talk_cli_speaks_every_protocol(name, tmp_path):
    wav_in, wav_out = tmp_path / "in.wav", tmp_path / "out.wav"
    write_wav(wav_in, tone(44100, 0.3), 44100)  # any rate: talk converts to what the protocol wants
    if name == "live_server":
        from desktop.processors import get_factory
        from desktop.server import LiveServer

        server_cm = LiveServer(get_factory("echo"))
    else:
        server_cm = SERVERS[name]()
    async with server_cm as server:
        args = talk.build_parser().parse_args([
            "--url", server.url, "--protocol", name, "--text", "ping", "--wav", str(wav_in),
            "--out", str(wav_out), "--json", "--fast", "--timeout", "20",
            *(["--config", "turn_idle_gap=0.3"] if name == "ai_proxy_core" else [])])
        out = io.StringIO()
        assert await talk.run(args, out) == 0
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    kinds = [e["type"] for e in events]
    assert kinds.count("turn_complete") >= 2
    assert any(e["type"] == "transcript" and "ping" in e["text"] for e in events)
    with wave.open(str(wav_out)) as wav:
        assert wav.getframerate() == 24000 and wav.getnframes() > 0


def test_list_protocols_names_every_builtin(capsys):
    assert talk.main(["--list-protocols"]) == 0
    out = capsys.readouterr().out
    for name in ("live_server", "adk", "adk_bidi", "ai_proxy_core"):
        assert name in out
