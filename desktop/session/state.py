"""The session's pure core: intents and frames in, frames and events out, time passed in.

Built the way python-websockets builds its ``protocol.py``: nothing here touches a socket, a
clock or a task. :class:`~desktop.session.client.Session` is the asyncio shell that moves frames
between the socket and this core and sleeps until :meth:`SessionCore.next_deadline`. Everything
that decides something — send order, the audio backlog, which reply audio belongs to which turn,
which typed texts were answered, what to re-send after a drop, when (and whether) to reconnect —
lives here, so it is tested without sockets, and property-tested with any interleaving.

The guarantees, each tested in ``tests/session/test_state*.py``:

* **One queue, in order.** Every frame leaves in the order the user produced it: audio, mic off,
  activity start, typed text and reset share one FIFO, so "mic off" can never overtake the last
  audio of the utterance. On a new connection, texts still owed an answer go first, in the order
  they were typed (they were produced before anything queued since).
* **Bounded, and drops are counted.** At most ``audio_backlog`` audio frames wait; beyond that the
  oldest *audio* frame is dropped (control frames and texts never are). Audio the user speaks while
  not connected is dropped too. Every drop is reported as an :class:`AudioDropped` event.
* **Typed text is answered once or reported.** A text counts as answered by the first reply that
  *starts after it was written* (the tail of the reply in progress doesn't count). Texts written
  but not answered when the connection drops are sent again on the next one; :meth:`close` and
  :meth:`reset` report every text still unanswered with :class:`TextNotAnswered`.
* **Barge-in drops the rest of the reply.** When the user starts talking (or asks to interrupt)
  while a reply is playing, the core ends the reply locally (:class:`Interrupted`) and drops the
  audio and text of that reply still in flight, until the server says the reply is over (its
  interruption or turn-complete message) or, for protocols without turn events, until the user's
  turn is submitted; in any case once the reply has been quiet for the idle gap (``DROP_QUIET``
  where the protocol has none).
* **Trailing silence.** Where the protocol has no end-of-speech message the server's voice
  activity detection ends the turn only after it hears silence, so ``end_of_speech`` queues
  ``trailing_silence`` seconds of it.
* **Reconnect policy as data.** Backoff resets only after a connection stayed up ``stable_after``
  seconds; a close that says "don't retry" (policy violation, bad token, a codec's own 4xxx
  meaning, see ``Codec.close_meaning``) ends in the ERROR state with a message in words; a
  server that says it is going away is left between turns and reconnected to at once.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools

from desktop.protocols.base import Codec, Frame
from desktop.protocols.events import Audio, Event, Interrupted, SessionUpdate, Speaker, Transcript, TurnComplete

from .events import AudioDropped, ConnectionState, ConnectionStatus, TextAnswered, TextDelivered, TextNotAnswered
from .reconnect import Backoff, CloseVerdict, describe_close

__all__ = [
    "AUDIO_BACKLOG_FRAMES",
    "STABLE_AFTER",
    "AudioDropped",
    "Backoff",
    "CloseVerdict",
    "ConnectionState",
    "ConnectionStatus",
    "SessionCore",
    "TextAnswered",
    "TextDelivered",
    "TextNotAnswered",
    "describe_close",
]

AUDIO_BACKLOG_FRAMES = 100  # 2 s of 20 ms parts waiting for the socket; older audio is dropped
STABLE_AFTER = 10.0  # seconds a connection must stay up before the backoff starts over
GOING_AWAY = "The server is going away; reconnecting"
#: After a barge-in, a reply that has been quiet this long is over even if the server never said so
#: (protocols without turn events use their own idle gap): a safety net, so that a server which never
#: ends an interrupted reply cannot silence every later one.
DROP_QUIET = 2.0
_SILENCE_FRAME = 0.02  # trailing silence goes out in capture-sized (20 ms) frames


@dataclasses.dataclass(slots=True)
class _Item:
    kind: str  # "audio" | "control" | "text"
    frames: list[Frame]
    message_id: int = 0
    synthetic: bool = False  # trailing silence: not the user's speech, not counted when dropped


@dataclasses.dataclass(slots=True)
class _Text:
    message_id: int
    text: str
    written: bool = False  # on the current connection
    left: bool = False  # on any connection
    replies_before: int = 0  # replies started before it was written: only a later one answers it


class SessionCore:
    """One session's decisions, with no I/O. See the module docstring for what it guarantees.

    The shell's loop::

        core.connecting(now)                  # then open the socket
        core.connection_made(now)             # or core.connect_failed(now, why, retry=...)
        send(core.data_to_send(1))            # while it returns frames
        core.receive(frame, now)              # for every frame
        core.tick(now)                        # at core.next_deadline()
        core.connection_lost(now, code, why)  # then wait until core.next_retry_at()

    and after every call, ``events_received()`` and ``status_changes()`` say what to report.
    """

    def __init__(self, codec: Codec, *, reconnect: bool = True, backoff: Backoff | None = None,
                 stable_after: float = STABLE_AFTER, audio_backlog: int = AUDIO_BACKLOG_FRAMES,
                 trailing_silence: float | None = None) -> None:
        self.codec = codec
        self.reconnect = reconnect
        self.backoff = backoff or Backoff()
        self.stable_after = stable_after
        self.audio_backlog = max(1, audio_backlog)
        if trailing_silence is None:  # the protocol's default, unless its config says otherwise
            trailing_silence = _seconds(codec.config.get("trailing_silence"), codec.info.trailing_silence)
        self.trailing_silence = max(0.0, trailing_silence)
        self.status = ConnectionStatus(ConnectionState.CONNECTING)
        #: Totals, for tests and diagnostics.
        self.audio_dropped = 0
        self.reply_content_dropped = 0

        self._ids = itertools.count(1)
        self._queue: collections.deque[_Item] = collections.deque()
        self._queued_audio = 0
        self._texts: dict[int, _Text] = {}  # every text not yet answered, in id (= typed) order
        self._events: list[Event] = []
        self._statuses: list[ConnectionStatus] = []
        self._drops: collections.Counter[str] = collections.Counter()  # a run of drops, reported as one event

        self._connected_at: float | None = None
        self._failures = 0  # consecutive failed attempts and short-lived connections
        self._retry_at: float | None = None
        self._closing = False
        self._going_away = False

        self._talking = False  # between the start of the user's speech and end_of_speech
        self._spoke = False  # audio was sent in this utterance (trailing silence follows only speech)
        self._replies = 0  # replies the server has started
        self._reply_open = False
        # What ended the last reply, until the server sends content or the user says or types something: its
        # second end marker (live_server sends generation_complete, then turn_complete; interrupted, then
        # turn_complete) is not a reply of its own and answers no text.
        self._ended_by: type[Event] | None = None
        self._dropping = False  # the rest of an interrupted reply is dropped as it arrives
        self._quiet_at: float | None = None  # when the reply (or the one being dropped) has gone quiet
        self._last_content_at = 0.0

    # -- reading ------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self.status.state is ConnectionState.CONNECTED

    @property
    def finished(self) -> bool:
        """Closed for good: the shell stops."""
        return self.status.state in (ConnectionState.DISCONNECTED, ConnectionState.ERROR)

    @property
    def reply_open(self) -> bool:
        return self._reply_open

    @property
    def should_close(self) -> bool:
        """The server is going away and we are between turns: close now and reconnect at once."""
        return self._going_away and self.connected and not self._reply_open and not self._dropping

    @property
    def pending_texts(self) -> list[tuple[int, str]]:
        """Texts not written on the current connection yet, in typed order."""
        return [(t.message_id, t.text) for t in self._texts.values() if not t.written]

    @property
    def unanswered_texts(self) -> list[tuple[int, str]]:
        """Every text not answered yet (written or not), in typed order: what a new session must send."""
        return [(t.message_id, t.text) for t in self._texts.values()]

    def next_retry_at(self) -> float | None:
        """When to try connecting again, while RECONNECTING (or CONNECTING after a go-away)."""
        return self._retry_at

    def next_deadline(self) -> float | None:
        """When :meth:`tick` has something to do (a reply gone quiet), or None."""
        return self._quiet_at

    def events_received(self) -> list[Event]:
        """Events for the application, in order, since the last call.

        Drops are reported per run (at the end of an utterance, a text, a connection change), not
        per 20 ms part.
        """
        events, self._events = self._events, []
        return events

    def status_changes(self) -> list[ConnectionStatus]:
        statuses, self._statuses = self._statuses, []
        return statuses

    def data_to_send(self, limit: int | None = None) -> list[Frame]:
        """Frames to write now, in order, taking at most ``limit`` queued items (each may be several frames).

        The shell takes one item at a time while the socket is slow, so the backlog stays here,
        where it is bounded. Empty while not connected.
        """
        frames: list[Frame] = []
        taken = 0
        while self.connected and self._queue and (limit is None or taken < limit):
            item = self._queue.popleft()
            taken += 1
            if item.kind == "audio":
                self._queued_audio -= 1
            elif item.kind == "text":
                text = self._texts.get(item.message_id)
                if text is None:  # forgotten by a reset since it was queued
                    continue
                item.frames = self.codec.encode_text(text.text)
                text.written = text.left = True
                text.replies_before = self._replies
                self._events.append(TextDelivered(text.message_id))
            frames.extend(item.frames)
        return frames

    # -- intents ------------------------------------------------------------------------------

    def send_audio(self, pcm: bytes) -> None:
        """PCM16 mono at ``codec.info.send_rate``; dropped (and counted) while not connected."""
        if not self._talking:
            self._user_starts_talking()
        if not self.connected:
            self._drop(1, "not connected")
            return
        self._spoke = True
        frames = self.codec.encode_audio(pcm)
        if frames:
            self._queue_audio(frames, synthetic=False)

    def activity_start(self) -> None:
        """The user started talking (push-to-talk pressed): barge in, tell the server where it can hear it."""
        self._flush_drops()
        self._user_starts_talking()
        self._queue_control(self.codec.encode_activity_start())

    def end_of_speech(self) -> None:
        """The user stopped talking (push-to-talk released, mic off)."""
        spoke, self._spoke, self._talking = self._spoke, False, False
        self._ended_by = None  # the user's turn is in: an end marker from now on ends its reply
        self._flush_drops()
        if self._dropping and not self.codec.info.has_turn_events:
            self._end_dropping()  # the user's turn is in: what arrives now answers it
        if self.connected and spoke and self.trailing_silence > 0:
            rate = self.codec.info.send_rate
            frame = bytes(2 * round(rate * _SILENCE_FRAME))
            for _ in range(max(1, round(self.trailing_silence / _SILENCE_FRAME))):
                self._queue_audio(self.codec.encode_audio(frame), synthetic=True)
        self._queue_control(self.codec.encode_audio_end())

    audio_end = end_of_speech

    def send_text(self, text: str) -> int:
        """Queue a typed turn (kept across disconnects); returns the id later events carry."""
        message_id = next(self._ids)
        self._flush_drops()
        self._texts[message_id] = _Text(message_id, text)
        self._ended_by = None
        if self._dropping and not self.codec.info.has_turn_events:
            self._end_dropping()
        self._queue.append(_Item("text", [], message_id))
        return message_id

    def interrupt(self) -> None:
        """Stop the reply in progress here and now (its late audio is dropped when it arrives)."""
        self._barge_in()

    def reset(self) -> None:
        """Start afresh: the reply in progress ends, unanswered texts are reported and forgotten."""
        self._barge_in()
        for text in list(self._texts.values()):
            self._events.append(TextNotAnswered(text.message_id, text.text, text.left))
        self._texts.clear()
        self._queue_control(self.codec.encode_reset())

    # -- connection ---------------------------------------------------------------------------

    def connecting(self, now: float) -> None:
        """The shell is about to open the socket."""
        self._retry_at = None
        attempt = self._failures + 1
        self._set_status(ConnectionStatus(ConnectionState.CONNECTING,
                                          "Connecting…" if attempt == 1 else "Reconnecting…", None, attempt))

    def connect_failed(self, now: float, reason: str, *, retry: bool = True) -> None:
        """The socket could not be opened; ``retry=False`` for errors the user must fix."""
        self._failures += 1
        self._settle(now, CloseVerdict(retry, reason))

    def connection_made(self, now: float) -> None:
        """The handshake succeeded: queue the protocol's opening frames, then every unanswered text."""
        self._connected_at = now
        self._going_away = False
        self._flush_drops()
        self._queue.clear()
        self._queued_audio = 0
        for text in self._texts.values():
            text.written = False
        opening = list(self.codec.open())
        if opening:
            self._queue.append(_Item("control", opening))
        self._queue.extend(_Item("text", [], message_id) for message_id in self._texts)
        self._set_status(ConnectionStatus(ConnectionState.CONNECTED))

    def receive(self, frame: Frame, now: float) -> None:
        """A frame from the server."""
        for event in self.codec.decode(frame):
            self._on_server_event(event, now)

    def tick(self, now: float) -> None:
        """Time passed: end a reply that went quiet (protocols without turn events)."""
        if self._quiet_at is None or now < self._quiet_at:
            return
        self._quiet_at = None
        if self._dropping:
            self._end_dropping()
        elif self._reply_open:
            self._reply_open = False
            self._ended_by = TurnComplete
            self._events.append(TurnComplete())

    def connection_lost(self, now: float, close_code: int | None = None, reason: str = "", *,
                        verdict: CloseVerdict | None = None) -> None:
        """The socket closed (``verdict`` overrides what the close code means, e.g. an internal error)."""
        lasted = now - self._connected_at if self._connected_at is not None else 0.0
        self._connected_at = None
        lost = sum(1 for item in self._queue if item.kind == "audio" and not item.synthetic)
        if lost:
            self._drop(lost, "connection lost")
        self._flush_drops()
        self._queue = collections.deque(item for item in self._queue if item.kind == "text")
        self._queued_audio = 0
        for text in self._texts.values():
            text.written = False  # owed an answer: it goes again on the next connection
        if self._reply_open:
            self._events.append(Interrupted(connection_lost=True))  # the player and transcript move on
        self._reply_open = self._dropping = False
        self._quiet_at = None
        if self._closing:
            self._set_status(ConnectionStatus(ConnectionState.DISCONNECTED, "Closed"))
            return
        if self._going_away:
            self._going_away = False
            self._failures = 0
            self._retry_at = now
            self._set_status(ConnectionStatus(ConnectionState.CONNECTING, GOING_AWAY, 0.0, 1))
            return
        if verdict is None:
            meaning = self.codec.close_meaning(close_code, reason)
            verdict = CloseVerdict(*meaning) if meaning is not None else describe_close(close_code, reason)
        if lasted >= self.stable_after:
            self._failures = 0
        self._failures += 1
        self._settle(now, verdict)

    def retry_now(self, now: float) -> None:
        """Skip the rest of the backoff delay."""
        if self.status.state is ConnectionState.RECONNECTING:
            self._retry_at = now

    def close(self, now: float) -> None:
        """Closed by us, for good: report every text still unanswered."""
        if self._closing:
            return
        self._closing = True
        if self.connected or self.status.state is ConnectionState.CONNECTING:
            self.connection_lost(now)
        self._retry_at = None
        for text in self._texts.values():
            self._events.append(TextNotAnswered(text.message_id, text.text, text.left))
        self._texts.clear()
        self._queue.clear()
        self._flush_drops()
        self._set_status(ConnectionStatus(ConnectionState.DISCONNECTED, "Closed"))

    # -- internals ----------------------------------------------------------------------------

    def _settle(self, now: float, verdict: CloseVerdict) -> None:
        """After a failure: wait out a backoff, or stop for good."""
        if not verdict.retry:
            self._set_status(ConnectionStatus(ConnectionState.ERROR, verdict.reason, None, self._failures))
        elif not self.reconnect:
            self._set_status(ConnectionStatus(ConnectionState.DISCONNECTED, verdict.reason, None, self._failures))
        else:
            delay = self.backoff.delay(self._failures)
            self._retry_at = now + delay
            self._set_status(ConnectionStatus(ConnectionState.RECONNECTING, verdict.reason, delay, self._failures))

    def _on_server_event(self, event: Event, now: float) -> None:
        content = isinstance(event, Audio) or (isinstance(event, Transcript) and event.speaker is Speaker.MODEL)
        if content:
            if self._dropping:
                self.reply_content_dropped += 1
                self._arm_quiet(now)
                return
            if not self._reply_open:
                self._start_reply()
            self._ended_by = None
            self._arm_quiet(now)
        elif isinstance(event, (TurnComplete, Interrupted)):
            if self._dropping:
                self._end_dropping()
                self._ended_by = TurnComplete
                return  # that reply was already ended here, when the user barged in
            if isinstance(event, TurnComplete) and not self._reply_open:
                if self._ended_by is TurnComplete:
                    return  # the same turn's second end marker
                if self._ended_by is None:
                    self._start_reply()  # a reply with no content still answers a text
            self._ended_by = type(event)
            self._reply_open = False
            self._quiet_at = None
        elif isinstance(event, SessionUpdate) and event.going_away:
            self._going_away = True
        self._events.append(event)

    def _start_reply(self) -> None:
        self._replies += 1
        self._reply_open = True
        for text in self._texts.values():
            if text.written and text.replies_before < self._replies:
                del self._texts[text.message_id]  # one reply answers one text, the oldest waiting
                self._events.append(TextAnswered(text.message_id))
                break

    def _arm_quiet(self, now: float) -> None:
        self._last_content_at = now
        gap = self._quiet_gap()
        if gap is not None:
            self._quiet_at = now + gap

    def _quiet_gap(self) -> float | None:
        info = self.codec.info
        if not info.has_turn_events and info.turn_idle_gap:
            return info.turn_idle_gap
        return DROP_QUIET if self._dropping else None

    def _user_starts_talking(self) -> None:
        self._talking = True
        self._spoke = False
        self._ended_by = None
        self._barge_in()

    def _barge_in(self) -> None:
        if self._reply_open:
            self._reply_open = False
            self._dropping = True
            self._quiet_at = self._last_content_at + (self._quiet_gap() or DROP_QUIET)
            self._events.append(Interrupted())

    def _end_dropping(self) -> None:
        self._dropping = False
        self._quiet_at = None

    def _queue_control(self, frames: list[Frame]) -> None:
        # Control frames only mean something on the connection they belong to.
        if frames and self.connected:
            self._queue.append(_Item("control", list(frames)))

    def _queue_audio(self, frames: list[Frame], *, synthetic: bool) -> None:
        self._queue.append(_Item("audio", list(frames), synthetic=synthetic))
        self._queued_audio += 1
        while self._queued_audio > self.audio_backlog:
            oldest = next(i for i, item in enumerate(self._queue) if item.kind == "audio")
            item = self._queue[oldest]
            del self._queue[oldest]
            self._queued_audio -= 1
            if not item.synthetic:
                self._drop(1, "the connection is too slow")

    def _drop(self, frames: int, reason: str) -> None:
        self.audio_dropped += frames
        self._drops[reason] += frames

    def _flush_drops(self) -> None:
        for reason, frames in self._drops.items():
            self._events.append(AudioDropped(frames, reason))
        self._drops.clear()

    def _set_status(self, status: ConnectionStatus) -> None:
        if status != self.status:
            self.status = status
            self._statuses.append(status)


def _seconds(value: object, default: float) -> float:
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default
    return seconds if 0 <= seconds < 60 else default
