"""The Gemini Live processor through the real google-genai SDK against a local double."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

import pytest

from desktop.parts import Part
from desktop.processors import get_factory
from desktop.processors.gemini import (
    RESTARTED_NOTICE,
    RESUMED_NOTICE,
    GeminiLiveProcessor,
    check_api_key,
    create,
)
from desktop.processors.gemini_mapping import DEFAULT_MODEL, MISSING_KEY_MESSAGE, GeminiSettings
from tests.gemini_double import DEFAULT_KEY, GeminiDouble, tone_pcm16

from .helpers import Feed, take_all, take_until

FAST_RETRIES = (0.01, 0.02, 0.05)


def _text_turn(text: str) -> Part:
    return Part(text=text, role="user", metadata={"turn_complete": True})


def _mic(ms: int = 100) -> Part:
    return Part(data=tone_pcm16(ms, rate=16000), mimetype="audio/pcm;rate=16000", role="user",
                substream_name="realtime")


MIC_OFF = Part(text="", role="user", substream_name="realtime", metadata={"audio_stream_end": True})


def _processor(double: GeminiDouble, config: dict | None = None, **kwargs: object) -> GeminiLiveProcessor:
    kwargs.setdefault("retry_delays", FAST_RETRIES)
    return GeminiLiveProcessor(GeminiSettings.from_config(config or {}), api_key=DEFAULT_KEY,
                               http_options=double.http_options(), **kwargs)  # type: ignore[arg-type]


def _transcript(parts: list[Part], *, user: bool) -> str:
    name = "input_transcription" if user else "output_transcription"
    return "".join(p.text or "" for p in parts if p.substream_name == name)


def _is_turn_complete(part: Part) -> bool:
    return bool(part.metadata.get("turn_complete"))


def _errors(parts: list[Part]) -> list[str]:
    return [p.metadata["error"] for p in parts if "error" in p.metadata]


def test_registered_by_name() -> None:
    assert get_factory("gemini") is create


async def test_text_turn_gives_audio_transcript_and_markers(gemini_double: GeminiDouble, feed: Feed) -> None:
    proc = create({"voice": "Kore", "language": "en-US", "system_instruction": "Be brief."},
                  api_key=DEFAULT_KEY, http_options=gemini_double.http_options())
    feed.send(_text_turn("hello"))
    feed.end()  # the run still waits for the reply in progress, then ends by itself
    parts = await take_all(proc(feed))

    audio = [p for p in parts if p.is_audio]
    assert len(audio) == 4 and all(p.mimetype == "audio/pcm;rate=24000" and p.role == "model" for p in audio)
    assert sum(len(p.data or b"") for p in audio) == 4 * 4800
    assert _transcript(parts, user=False) == "You said: hello"
    assert all(p.metadata["is_final"] for p in parts if p.substream_name == "output_transcription")
    assert Part.generation_complete() in parts
    turn_complete_at = next(i for i, p in enumerate(parts) if _is_turn_complete(p))
    assert parts.index(Part.generation_complete()) < turn_complete_at
    assert any("usage_metadata" in p.metadata for p in parts)
    assert _errors(parts) == []

    [setup] = gemini_double.setups
    assert setup["model"] == f"models/{DEFAULT_MODEL}"
    assert setup["generationConfig"]["responseModalities"] == ["AUDIO"]
    speech = setup["generationConfig"]["speechConfig"]
    # google-genai 3.4.0 leaves these nested keys snake_case (the service accepts both spellings)
    assert speech["voice_config"]["prebuilt_voice_config"]["voice_name"] == "Kore"
    assert speech["language_code"] == "en-US"
    assert setup["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    assert setup["inputAudioTranscription"] == {} and setup["outputAudioTranscription"] == {}
    assert setup["sessionResumption"] == {}
    assert "realtimeInputConfig" not in setup
    assert gemini_double.texts_received == ["hello"]
    assert gemini_double.key_sources == ["header"]
    assert gemini_double.paths == [
        "/ws/google.ai.generativelanguage.v1.GenerativeService.BidiGenerateContent"]
    assert gemini_double.violations == []


async def test_audio_turn_gives_input_transcription_and_audio(gemini_double: GeminiDouble,
                                                               feed: Feed) -> None:
    feed.send(*[_mic(20) for _ in range(10)], MIC_OFF)
    feed.end()
    parts = await take_all(_processor(gemini_double)(feed))

    assert _transcript(parts, user=True) == gemini_double.user_transcript
    [heard] = [p for p in parts if p.substream_name == "input_transcription"]
    assert heard.role == "user" and heard.metadata == {"is_final": True}
    assert any(p.is_audio for p in parts)
    assert _transcript(parts, user=False) == f"You said: {gemini_double.user_transcript}"
    assert gemini_double.audio_bytes_received == 10 * 640
    assert gemini_double.audio_mime_types == {"audio/pcm;rate=16000"}
    assert gemini_double.audio_stream_ends == 1
    assert gemini_double.violations == []


async def test_push_to_talk_sends_activities(gemini_double: GeminiDouble, feed: Feed) -> None:
    stream = _processor(gemini_double, {"push_to_talk": True})(feed)
    # No explicit activity_start: the first audio opens the activity, mic-off closes it.
    feed.send(_mic(), _mic(), MIC_OFF)
    parts = await take_until(stream, _is_turn_complete)
    feed.send(Part.control(activity_start=True), _mic(), Part.control(activity_end=True))
    feed.end()
    parts += await take_all(stream)

    setup = gemini_double.setups[0]
    assert setup["realtimeInputConfig"] == {"automatic_activity_detection": {"disabled": True}}
    assert gemini_double.activity_events == ["start", "end", "start", "end"]
    assert gemini_double.audio_stream_ends == 0
    assert gemini_double.violations == []
    assert _transcript(parts, user=True) == gemini_double.user_transcript * 2


async def test_interrupted_is_mapped(gemini_double: GeminiDouble, feed: Feed) -> None:
    gemini_double.interrupt_next = True
    feed.send(_text_turn("tell me a long story"))
    feed.end()
    parts = await take_all(_processor(gemini_double)(feed))

    assert Part.interrupted() in parts
    assert parts.index(Part.interrupted()) < next(i for i, p in enumerate(parts) if _is_turn_complete(p))
    assert Part.generation_complete() not in parts
    assert len([p for p in parts if p.is_audio]) == 1  # cut after the first chunk


async def test_go_away_is_survived_with_the_resumption_handle(gemini_double: GeminiDouble,
                                                               feed: Feed) -> None:
    gemini_double.go_away_after_turns = 1
    stream = _processor(gemini_double)(feed)
    feed.send(_text_turn("first"))
    first = await take_until(stream, lambda p: "session_resumption_update" in p.metadata)
    assert Part.control(session_resumption_update={"new_handle": "handle-1", "resumable": True}) in first

    feed.send(_text_turn("second"))  # sent while the processor reconnects: buffered, not lost
    feed.end()
    rest = await take_all(stream)

    notices = [p for p in rest if "notice" in p.metadata]
    assert [p.metadata["notice"] for p in notices] == [RESUMED_NOTICE]
    assert notices[0].mimetype == "application/x-state"
    assert _transcript(rest, user=False) == "You said: second"
    assert len(gemini_double.setups) == 2
    assert gemini_double.setups[0]["sessionResumption"] == {}
    assert gemini_double.setups[1]["sessionResumption"] == {"handle": "handle-1"}
    assert gemini_double.texts_received == ["first", "second"]
    assert _errors(rest) == []
    # The processor resumes by itself: the client is not told to leave the server.
    assert not any("go_away" in p.metadata for p in first + rest)


async def test_go_away_mid_reply_finishes_the_reply_first(gemini_double: GeminiDouble, feed: Feed) -> None:
    gemini_double.go_away_during_next_reply = "30s"
    stream = _processor(gemini_double)(feed)
    feed.send(_text_turn("first"))
    parts = await take_until(stream, lambda p: "notice" in p.metadata)
    notice_at = len(parts) - 1
    assert parts[notice_at].metadata == {"notice": RESUMED_NOTICE}
    assert not any("go_away" in p.metadata for p in parts)
    assert len([p for p in parts[:notice_at] if p.is_audio]) == 4  # the whole reply came first
    assert _transcript(parts, user=False) == "You said: first"
    assert gemini_double.setups[1]["sessionResumption"] == {"handle": "handle-1"}
    feed.end()
    await take_all(stream)


async def test_dropped_connection_reconnects(gemini_double: GeminiDouble, feed: Feed) -> None:
    stream = _processor(gemini_double)(feed)
    feed.send(_text_turn("one"))
    await take_until(stream, lambda p: "session_resumption_update" in p.metadata)
    await gemini_double.drop_connections(1011, "Internal error encountered.")
    notice = await take_until(stream, lambda p: "notice" in p.metadata)
    assert notice[-1].metadata["notice"] == RESUMED_NOTICE

    feed.send(_text_turn("two"))
    feed.end()
    rest = await take_all(stream)
    assert _transcript(rest, user=False) == "You said: two"
    assert gemini_double.setups[1]["sessionResumption"] == {"handle": "handle-1"}


async def test_refused_handle_falls_back_to_a_new_session(gemini_double: GeminiDouble, feed: Feed) -> None:
    stream = _processor(gemini_double)(feed)
    feed.send(_text_turn("one"))
    await take_until(stream, lambda p: "session_resumption_update" in p.metadata)
    gemini_double.issued_handles.clear()  # the double no longer knows the handle
    await gemini_double.drop_connections(1011, "Internal error encountered.")
    notice = await take_until(stream, lambda p: "notice" in p.metadata)
    assert notice[-1].metadata["notice"] == RESTARTED_NOTICE
    assert [s["sessionResumption"] for s in gemini_double.setups] == [{}, {"handle": "handle-1"}, {}]
    feed.end()
    await take_all(stream)


async def test_gives_up_after_bounded_retries(gemini_double: GeminiDouble, feed: Feed) -> None:
    stream = _processor(gemini_double)(feed)
    feed.send(_text_turn("one"))
    await take_until(stream, _is_turn_complete)
    gemini_double.handshake_status = 503
    await gemini_double.drop_connections(1011, "Internal error encountered.")
    rest = await take_all(stream)
    [error] = _errors(rest)
    assert error.startswith("Lost Gemini Live and could not reconnect") and "503" in error
    assert len(gemini_double.versions) == 1 + len(FAST_RETRIES)  # the first session, then 3 attempts


@pytest.mark.parametrize("in_handshake", [False, True], ids=["close-1007", "http-403"])
async def test_rejected_key_is_an_error(gemini_double: GeminiDouble, feed: Feed, in_handshake: bool) -> None:
    gemini_double.bad_key_in_handshake = in_handshake
    proc = create({}, api_key="not-the-key", http_options=gemini_double.http_options())
    feed.send(_text_turn("hello"))
    parts = await take_all(proc(feed))  # ends by itself: no feed.end()
    assert [p.metadata for p in parts] == [{"error": parts[0].metadata["error"]}]
    assert parts[0].metadata["error"].startswith("Gemini rejected the API key")
    assert "API key not valid" in parts[0].metadata["error"]


async def test_rejected_setup_is_an_error(gemini_double: GeminiDouble, feed: Feed) -> None:
    gemini_double.reject_setup = ("Invalid voice name: Nope", 1007)
    parts = await take_all(_processor(gemini_double, {"voice": "Nope"})(feed))
    assert _errors(parts) == [("Gemini refused the session settings (1007: Invalid voice name: Nope): check "
                               "the model, voice and language in Settings")]


async def test_unknown_model_is_an_error(gemini_double: GeminiDouble, feed: Feed) -> None:
    gemini_double.known_models = {DEFAULT_MODEL}
    parts = await take_all(_processor(gemini_double, {"model": "gemini-0-nope"})(feed))
    [error] = _errors(parts)
    assert error.startswith("Gemini model 'gemini-0-nope' was not found") and "Settings" in error


async def test_quota_is_an_error(gemini_double: GeminiDouble, feed: Feed) -> None:
    gemini_double.handshake_status = 429
    [error] = _errors(await take_all(_processor(gemini_double)(feed)))
    assert error.startswith("Gemini quota exhausted")


async def test_network_down_is_an_error_after_retries(gemini_double: GeminiDouble, feed: Feed) -> None:
    proc = _processor(gemini_double)
    await gemini_double.close()  # nothing listens on that port any more
    [error] = _errors(await take_all(proc(feed)))
    assert error.startswith("Cannot reach 127.0.0.1:") and "connection refused" in error


async def test_silent_service_is_an_error(gemini_double: GeminiDouble, feed: Feed) -> None:
    gemini_double.silent_setup = True
    # The limit must leave room for the TLS handshake and the setup frame to reach the double even on a
    # loaded machine: every attempt is then one setup the double saw and never answered (0.2 s was not).
    [error] = _errors(await take_all(_processor(gemini_double, connect_timeout=1.5)(feed), timeout=30))
    assert "did not answer in time" in error
    assert len(gemini_double.setups) == 1 + len(FAST_RETRIES)


async def test_missing_key_is_an_error(feed: Feed) -> None:
    parts = await take_all(create({"api_key": "from-the-wire-is-ignored"})(feed))
    assert _errors(parts) == ["No Gemini API key: add one in Settings or set GEMINI_API_KEY"]


async def test_key_from_environment(gemini_double: GeminiDouble, feed: Feed,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", DEFAULT_KEY)
    feed.send(_text_turn("env key"))
    feed.end()
    parts = await take_all(create({}, http_options=gemini_double.http_options())(feed))
    assert _errors(parts) == [] and _transcript(parts, user=False) == "You said: env key"


async def test_key_is_never_logged(gemini_double: GeminiDouble, feed: Feed,
                                   caplog: pytest.LogCaptureFixture) -> None:
    secret = "AIza-secret-never-log-me"
    caplog.set_level(logging.DEBUG)
    proc = create({}, api_key=secret, http_options=gemini_double.http_options())
    parts = await take_all(proc(feed))
    assert _errors(parts)
    # websockets logs handshake headers at DEBUG; the client side must hide the key
    assert any("x-goog-api-key: <redacted>" in r.getMessage() for r in caplog.records)
    app_records = [r for r in caplog.records if not r.name.startswith("websockets.server")]  # not the double
    assert all(secret not in r.getMessage() for r in app_records)
    assert secret not in repr(proc) and all(secret not in str(p) for p in parts)


async def test_check_api_key(gemini_double: GeminiDouble) -> None:
    options = gemini_double.http_options()
    assert await check_api_key(DEFAULT_KEY, http_options=options) is None
    bad = await check_api_key("wrong", http_options=options)
    assert bad is not None and bad.startswith("Gemini rejected the API key")
    assert await check_api_key("  ", http_options=options) == MISSING_KEY_MESSAGE
    gemini_double.handshake_status = 429
    assert (await check_api_key(DEFAULT_KEY, http_options=options) or "").startswith("Gemini quota exhausted")


async def test_check_api_key_times_out(gemini_double: GeminiDouble) -> None:
    gemini_double.silent_setup = True
    message = await check_api_key(DEFAULT_KEY, http_options=gemini_double.http_options(), timeout=0.3)
    assert message is not None and "did not answer within 0.3 s" in message


async def test_environment_route_in_process(gemini_double: GeminiDouble, feed: Feed,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK reads GOOGLE_GEMINI_BASE_URL and SSL_CERT_FILE when a Client is built, not at import."""
    for name, value in gemini_double.environ().items():
        monkeypatch.setenv(name, value)
    assert await check_api_key(DEFAULT_KEY) is None
    feed.send(_text_turn("via env"))
    feed.end()
    parts = await take_all(create({}, api_key=DEFAULT_KEY)(feed))
    assert _transcript(parts, user=False) == "You said: via env"


async def test_environment_route_in_a_fresh_interpreter(gemini_double: GeminiDouble) -> None:
    env = {**os.environ, **gemini_double.environ(), "GEMINI_API_KEY": DEFAULT_KEY}
    code = ("import asyncio; from desktop.processors.gemini import check_api_key; "
            "print(asyncio.run(check_api_key(__import__('os').environ['GEMINI_API_KEY'])))")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, env=env, cwd=Path(__file__).parents[2],
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=20)
    assert proc.returncode == 0, err.decode()
    assert out.decode().strip() == "None"
    assert len(gemini_double.setups) == 1
