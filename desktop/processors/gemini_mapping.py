"""Pure mappings between our parts and the Gemini Live API (through google-genai types).

Why a separate module: everything here is a function of its arguments — no
sockets, no clock, no environment — so the whole translation (config → setup,
input part → SDK calls, server message → output parts, exception → words a user
can act on) is tested without a network, and the I/O layer in
:mod:`desktop.processors.gemini` stays a thin shuttle.
"""

from __future__ import annotations

import dataclasses
import json
import re
import socket
import ssl
from collections.abc import Mapping
from typing import Any, Literal

from google.genai import errors as genai_errors
from google.genai import types
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from desktop.parts import Part, audio_rate

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_VOICE",
    "INPUT_RATE",
    "MISSING_KEY_MESSAGE",
    "OUTPUT_RATE",
    "TURN_ENDING",
    "Action",
    "Failure",
    "GeminiSettings",
    "InputMapper",
    "SendActivityEnd",
    "SendActivityStart",
    "SendAudio",
    "SendAudioStreamEnd",
    "SendText",
    "build_connect_config",
    "describe_error",
    "parse_duration",
    "resumption_handle",
    "to_parts",
]

#: Gemini API (AI Studio) native-audio Live model, the one google's Live guide migrates *from*
#: to ``gemini-3.1-flash-live-preview`` (which google-genai 3.4.0's own live tests use). Both work;
#: this one accepts typed turns as ``clientContent`` for the whole session.
DEFAULT_MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"
DEFAULT_VOICE = "Puck"
INPUT_RATE = 16000
OUTPUT_RATE = 24000
MISSING_KEY_MESSAGE = "No Gemini API key: add one in Settings or set GEMINI_API_KEY"

TextInput = Literal["client_content", "realtime"]


# -- settings --------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


@dataclasses.dataclass(frozen=True, slots=True)
class GeminiSettings:
    """What the wire config may choose. The API key is deliberately not here: it never
    travels in the client's config message."""

    model: str = DEFAULT_MODEL
    voice: str = DEFAULT_VOICE
    system_instruction: str | None = None
    language: str | None = None
    push_to_talk: bool = False
    #: How typed turns are sent: ``clientContent`` (ordered, Gemini 2.5) or ``realtimeInput.text``
    #: (what Gemini 3.x Live models expect mid-session).
    text_input: TextInput = "client_content"

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> GeminiSettings:
        """Read the keys ``model``, ``voice``, ``system_instruction``, ``language``,
        ``push_to_talk`` and ``text_input``; unknown keys are ignored, blanks mean default."""
        config = config or {}
        model = (_text(config.get("model")) or DEFAULT_MODEL).removeprefix("models/")
        text_input = _text(config.get("text_input"))
        if text_input not in ("client_content", "realtime"):
            text_input = "realtime" if model.startswith("gemini-3") else "client_content"
        return cls(
            model=model,
            voice=_text(config.get("voice")) or DEFAULT_VOICE,
            system_instruction=_text(config.get("system_instruction")),
            language=_text(config.get("language")),
            push_to_talk=_flag(config.get("push_to_talk", False)),
            text_input=text_input,  # type: ignore[arg-type]
        )


def build_connect_config(settings: GeminiSettings, handle: str | None = None) -> types.LiveConnectConfig:
    """The ``LiveConnectConfig`` of one connection; ``handle`` resumes an earlier session."""
    speech = types.SpeechConfig(
        voice_config=types.VoiceConfig(prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name=settings.voice)),
        language_code=settings.language,
    )
    realtime = None
    if settings.push_to_talk:
        realtime = types.RealtimeInputConfig(
            automatic_activity_detection=types.AutomaticActivityDetection(disabled=True))
    return types.LiveConnectConfig(
        response_modalities=[types.Modality.AUDIO],
        speech_config=speech,
        system_instruction=settings.system_instruction,
        input_audio_transcription=types.AudioTranscriptionConfig(),
        output_audio_transcription=types.AudioTranscriptionConfig(),
        realtime_input_config=realtime,
        session_resumption=types.SessionResumptionConfig(handle=handle),
    )


# -- server messages → parts -------------------------------------------------------


_DURATION = re.compile(r"^\s*(-?\d+(?:\.\d*)?)s\s*$")


def parse_duration(value: Any) -> float | None:
    """A protobuf JSON duration (``"12s"``, ``"0.5s"``) in seconds, or None if unreadable."""
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str):
        return None
    match = _DURATION.match(value)
    return float(match.group(1)) if match else None


def _transcription(t: types.Transcription | None, *, user: bool) -> Part | None:
    if t is None or (not t.text and not t.finished):
        return None
    # Gemini sends transcripts as deltas that are never revised: each one is final unless
    # the service says otherwise with ``finished: false``.
    return Part.transcription(t.text or "", user=user, final=t.finished if t.finished is not None else True)


