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
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from desktop.audio.vad import GateResult, SpeechGate, VadUnavailable

__all__ = ["OpenMic", "Step"]

log = logging.getLogger(__name__)


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
        return Step(result.send, started=result.started, ended=result.ended)

    def reset(self) -> None:
        """The user muted (or the mic restarted): speech in progress is over."""
        if self.gate is not None:
            self.gate.reset()
