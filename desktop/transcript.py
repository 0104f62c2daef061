"""The conversation as a list of turns: the one source of truth the window shows.

Pure Python, no Qt and no I/O, so it is tested without a display and can later
be persisted as JSON lines (every :class:`Turn` has ``to_dict``/``from_dict``).

Feed it decoded events with :meth:`TranscriptModel.apply`; add what the user
typed with :meth:`TranscriptModel.add_typed`. Observers registered with
:meth:`TranscriptModel.subscribe` hear about every new or changed turn, which is
how the view streams text in place without rebuilding the conversation.

The rules, kept deliberately simple (append order, never reordering):

* A :class:`~desktop.protocols.events.Transcript` piece goes to the open turn of
  its speaker if that turn is the last one; otherwise it opens a new turn. So a
  new turn starts whenever the speaker changes.
* ``final=False`` pieces are tentative: each replaces the previous tentative text
  of that turn. A final piece is appended to the committed text and clears the
  tentative text.
* A final piece equal to, or extending, everything received in the turn so far
  replaces it instead of being appended: servers on ADK 1.22 and later send the
  pieces and then the whole text, none of it marked partial or final.
* A model reply may arrive twice, as written text and as a transcription of its
  speech. Both are kept apart; the turn shows the written text if any arrived,
  otherwise the transcription, so the reply is never shown twice.
* :class:`~desktop.protocols.events.TurnComplete` closes the open turns
  (idempotent). :class:`~desktop.protocols.events.Interrupted` closes the open
  model turn as interrupted.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from desktop.protocols.events import Event, Interrupted, Speaker, TextKind, Transcript, TurnComplete

__all__ = [
    "MODEL",
    "USER",
    "TranscriptModel",
    "Turn",
    "TurnObserver",
    "TurnState",
]

USER = Speaker.USER.value
MODEL = Speaker.MODEL.value

_TEXT = TextKind.TEXT.value
_TRANSCRIPTION = TextKind.TRANSCRIPTION.value
_KINDS = (_TEXT, _TRANSCRIPTION)


class TurnState(enum.StrEnum):
    """Where a turn is in its life. A ``str``, so it serialises as itself."""

    STREAMING = "streaming"
    COMPLETE = "complete"
    INTERRUPTED = "interrupted"


@dataclass(eq=False)
class Turn:
    """One speaker's contribution, as shown in one bubble.

    The text is stored per source (``"text"`` or ``"transcription"``) so a reply
    sent both ways is shown once; :attr:`text`, :attr:`tentative` and
    :attr:`kind` give what to display.
    """

    id: int
    speaker: str
    state: TurnState = TurnState.STREAMING
    typed: bool = False
    sent: bool = True
    #: Typed in an earlier run and never sent: shown as "not sent" with a one-click send, never sent by itself.
    held: bool = False
    committed: dict[str, str] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """The source shown: written text wins over a transcription of speech."""
        if self.committed.get(_TEXT) or self.pending.get(_TEXT):
            return _TEXT
        if self.committed.get(_TRANSCRIPTION) or self.pending.get(_TRANSCRIPTION):
            return _TRANSCRIPTION
        return _TEXT

    @property
    def text(self) -> str:
        """Committed text of the shown source."""
        return self.committed.get(self.kind, "")

    @property
    def tentative(self) -> str:
        """Pending text of the shown source, which a later piece may still revise."""
        return self.pending.get(self.kind, "")

    @property
    def is_open(self) -> bool:
        return self.state is TurnState.STREAMING

    @property
    def is_user(self) -> bool:
        return self.speaker == USER

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``text``/``tentative`` are what is shown, ``sources`` everything received."""
        sources = {
            kind: {"text": self.committed.get(kind, ""), "tentative": self.pending.get(kind, "")}
            for kind in _KINDS
            if self.committed.get(kind) or self.pending.get(kind)
        }
        return {
            "id": self.id,
            "speaker": self.speaker,
            "state": str(self.state),
            "text": self.text,
            "tentative": self.tentative,
            "kind": self.kind,
            "typed": self.typed,
            "sent": self.sent,
            "held": self.held,
            "sources": sources,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Turn:
        """The inverse of :meth:`to_dict`; also accepts a dict with only ``text`` (and ``kind``)."""
        speaker = str(data["speaker"])
        if speaker not in (USER, MODEL):
            raise ValueError(f"unknown speaker {speaker!r}")
        turn = cls(
            id=int(data["id"]),
            speaker=speaker,
            state=TurnState(data.get("state", TurnState.COMPLETE)),
            typed=bool(data.get("typed", False)),
            sent=bool(data.get("sent", True)),
            held=bool(data.get("held", False)),
        )
        sources = data.get("sources")
        if isinstance(sources, Mapping) and sources:
            for kind, source in sources.items():
                if kind in _KINDS and isinstance(source, Mapping):
                    turn._set(kind, str(source.get("text", "")), str(source.get("tentative", "")))
        else:
            kind = data.get("kind", _TEXT)
            turn._set(kind if kind in _KINDS else _TEXT, str(data.get("text", "")),
                      str(data.get("tentative", "")))
        return turn

    # -- mutation, used by TranscriptModel only ------------------------------

    def _set(self, kind: str, text: str, tentative: str) -> None:
        if text:
            self.committed[kind] = text
        if tentative:
            self.pending[kind] = tentative

    def _add_piece(self, kind: str, text: str, final: bool) -> None:
        if final:
            self.committed[kind] = _merge(self.committed.get(kind, ""), text)
            self.pending.pop(kind, None)
        else:
            self.pending[kind] = text

    def _close(self, state: TurnState) -> None:
        """Commit whatever is still tentative and leave the streaming state."""
        for kind, text in self.pending.items():
            self.committed[kind] = self.committed.get(kind, "") + text
        self.pending.clear()
        self.state = state


def _merge(received: str, piece: str) -> str:
    """``received`` + ``piece``, unless the piece repeats or extends all of ``received`` (then the piece)."""
    if received:
        before, now = " ".join(received.split()), " ".join(piece.split())
        if now.startswith(before):
            return piece
    return received + piece


TurnObserver = Callable[[Turn, bool], None]
"""Called as ``observer(turn, is_new)`` after a turn was added or changed."""


class TranscriptModel:
    """The conversation: turns in the order they started, plus the rules above.

    Observers are called synchronously, on the caller's thread, after each change;
    they must not mutate the model from inside the callback.
    """

    def __init__(self) -> None:
        self._turns: list[Turn] = []
        self._by_id: dict[int, Turn] = {}
        self._open: dict[str, Turn] = {}
        self._next_id = 1
        self._observers: list[TurnObserver] = []
        self._clear_observers: list[Callable[[], None]] = []

    # -- reading --------------------------------------------------------------

    @property
    def turns(self) -> list[Turn]:
        """The turns, oldest first (a copy of the list; the turns themselves are live)."""
        return list(self._turns)

    def get(self, turn_id: int) -> Turn | None:
        return self._by_id.get(turn_id)

    def __len__(self) -> int:
        return len(self._turns)

    # -- observing ------------------------------------------------------------

    def subscribe(self, callback: TurnObserver,
                  cleared: Callable[[], None] | None = None) -> Callable[[], None]:
        """Call ``callback(turn, is_new)`` on every change and ``cleared()`` after :meth:`clear`.

        Returns a function that unsubscribes both.
        """
        self._observers.append(callback)
        if cleared is not None:
            self._clear_observers.append(cleared)

        def unsubscribe() -> None:
            if callback in self._observers:
                self._observers.remove(callback)
            if cleared is not None and cleared in self._clear_observers:
                self._clear_observers.remove(cleared)

        return unsubscribe

    def _notify(self, turn: Turn, is_new: bool) -> None:
        for observer in list(self._observers):
            observer(turn, is_new)

    # -- changing -------------------------------------------------------------

    def apply(self, event: Event) -> Turn | None:
        """Apply a decoded event; returns the turn it changed, if any.

        Events other than Transcript, TurnComplete and Interrupted are ignored,
        so the session can pass every event through.
        """
        if isinstance(event, Transcript):
            return self._apply_piece(event)
        if isinstance(event, TurnComplete):
            return self._close_open(MODEL, TurnState.COMPLETE, also_user=True)
        if isinstance(event, Interrupted):
            return self._close_open(MODEL, TurnState.INTERRUPTED, also_user=False)
        return None

    def add_typed(self, text: str, sent: bool) -> Turn:
        """Add what the user typed as a finished user turn; ``sent=False`` until it left the app."""
        self._close_open(USER, TurnState.COMPLETE, also_user=False)
        turn = self._new_turn(USER, state=TurnState.COMPLETE, typed=True, sent=sent)
        turn.committed[_TEXT] = text
        self._notify(turn, True)
        return turn

    def mark_sent(self, turn_id: int) -> Turn | None:
        """Mark a typed turn as sent; unknown ids (e.g. after :meth:`clear`) are ignored."""
        turn = self._by_id.get(turn_id)
        if turn is None or turn.sent:
            return turn
        turn.sent = True
        self._notify(turn, False)
        return turn

    def release(self, turn_id: int) -> Turn | None:
        """A held typed turn is being sent after all (the user clicked "send"): it shows as sending."""
        turn = self._by_id.get(turn_id)
        if turn is None or not turn.held:
            return None
        turn.held = False
        self._notify(turn, False)
        return turn

    def clear(self) -> None:
        """Forget the conversation. Ids keep increasing so a persisted log never reuses one."""
        self._turns.clear()
        self._by_id.clear()
        self._open.clear()
        for observer in list(self._clear_observers):
            observer()

    def restore(self, turns: Iterable[Turn]) -> None:
        """Replace the conversation with saved turns (e.g. read back from a log).

        A turn saved while streaming was cut off by whatever stopped the app: a
        model turn becomes interrupted, a user turn complete. Nothing is left open.
        Typed text that was never sent is held: possibly days old, it is offered to the
        user to send, never sent to a new session by itself.
        """
        self.clear()
        for turn in turns:
            if turn.is_open:
                turn._close(TurnState.COMPLETE if turn.is_user else TurnState.INTERRUPTED)
            if turn.typed and not turn.sent:
                turn.held = True
            self._turns.append(turn)
            self._by_id[turn.id] = turn
            self._next_id = max(self._next_id, turn.id + 1)
            self._notify(turn, True)

    # -- internals ------------------------------------------------------------

    def _new_turn(self, speaker: str, **fields: Any) -> Turn:
        turn = Turn(id=self._next_id, speaker=speaker, **fields)
        self._next_id += 1
        self._turns.append(turn)
        self._by_id[turn.id] = turn
        return turn

    def _apply_piece(self, event: Transcript) -> Turn | None:
        speaker = Speaker(event.speaker).value
        kind = TextKind(event.kind).value
        if not event.text:
            return self._clear_tentative(speaker, kind)
        if speaker == USER and kind == _TEXT and self._is_echo_of_typed(event.text):
            return self.mark_sent(self._last_user_turn().id)  # type: ignore[union-attr]
        if speaker == MODEL:
            self._close_open(USER, TurnState.COMPLETE, also_user=False)
        turn = self._open.get(speaker)
        is_new = turn is None or not self._turns or self._turns[-1] is not turn
        if is_new:
            if turn is not None:  # the speaker changed in between: that turn is over
                turn._close(TurnState.COMPLETE)
                self._notify(turn, False)
            turn = self._new_turn(speaker)
            self._open[speaker] = turn
        turn._add_piece(kind, event.text, event.final)
        self._notify(turn, is_new)
        return turn

    def _clear_tentative(self, speaker: str, kind: str) -> Turn | None:
        """An empty piece carries no text; at most it withdraws the tentative text."""
        turn = self._open.get(speaker)
        if turn is None or not self._turns or self._turns[-1] is not turn or not turn.pending.get(kind):
            return None
        turn.pending.pop(kind)
        self._notify(turn, False)
        return turn

    def _is_echo_of_typed(self, text: str) -> bool:
        """A server that echoes typed turns back would otherwise show them twice."""
        last = self._last_user_turn()
        return (last is not None and last.typed and bool(text.strip())
                and last.text.strip() == text.strip() and self._open.get(USER) is None)

    def _last_user_turn(self) -> Turn | None:
        for turn in reversed(self._turns):
            if turn.is_user:
                return turn
        return None

    def _close_open(self, speaker: str, state: TurnState, *, also_user: bool) -> Turn | None:
        """Close the open turn of ``speaker`` (and the user's, if asked); returns the first closed."""
        closed: Turn | None = None
        speakers = (speaker, USER) if also_user and speaker != USER else (speaker,)
        for who in speakers:
            turn = self._open.pop(who, None)
            if turn is None:
                continue
            turn._close(state if who == speaker else TurnState.COMPLETE)
            self._notify(turn, False)
            closed = closed or turn
        return closed