def to_parts(msg: types.LiveServerMessage) -> list[Part]:
    """The output parts one Live server message stands for, in the order to play them.

    Interruption comes first (the client drops queued audio before anything newer),
    then what the user said, the model's audio/text and its transcript, and the turn
    markers; session-level notices (usage, resumption, goAway) last.
    """
    parts: list[Part] = []
    content = msg.server_content
    if content is not None:
        if content.interrupted:
            parts.append(Part.interrupted())
        if (p := _transcription(content.input_transcription, user=True)) is not None:
            parts.append(p)
        for part in (content.model_turn.parts or []) if content.model_turn else []:
            if part.inline_data is not None and part.inline_data.data:
                mime = part.inline_data.mime_type or ""
                if mime.startswith("audio/"):
                    rate = audio_rate(mime, OUTPUT_RATE) or OUTPUT_RATE
                    parts.append(Part.audio(part.inline_data.data, rate))
            elif part.text and not part.thought:
                parts.append(Part.model_text(part.text))
        if (p := _transcription(content.output_transcription, user=False)) is not None:
            parts.append(p)
        if content.generation_complete:
            parts.append(Part.generation_complete())
        if content.turn_complete:
            parts.append(Part.control(turn_complete=True))
    if msg.usage_metadata is not None:
        usage = msg.usage_metadata.model_dump(mode="json", exclude_none=True)
        parts.append(Part.control(usage_metadata=usage))
    if msg.session_resumption_update is not None:
        update = msg.session_resumption_update
        parts.append(Part.control(session_resumption_update={
            "new_handle": update.new_handle, "resumable": bool(update.resumable)}))
    if msg.go_away is not None:
        parts.append(Part.control(go_away={"time_left": parse_duration(msg.go_away.time_left)}))
    return parts


def resumption_handle(msg: types.LiveServerMessage) -> str | None:
    """The handle to resume with from now on, if this message brings a usable one."""
    update = msg.session_resumption_update
    if update is not None and update.resumable and update.new_handle:
        return update.new_handle
    return None


# -- input parts → SDK calls -----------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class SendAudio:
    data: bytes
    mime_type: str


@dataclasses.dataclass(frozen=True, slots=True)
class SendAudioStreamEnd:
    pass


@dataclasses.dataclass(frozen=True, slots=True)
class SendActivityStart:
    pass


@dataclasses.dataclass(frozen=True, slots=True)
class SendActivityEnd:
    pass


@dataclasses.dataclass(frozen=True, slots=True)
class SendText:
    text: str
    turn_complete: bool
    realtime: bool = False  # send as ``realtimeInput.text`` rather than ``clientContent``


Action = SendAudio | SendAudioStreamEnd | SendActivityStart | SendActivityEnd | SendText

#: Actions after which the model is expected to answer.
TURN_ENDING = (SendAudioStreamEnd, SendActivityEnd)


class InputMapper:
    """Turns input parts into Live API calls; remembers whether a push-to-talk activity is open.

    In push-to-talk mode the service ignores audio outside an activity, so the first
    audio after silence opens one by itself (a client that only sends audio and mic-off
    still works) and mic-off closes it. Call :meth:`new_session` after a reconnect: a
    fresh connection has no open activity.
    """

    def __init__(self, settings: GeminiSettings) -> None:
        self.settings = settings
        self.activity_open = False

    def new_session(self) -> None:
        self.activity_open = False

    def actions(self, part: Part) -> list[Action]:
        ptt = self.settings.push_to_talk
        out: list[Action] = []
        if part.is_activity_start and ptt and not self.activity_open:
            self.activity_open = True
            out.append(SendActivityStart())
        if part.is_audio and part.data:
            if ptt and not self.activity_open:
                self.activity_open = True
                out.append(SendActivityStart())
            out.append(SendAudio(part.data, _input_mime(part.mimetype)))
        elif part.is_text and part.text and part.text.strip():
            # A text part is a whole turn unless it says ``turn_complete: false`` (more to come).
            out.append(SendText(part.text, bool(part.metadata.get("turn_complete", True)),
                                realtime=self.settings.text_input == "realtime"))
        if part.is_activity_end or part.is_audio_stream_end:
            if ptt:
                if self.activity_open:
                    self.activity_open = False
                    out.append(SendActivityEnd())
            elif part.is_audio_stream_end:
                out.append(SendAudioStreamEnd())
        return out


def _input_mime(mimetype: str) -> str:
    """``audio/pcm;rate=N`` for PCM16 input (``audio/l16`` is the same samples, other name)."""
    rate = audio_rate(mimetype, INPUT_RATE)
    base = mimetype.split(";", 1)[0].strip().lower()
    if base in ("audio/pcm", "audio/l16", "audio/x-pcm", "audio/raw"):
        return f"audio/pcm;rate={rate}"
    return mimetype


# -- exceptions → words ----------------------------------------------------------------

FailureKind = Literal["auth", "quota", "model", "setup", "network", "tls", "server", "closed", "other"]

_AUTH_WORDS = ("api key", "api_key", "permission_denied", "permission denied", "unauthenticated",
               "unregistered callers", "invalid authentication")
