"""The pure Gemini mappings: settings, setup config, input actions, server messages, errors."""

from __future__ import annotations

import socket
import ssl

import pytest
from google.genai import errors as genai_errors
from google.genai import types
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosedError, InvalidStatus
from websockets.frames import Close
from websockets.http11 import Response

from desktop.parts import Part
from desktop.processors.gemini_mapping import (
    DEFAULT_MODEL,
    DEFAULT_VOICE,
    GeminiSettings,
    InputMapper,
    SendActivityEnd,
    SendActivityStart,
    SendAudio,
    SendAudioStreamEnd,
    SendText,
    build_connect_config,
    describe_error,
    parse_duration,
    resumption_handle,
    to_parts,
)

# -- settings -----------------------------------------------------------------------


def test_settings_defaults_and_blanks() -> None:
    assert GeminiSettings.from_config({}) == GeminiSettings()
    s = GeminiSettings.from_config({"model": "  ", "voice": "", "language": None, "system_instruction": " "})
    assert (s.model, s.voice, s.language, s.system_instruction) == (DEFAULT_MODEL, DEFAULT_VOICE, None, None)


def test_settings_read_every_key() -> None:
    s = GeminiSettings.from_config({"model": "models/m1", "voice": "Kore", "language": "de-DE",
                                    "system_instruction": "Be brief.", "push_to_talk": "true", "other": 1})
    assert s == GeminiSettings(model="m1", voice="Kore", language="de-DE", system_instruction="Be brief.",
                               push_to_talk=True)
    assert GeminiSettings.from_config({"push_to_talk": "false"}).push_to_talk is False


def test_text_input_follows_the_model_unless_chosen() -> None:
    assert GeminiSettings.from_config({}).text_input == "client_content"
    assert GeminiSettings.from_config({"model": "gemini-3.1-flash-live-preview"}).text_input == "realtime"
    chosen = GeminiSettings.from_config({"model": "gemini-3.1-x", "text_input": "client_content"})
    assert chosen.text_input == "client_content"


def test_connect_config_turns_on_audio_transcripts_and_resumption() -> None:
    cfg = build_connect_config(GeminiSettings(voice="Kore", language="en-US", system_instruction="Hi"))
    assert cfg.response_modalities == [types.Modality.AUDIO]
    assert cfg.speech_config.voice_config.prebuilt_voice_config.voice_name == "Kore"
    assert cfg.speech_config.language_code == "en-US"
    assert cfg.system_instruction == "Hi"
    assert cfg.input_audio_transcription is not None and cfg.output_audio_transcription is not None
    assert cfg.session_resumption == types.SessionResumptionConfig(handle=None)
    assert cfg.realtime_input_config is None


def test_connect_config_push_to_talk_and_handle() -> None:
    cfg = build_connect_config(GeminiSettings(push_to_talk=True), "h-7")
    assert cfg.realtime_input_config.automatic_activity_detection.disabled is True
    assert cfg.session_resumption.handle == "h-7"


# -- server messages → parts --------------------------------------------------------------


def _content(**fields: object) -> types.LiveServerMessage:
    return types.LiveServerMessage(server_content=types.LiveServerContent(**fields))


def _audio(data: bytes, mime: str) -> types.Content:
    return types.Content(role="model", parts=[types.Part(inline_data=types.Blob(data=data, mime_type=mime))])


def test_audio_rate_comes_from_the_mimetype() -> None:
    [part] = to_parts(_content(model_turn=_audio(b"\x01\x02", "audio/pcm;rate=24000")))
    assert (part.data, part.mimetype, part.role) == (b"\x01\x02", "audio/pcm;rate=24000", "model")
    [part] = to_parts(_content(model_turn=_audio(b"\x01\x02", "audio/pcm;rate=16000")))
    assert part.mimetype == "audio/pcm;rate=16000"
    [part] = to_parts(_content(model_turn=_audio(b"\x01\x02", "audio/pcm")))
    assert part.mimetype == "audio/pcm;rate=24000"


