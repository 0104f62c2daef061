"""Open mic on speakers: echo cancellation on the capture path, a local speech gate, and barge-in decisions.

Why a module of its own: the controller owns the devices and the session; this owns what sits between the
mic and the session in open mic, so the controller only asks "what do I send, and did the user just start
or stop talking?". It imports no Qt and no session: the controller turns its answers into intents.

* Echo cancellation (:mod:`desktop.audio.aec`) is attached to the devices only in open mic with the setting
  on; push-to-talk never needs it (the mic is off while the assistant talks). Where livekit cannot load,
  :attr:`OpenMic.notice` says headphones are needed and everything else still works.
* The speech gate (:mod:`desktop.audio.vad`) decides when the person talks. Its start is a barge-in when
  the assistant is talking; only speech (with its pre-roll) is sent, and its end ends the spoken turn.
  Without the model, every chunk is sent and the server decides.
* Speech that starts while the canceller re-converges after a speaker underrun (a busy CPU made the speaker
  miss a deadline; AEC3 then needs up to ~2 s to find the moved echo) may be the reply's own echo: it is held
  back, neither sent nor a barge-in, until the canceller has settled. Speech still going on then is heard
  afresh, so a user who talks over the reply right after a dropout interrupts it a moment later, and the
  reply no longer interrupts itself.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
from typing import Any

from desktop.audio.vad import GateResult, SpeechGate, VadUnavailable

__all__ = ["OpenMic", "Step"]

log = logging.getLogger(__name__)

HELD_PRE_ROLL_CHUNKS = 15  # 0.3 s of held-back speech goes out first if it turns out to be the user's


@dataclasses.dataclass(frozen=True, slots=True)
class Step:
    """What one mic chunk means in open mic."""

    send: tuple[bytes, ...]
    started: bool = False  # the user started talking (barge in if the assistant talks; activity start)
    ended: bool = False  # the user stopped talking (end of the spoken turn)


class OpenMic:
    """Created once by the controller; :meth:`attach` when both devices are open in open mic."""

    def __init__(self, *, echo_cancellation: bool = True) -> None:
        self.echo_cancellation = echo_cancellation
        self.aec: Any = None  # the EchoCanceller while attached
        self._canceller: Any = None  # loaded once, kept across attaches
        self.notice = ""  # why echo cancellation is not running, when it should (headphones needed)
        self._failed = ""  # livekit could not load: do not try again in this process
        self.gate: SpeechGate | None = None  # loaded on first use (the model takes a moment)
        self.gate_problem = ""  # why there is no local speech detection
        self._holding = False  # speech began while the canceller re-converged: not trusted yet
        self._held: collections.deque[bytes] = collections.deque(maxlen=HELD_PRE_ROLL_CHUNKS)
        self.held_back = 0  # utterance starts held back so (diagnostics, tests)

    @property
    def cancelling(self) -> bool:
        return self.aec is not None

    def prepare(self) -> None:
        """Load the canceller if it is wanted (no device needed); sets :attr:`notice` when it cannot run."""
        self.notice = ""
        if not self.echo_cancellation or self._canceller is not None:
            return
        if self._failed:
            self.notice = self._failed
            return
        from desktop.audio.aec import EchoCanceller, EchoCancellerUnavailable

        try:
            self._canceller = EchoCanceller()
        except EchoCancellerUnavailable as exc:
            self._failed = self.notice = str(exc)
            log.warning("%s", exc)

    def attach(self, capture: Any, player: Any) -> None:
        """Cancel the echo between ``player`` and ``capture``; both streams must be running (their rates
        and latencies are read here, and the mic's timeline starts at its current chunk)."""
        self.detach(capture, player)
        self.prepare()
        aec = self._canceller
        if aec is None or not self.echo_cancellation or capture is None or player is None:
            return  # nothing played (no speaker): no echo to cancel
        aec.set_latency(player.output_latency, capture.input_latency)
        player.far_end_tap = aec.far_end_tap(player.rate)
        capture.block_tap = aec.mic_tap(capture.rate)
        aec.reset(capture.chunks_since_start * 320)
        self.aec = aec
        capture.processor = self._process
        log.info("echo cancellation on (delay hint %d ms)", aec.delay_hint_ms)

    def detach(self, capture: Any, player: Any) -> None:
        if capture is not None:
            capture.processor = capture.block_tap = None
        if player is not None:
            player.far_end_tap = None
        self.aec = None
        self._holding = False
        self._held.clear()
        if self.gate is not None:
            self.gate.reset()

    def _process(self, chunk: bytes) -> bytes:
        aec = self.aec
        if aec is None:
            return chunk
        try:
            return aec.process(chunk)
        except Exception as exc:  # noqa: BLE001 - the mic must keep working without cancellation
            self.aec = None
            self.notice = f"Echo cancellation stopped ({exc}); use headphones in open mic."
            log.exception("echo cancellation failed")
            return chunk

    def feed(self, chunk: bytes) -> Step:
        """One (echo-cancelled) mic chunk while open mic is sending."""
        if self.gate is None and not self.gate_problem:
            try:
                self.gate = SpeechGate()
            except VadUnavailable as exc:
                self.gate_problem = str(exc)
                log.warning("%s", exc)
        if self.gate is None:
            return Step((chunk,))
        result: GateResult = self.gate.feed(chunk)
        instead = self._held_back(result)
        if instead is not None:
            return instead
        return Step(result.send, started=result.started, ended=result.ended)

    def _held_back(self, result: GateResult) -> Step | None:
        """The step to take instead of ``result`` while speech is held back; None: take ``result``."""
        assert self.gate is not None
        settling = self.aec is not None and self.aec.settling
        if settling and (result.started or self._holding):
            if result.started and not self._holding:
                self.held_back += 1
                log.info("Speech while echo cancellation re-converges after a speaker dropout: held back")
            self._holding = not result.ended
            self._held.extend(result.send)
            if result.ended:
                self._held.clear()
            return Step(())
        if not self._holding:
            return None
        # Settled with the gate still in speech: if it hears speech now, with the echo cancelled again, the
        # user is talking (it starts here, with the last moment held as pre-roll); else it was the echo.
        self._holding = False
        held = tuple(self._held)
        self._held.clear()
        if self.gate.speaking and self.gate.probability >= self.gate.threshold:
            return Step((*held, *result.send), started=True, ended=result.ended)
        self.gate.reset()
        return Step(())

    def reset(self) -> None:
        """The user muted (or the mic restarted): speech in progress is over."""
        self._holding = False
        self._held.clear()
        if self.gate is not None:
            self.gate.reset()
