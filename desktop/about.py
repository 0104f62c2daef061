"""What the window says about the conversation that it cannot read off the wire (pure Python, no Qt).

* :func:`describe_assistant`: who answers (Offline assistant / Gemini / Remote: host), what it can do and
  how to get more, for the status bar and the empty conversation.
* :class:`SpokenTurns`: a spoken turn always appears in the transcript. Where nothing transcribes the user's
  speech (the echo processor, a server without input transcription) it shows as "(spoken, 2.1 s)".
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import Any

from desktop.protocols.events import Event, Interrupted, Speaker, TextKind, Transcript, TurnComplete

__all__ = ["SpokenTurns", "describe_assistant", "spoken_placeholder"]

_MORE = "For open conversation, run a local model server (such as Ollama) or add a Gemini key in Settings."


def describe_assistant(processor: str, url: str = "", config: Mapping[str, Any] | None = None,
                       titles: Mapping[str, str] | None = None) -> tuple[str, str]:
    """``(name, about)`` for an embedded ``processor`` or, when ``url`` is set, a remote server."""
    config = config or {}
    if url:
        host = urllib.parse.urlsplit(url).hostname or url
        return f"Remote: {host}", f"Answers come from the server at {host}."
    if processor == "local":
        llm = str(config.get("llm_url") or "")
        can = "Ask the time or date (also in a city), set a timer, do sums or convert units."
        if llm:
            where = urllib.parse.urlsplit(llm if "://" in llm else f"http://{llm}")
            server = f"{where.hostname}:{where.port}" if where.port else (where.hostname or llm)
            return "Offline assistant", f"{can} Other questions go to the local model server at {server}."
        return "Offline assistant", f"{can} {_MORE}"
    if processor == "gemini":
        return "Gemini", "Talk or type about anything: Gemini answers in speech and text."
    if processor == "echo":
        return "Echo", ("Plays back what you say: a microphone check, not an assistant. Choose the offline "
                        "assistant or add a Gemini key in Settings.")
    return (titles or {}).get(processor, processor), ""


def spoken_placeholder(seconds: float) -> str:
    return f"(spoken, {seconds:.1f} s)"


class SpokenTurns:
    """Track one push-to-talk utterance; :meth:`before` says what to add to the transcript before an event.

    Call :meth:`started` on press, :meth:`sent` per audio chunk that went out, :meth:`ended` on release. The
    first reply event after the release (model text, turn complete, interruption) brings the placeholder
    unless the user's words arrived in between.
    """

    def __init__(self, chunk_ms: int = 20) -> None:
        self._chunk_ms = chunk_ms
        self._chunks = 0
        self._talking = False
        self._pending: float | None = None  # seconds of speech waiting for its words
        self._heard = False

    def started(self) -> None:
        self._chunks, self._talking, self._heard, self._pending = 0, True, False, None

    def sent(self) -> None:
        if self._talking:
            self._chunks += 1

    def ended(self) -> None:
        if self._talking and self._chunks and not self._heard:
            self._pending = self._chunks * self._chunk_ms / 1000
        self._talking = False

    def before(self, event: Event) -> Transcript | None:
        """The placeholder to apply before ``event``, or None."""
        if isinstance(event, Transcript) and event.speaker is Speaker.USER:
            self._heard, self._pending = True, None
            return None
        if self._pending is None or self._talking:
            return None
        if isinstance(event, (TurnComplete, Interrupted)) or (
                isinstance(event, Transcript) and event.speaker is Speaker.MODEL):
            seconds, self._pending = self._pending, None
            return Transcript(Speaker.USER, spoken_placeholder(seconds), final=True, kind=TextKind.TRANSCRIPTION)
        return None