def test_text_parts_but_not_thoughts() -> None:
    turn = types.Content(parts=[types.Part(text="thinking...", thought=True), types.Part(text="Hi")])
    assert [(p.text, p.role) for p in to_parts(_content(model_turn=turn))] == [("Hi", "model")]


def test_transcripts() -> None:
    [user] = to_parts(_content(input_transcription=types.Transcription(text="hello", finished=True)))
    assert (user.text, user.role, user.substream_name, user.metadata) == \
        ("hello", "user", "input_transcription", {"is_final": True})
    [model] = to_parts(_content(output_transcription=types.Transcription(text=" Hi")))
    assert (model.text, model.substream_name) == (" Hi", "output_transcription")
    assert model.metadata == {"is_final": True}
    [tentative] = to_parts(_content(output_transcription=types.Transcription(text="Hi", finished=False)))
    assert tentative.metadata == {"is_final": False}
    assert to_parts(_content(output_transcription=types.Transcription())) == []


def test_turn_markers_in_play_order() -> None:
    msg = _content(interrupted=True, model_turn=_audio(b"\0\0", "audio/pcm;rate=24000"),
                   output_transcription=types.Transcription(text="x"),
                   generation_complete=True, turn_complete=True)
    parts = to_parts(msg)
    assert parts[0] == Part.interrupted()
    assert parts[1].data == b"\0\0"
    assert parts[2].substream_name == "output_transcription"
    assert parts[3:] == [Part.generation_complete(), Part.control(turn_complete=True)]


def test_session_level_messages() -> None:
    msg = types.LiveServerMessage(
        usage_metadata=types.UsageMetadata(prompt_token_count=3, total_token_count=5),
        session_resumption_update=types.LiveServerSessionResumptionUpdate(new_handle="h1", resumable=True),
        go_away=types.LiveServerGoAway(time_left="12.5s"),
    )
    assert to_parts(msg) == [
        Part.control(usage_metadata={"prompt_token_count": 3, "total_token_count": 5}),
        Part.control(session_resumption_update={"new_handle": "h1", "resumable": True}),
        Part.control(go_away={"time_left": 12.5}),
    ]
    assert resumption_handle(msg) == "h1"


def test_unresumable_update_has_no_handle() -> None:
    update = types.LiveServerSessionResumptionUpdate(resumable=False)
    msg = types.LiveServerMessage(session_resumption_update=update)
    assert resumption_handle(msg) is None
    assert to_parts(msg) == [Part.control(session_resumption_update={"new_handle": None, "resumable": False})]


@pytest.mark.parametrize(("value", "seconds"), [("0s", 0.0), ("10s", 10.0), ("1.5s", 1.5), (" 3s ", 3.0),
                                                (7, 7.0), ("soon", None), (None, None)])
def test_parse_duration(value: object, seconds: float | None) -> None:
    assert parse_duration(value) == seconds


# -- input parts → actions -----------------------------------------------------------------


def _mic(data: bytes = b"\1\0" * 4, mime: str = "audio/pcm;rate=16000") -> Part:
    return Part(data=data, mimetype=mime, role="user", substream_name="realtime")


MIC_OFF = Part(text="", role="user", substream_name="realtime", metadata={"audio_stream_end": True})


def test_open_mic_actions() -> None:
    m = InputMapper(GeminiSettings())
    assert m.actions(_mic()) == [SendAudio(b"\1\0" * 4, "audio/pcm;rate=16000")]
    assert m.actions(_mic(mime="audio/l16;rate=16000")) == [SendAudio(b"\1\0" * 4, "audio/pcm;rate=16000")]
    assert m.actions(MIC_OFF) == [SendAudioStreamEnd()]
    assert m.actions(Part(data=b"", mimetype="audio/pcm;rate=16000")) == []