_QUOTA_WORDS = ("quota", "resource_exhausted", "resource exhausted", "rate limit")
_MODEL_WORDS = ("is not found", "not_found", "not supported for bidigeneratecontent", "unknown model")
_RETRYABLE_CLOSE = {1000, 1001, 1006, 1011, 1012, 1013, 1014}


@dataclasses.dataclass(frozen=True, slots=True)
class Failure:
    """What went wrong, in words a user can act on, and whether trying again may help."""

    kind: FailureKind
    message: str
    retryable: bool


def _auth(detail: str) -> Failure:
    return Failure("auth", f"Gemini rejected the API key ({detail}): "
                   "check the key in Settings or GEMINI_API_KEY", False)


def _quota(detail: str) -> Failure:
    return Failure("quota", f"Gemini quota exhausted ({detail}): "
                   "wait a minute, or check your plan and billing in Google AI Studio", False)


def _model(model: str, detail: str) -> Failure:
    return Failure("model", f"Gemini model {model!r} was not found or does not support the Live API "
                   f"({detail}): choose another model in Settings", False)


def _by_words(reason: str, model: str) -> Failure | None:
    lowered = reason.lower()
    if any(w in lowered for w in _AUTH_WORDS):
        return _auth(reason)
    if any(w in lowered for w in _QUOTA_WORDS):
        return _quota(reason)
    if any(w in lowered for w in _MODEL_WORDS):
        return _model(model, reason)
    return None


def _http_detail(exc: InvalidStatus) -> str:
    status = exc.response.status_code
    try:
        body = json.loads(exc.response.body or b"{}")
        message = body.get("error", {}).get("message") or ""
    except (ValueError, AttributeError):
        message = ""
    return f"HTTP {status}" + (f": {message}" if message else "")


def _api_error_reason(exc: genai_errors.APIError) -> str:
    if exc.message:
        return str(exc.message)
    if isinstance(exc.details, str):
        return exc.details
    return str(exc)


def describe_error(
    exc: BaseException, *, model: str = DEFAULT_MODEL, endpoint: str = "Gemini Live"
) -> Failure:
    """Classify an exception raised while connecting to or talking with Gemini Live.

    Close reasons are read before close codes: the service says "API key not valid"
    or "models/x is not found" in the reason of a 1007/1008 close, and quota in a 1011.
    """
    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        detail = _http_detail(exc)
        if status in (401, 403):
            return _auth(detail)
        if status == 429:
            return _quota(detail)
        if status == 404:
            return Failure("setup", f"{endpoint} has no Gemini Live endpoint ({detail}): check "
                           "GOOGLE_GEMINI_BASE_URL or the proxy settings", False)
        if status >= 500:
            return Failure("server", f"Gemini Live is unavailable ({detail}); try again shortly", True)
        return Failure("setup", f"Gemini Live refused the connection ({detail})", False)
    if isinstance(exc, genai_errors.APIError):
        code = exc.code if isinstance(exc.code, int) else 0
        reason = _api_error_reason(exc)
        if (found := _by_words(reason, model)) is not None:
            return found
        if code in (401, 403):
            return _auth(reason)
        if code == 429:
            return _quota(reason)
        if code == 404:
            return _model(model, reason)
        if code in (1007, 1008) or 400 <= code < 500:
            return Failure("setup", f"Gemini refused the session settings ({code}: {reason}): "
                           "check the model, voice and language in Settings", False)
        if code in _RETRYABLE_CLOSE or code >= 500:
            return Failure("closed", f"The Gemini Live connection closed ({code}: {reason})", True)
        return Failure("other", f"Gemini Live failed ({code}: {reason})", False)
    if isinstance(exc, ConnectionClosed):
        return Failure("closed", f"The Gemini Live connection dropped ({exc})", True)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Failure("tls", f"The TLS certificate of {endpoint} is not trusted ({exc.verify_message}): "
                       "if you use a proxy, set SSL_CERT_FILE to its CA certificate", False)
    if isinstance(exc, socket.gaierror):
        return Failure("network", f"Cannot look up {endpoint}: check your internet connection", True)
    if isinstance(exc, ConnectionRefusedError):
        return Failure("network", f"Cannot reach {endpoint}: connection refused. "
                       "Check your internet connection or the GOOGLE_GEMINI_BASE_URL setting", True)
    if isinstance(exc, TimeoutError):
        return Failure("network", f"{endpoint} did not answer in time: check your internet connection", True)
    if isinstance(exc, (InvalidURI, ValueError)) and "uri" in str(exc).lower():
        return Failure("setup", f"Invalid Gemini Live address: {exc}", False)
    if isinstance(exc, InvalidHandshake):
        return Failure("server", f"{endpoint} answered the connection oddly ({exc}); try again", True)
    if isinstance(exc, OSError):
        return Failure("network", f"Cannot reach {endpoint}: {exc.strerror or exc}. "
                       "Check your internet connection", True)
    return Failure("other", f"Gemini Live failed: {type(exc).__name__}: {exc}", False)
