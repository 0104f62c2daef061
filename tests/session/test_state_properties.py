"""Property tests: the session core driven by any interleaving of what users and servers do.

Hypothesis mixes audio, typed text, push-to-talk press/release, interruptions, resets, replies
from the server, a slow socket, drops and reconnects, and checks after every step and at the end:

* frames leave in the order the user produced them (per connection; texts owed an answer first);
* a typed text is answered exactly once, or reported not answered — never both, never neither;
* nothing the user said is dropped silently: every audio part is sent once or counted in an
  :class:`AudioDropped` event, and the backlog never grows past its bound;
* after a barge-in, nothing of the interrupted reply reaches the application.
"""

from __future__ import annotations

import json
import random

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from desktop.parts import Part
from desktop.protocols.ai_proxy_core import AiProxyCoreCodec
from desktop.protocols.base import ProtocolInfo
from desktop.protocols.events import Audio, Interrupted, Transcript
from desktop.protocols.live_server import LiveServerCodec, serialize_part
from desktop.session.state import (
    AudioDropped,
    Backoff,
    ConnectionState,
    SessionCore,
    TextAnswered,
    TextNotAnswered,
)

BACKLOG = 6


class _Tagging:
    """Encodes every intent as a JSON frame carrying the sequence number the driver gave it."""

    tag = 0

    def open(self):
        return [json.dumps({"k": "open"})]

    def encode_audio(self, pcm):
        seq = int.from_bytes(pcm[:4], "little")
        if seq == 0:  # trailing silence, produced by end_of_speech
            self._silence += 1
            return [json.dumps({"k": "silence", "seq": [self.tag, self._silence]})]
        return [json.dumps({"k": "audio", "seq": [seq, 0]})]

    def encode_audio_end(self):
        return [json.dumps({"k": "end", "seq": [self.tag, 10**6]})]

    def encode_activity_start(self):
        self._silence = 0
        return [json.dumps({"k": "start", "seq": [self.tag, 0]})]

    def encode_reset(self):
        return [json.dumps({"k": "reset", "seq": [self.tag, 0]})]

    def encode_text(self, text):
        return [json.dumps({"k": "text", "seq": [int(text), 0], "id": int(text)})]


class TaggedLive(_Tagging, LiveServerCodec):
    """live_server's decoding (turn and interruption events), tagged encoding, trailing silence on."""

    info = ProtocolInfo(name="tagged", title="tagged", trailing_silence=0.06)
    _silence = 0


class TaggedQuiet(_Tagging, AiProxyCoreCodec):
    """ai-proxy-core's decoding: no turn events, a turn ends after an idle gap."""

    info = ProtocolInfo(name="tagged_quiet", title="tagged, no turn events", has_turn_events=False,
                        has_interruption=False, turn_idle_gap=1.0, trailing_silence=0.04)
    _silence = 0


def pcm_for(seq: int) -> bytes:
    return seq.to_bytes(4, "little") + bytes(36)