def test_push_to_talk_opens_and_closes_activities() -> None:
    m = InputMapper(GeminiSettings(push_to_talk=True))
    assert m.actions(_mic()) == [SendActivityStart(), SendAudio(b"\1\0" * 4, "audio/pcm;rate=16000")]
    assert m.actions(_mic()) == [SendAudio(b"\1\0" * 4, "audio/pcm;rate=16000")]
    assert m.actions(MIC_OFF) == [SendActivityEnd()]
    assert m.actions(MIC_OFF) == []
    assert m.actions(Part.control(activity_start=True)) == [SendActivityStart()]
    assert m.actions(Part.control(activity_start=True)) == []
    m.new_session()  # a new connection has no open activity
    assert m.actions(Part.control(activity_end=True)) == []
    assert m.actions(_mic())[0] == SendActivityStart()


def test_activity_parts_are_ignored_with_automatic_detection() -> None:
    m = InputMapper(GeminiSettings())
    assert m.actions(Part.control(activity_start=True)) == []
    assert m.actions(Part.control(activity_end=True)) == []


def test_text_turns() -> None:
    m = InputMapper(GeminiSettings())
    assert m.actions(Part(text="hi", role="user", metadata={"turn_complete": True})) == [SendText("hi", True)]
    assert m.actions(Part(text="hi")) == [SendText("hi", True)]
    assert m.actions(Part(text="more", metadata={"turn_complete": False})) == [SendText("more", False)]
    assert m.actions(Part(text="  ", metadata={"turn_complete": True})) == []
    realtime = InputMapper(GeminiSettings(text_input="realtime"))
    assert realtime.actions(Part(text="hi")) == [SendText("hi", True, realtime=True)]


# -- exceptions → words ---------------------------------------------------------------------


def _status(code: int, body: bytes = b"") -> InvalidStatus:
    return InvalidStatus(Response(code, "x", Headers(), body))


@pytest.mark.parametrize(("exc", "kind", "retryable", "words"), [
    (genai_errors.APIError(1007, "API key not valid. Please pass a valid API key."), "auth", False,
     "Gemini rejected the API key"),
    (genai_errors.APIError(1008, "models/x is not found for API version v1"), "model", False, "'m'"),
    (genai_errors.APIError(1011, "You exceeded your current quota"), "quota", False, "quota"),
    (genai_errors.APIError(1008, "Request contains an invalid argument."), "setup", False, "settings"),
    (genai_errors.APIError(1011, "Internal error encountered."), "closed", True, "closed"),
    (genai_errors.APIError(1006, "Abnormal closure."), "closed", True, "closed"),
    (_status(403, b'{"error": {"message": "bad key"}}'), "auth", False, "HTTP 403: bad key"),
    (_status(401), "auth", False, "HTTP 401"),
    (_status(429), "quota", False, "quota"),
    (_status(404), "setup", False, "GOOGLE_GEMINI_BASE_URL"),
    (_status(503), "server", True, "unavailable"),
    (ConnectionRefusedError(111, "Connection refused"), "network", True, "connection refused"),
    (socket.gaierror(-2, "Name or service not known"), "network", True, "look up"),
    (TimeoutError(), "network", True, "did not answer"),
    (ConnectionClosedError(None, Close(1011, "x")), "closed", True, "dropped"),
    (RuntimeError("boom"), "other", False, "RuntimeError: boom"),
])
def test_describe_error(exc: BaseException, kind: str, retryable: bool, words: str) -> None:
    failure = describe_error(exc, model="m", endpoint="example.test")
    assert (failure.kind, failure.retryable) == (kind, retryable)
    assert words in failure.message


def test_untrusted_certificate_points_at_ssl_cert_file() -> None:
    exc = ssl.SSLCertVerificationError(1, "certificate verify failed")
    exc.verify_message = "self-signed certificate"
    failure = describe_error(exc, endpoint="proxy.local:443")
    assert failure.kind == "tls" and "SSL_CERT_FILE" in failure.message and "proxy.local" in failure.message