class SessionMachine(RuleBasedStateMachine):
    codec_class = TaggedLive

    def __init__(self):
        super().__init__()
        self.codec = self.codec_class()
        self.core = SessionCore(self.codec, backoff=Backoff(initial=0.5, cap=4, rng=random.Random(0)),
                                audio_backlog=BACKLOG, stable_after=5)
        self.now = 0.0
        self.seq = 0
        self.connection = -1
        self.sent: list[list[dict]] = []  # per connection
        self.events: list = []
        self.audio_made: set[int] = set()
        self.texts: set[int] = set()  # message ids (the text is its sequence number; the id is the core's)
        self.text_seq: dict[int, int] = {}
        self.dropping = False  # the driver's own account: a barge-in happened, the server has not ended it
        self.dropped_content: set[str] = set()
        self.content = 0
        self.replies = 0  # replies started, by the driver's own account
        self.reply_open = False
        self.written_at: dict[int, int] = {}  # text seq -> replies started when it was last written
        self.core.connecting(self.now)

    # -- helpers ---------------------------------------------------------------------------

    def next_seq(self) -> int:
        self.seq += 1
        self.codec.tag = self.seq
        return self.seq

    def collect(self, starts_reply: bool = False) -> list:
        events = self.core.events_received()
        self.events += events
        self.core.status_changes()
        for event in events:
            if isinstance(event, TextAnswered):
                # Only the start of a reply answers a text, and only one written before that reply began.
                assert starts_reply, "a text was answered by the tail of a reply already under way"
                assert self.written_at[self.text_seq[event.message_id]] < self.replies
        return events

    def start_reply(self) -> bool:
        if self.dropping or self.reply_open:
            return False
        self.replies += 1
        self.reply_open = True
        return True

    def feed(self, part: Part, starts_reply: bool = False) -> None:
        self.core.receive(serialize_part(part), self.now)
        self.collect(starts_reply)

    def feed_content(self, kind: str) -> None:
        self.content += 1
        label = f"c{self.content}"
        if self.dropping:
            self.dropped_content.add(label)
        starts = self.start_reply()
        if self.codec_class is TaggedQuiet:
            if kind == "text":
                frame = json.dumps({"type": "response", "text": label})
            else:
                frame = json.dumps({"type": "audio", "data": "AAAA", "sampleRate": 8000 + self.content})
            self.core.receive(frame, self.now)
            self.collect(starts)
        elif kind == "text":
            self.feed(Part.model_text(label), starts)
        else:
            self.feed(Part.audio(b"\x00\x01" * 4, 8000 + self.content), starts)

    def _after_barge_in(self, events) -> None:
        if Interrupted() in events:
            assert self.reply_open
            self.dropping, self.reply_open = True, False

    # -- the user -------------------------------------------------------------------------------

    @rule()
    def speak(self):
        seq = self.next_seq()
        self.audio_made.add(seq)
        was_talking = self.core._talking
        self.core.send_audio(pcm_for(seq))
        events = self.collect()
        if not was_talking:
            self._after_barge_in(events)

    @rule()
    def press_talk(self):
        self.next_seq()
        self.core.activity_start()
        self._after_barge_in(self.collect())

    @rule()
    def release_talk(self):
        self.next_seq()
        self.core.end_of_speech()
        self.collect()
        if self.codec_class is TaggedQuiet:
            self.dropping = False

    @rule()
    def type_text(self):
        seq = self.next_seq()
        message_id = self.core.send_text(str(seq))
        self.texts.add(message_id)
        self.text_seq[message_id] = seq
        self.collect()
        if self.codec_class is TaggedQuiet:
            self.dropping = False

    @rule()
    def interrupt(self):
        self.next_seq()
        self.core.interrupt()
        self._after_barge_in(self.collect())

    @rule()
    def reset(self):
        self.next_seq()
        self.core.reset()
        self._after_barge_in(self.collect())

    # -- the socket and the server -------------------------------------------------------------

    @precondition(lambda self: self.core.connected)
    @rule(n=st.integers(min_value=1, max_value=4))
    def socket_takes(self, n):
        for frame in self.core.data_to_send(n):
            message = json.loads(frame)
            self.sent[self.connection].append(message)
            if message["k"] == "text":
                self.written_at[message["id"]] = self.replies
        self.collect()

    @precondition(lambda self: self.core.connected)
    @rule(kind=st.sampled_from(["audio", "text"]))
    def server_replies(self, kind):
        self.feed_content(kind)

    @precondition(lambda self: self.core.connected and self.codec_class is TaggedLive)
    @rule(how=st.sampled_from(["done", "interrupted"]))
    def server_ends_the_reply(self, how):
        starts = how == "done" and not self.dropping and not self.reply_open  # a reply with no content
        if starts:
            self.replies += 1
        self.dropping = self.reply_open = False
        self.feed(Part.generation_complete() if how == "done" else Part.interrupted(), starts)

    @precondition(lambda self: self.core.connected)
    @rule(code=st.sampled_from([1000, 1006, 1011]))
    def connection_drops(self, code):
        self.core.connection_lost(self.now, code)
        self.collect()
        self.dropping = self.reply_open = False

    @precondition(lambda self: self.core.status.state in (ConnectionState.CONNECTING,
                                                          ConnectionState.RECONNECTING))
    @rule(fails=st.booleans())
    def connect(self, fails):
        retry_at = self.core.next_retry_at()
        if retry_at is not None:
            self.now = max(self.now, retry_at)
        self.core.connecting(self.now)
        if fails:
            self.core.connect_failed(self.now, "refused")
        else:
            self.core.connection_made(self.now)
            self.connection += 1
            self.sent.append([])
        self.collect()

    @rule(seconds=st.floats(min_value=0.0, max_value=3.0))
    def time_passes(self, seconds):
        self.now += seconds
        deadline = self.core.next_deadline()
        if deadline is not None and deadline <= self.now:
            self.core.tick(self.now)
            self.dropping = self.reply_open = False
        self.collect()

    # -- invariants ------------------------------------------------------------------------------

    @invariant()
    def frames_leave_in_the_order_they_were_produced(self):
        for frames in self.sent:
            seqs = [tuple(f["seq"]) for f in frames if f["k"] != "open"]
            assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
            assert all(f["k"] != "open" for f in frames[1:])  # the opening goes first, once

    @invariant()
    def the_backlog_is_bounded(self):
        assert self.core._queued_audio <= BACKLOG

    @invariant()
    def a_text_is_answered_at_most_once(self):
        answered = [e.message_id for e in self.events if isinstance(e, TextAnswered)]
        assert len(answered) == len(set(answered))
        not_answered = {e.message_id for e in self.events if isinstance(e, TextNotAnswered)}
        assert not (set(answered) & not_answered)

    @invariant()
    def nothing_of_an_interrupted_reply_reaches_the_app(self):
        shown = {e.text for e in self.events if isinstance(e, Transcript)}
        shown |= {f"c{e.rate - 8000}" for e in self.events if isinstance(e, Audio)}
        assert not (shown & self.dropped_content)

    def teardown(self):
        self.core.close(self.now)
        self.collect()
        # Every text: answered exactly once, or reported not answered.
        answered = {e.message_id for e in self.events if isinstance(e, TextAnswered)}
        not_answered = {e.message_id for e in self.events if isinstance(e, TextNotAnswered)}
        assert answered | not_answered == self.texts and not (answered & not_answered)
        # Every audio part: sent exactly once, or counted as dropped.
        sent_audio = [f["seq"][0] for frames in self.sent for f in frames if f["k"] == "audio"]
        assert len(sent_audio) == len(set(sent_audio)) and set(sent_audio) <= self.audio_made
        dropped = sum(e.frames for e in self.events if isinstance(e, AudioDropped))
        assert dropped == self.core.audio_dropped == len(self.audio_made) - len(sent_audio)
        # Every text answered was written first, and a text was only ever sent as itself.
        texts_sent = {f["id"] for frames in self.sent for f in frames if f["k"] == "text"}
        assert {self.text_seq[m] for m in answered} <= texts_sent


class QuietSessionMachine(SessionMachine):
    codec_class = TaggedQuiet


_SETTINGS = settings(max_examples=150, stateful_step_count=60, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])

TestSessionCore = SessionMachine.TestCase
TestSessionCore.settings = _SETTINGS
TestSessionCoreWithoutTurnEvents = QuietSessionMachine.TestCase
TestSessionCoreWithoutTurnEvents.settings = _SETTINGS
