"""The controller: owns the server, the session and the audio devices.

Widgets emit intents (``on_text_submitted``, ``on_talk_started`` …) into it and
observe its signals; it never imports a widget. Everything here runs on the
Qt thread's asyncio loop (qasync); blocking device work goes through
``asyncio.to_thread`` so the window never freezes.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from desktop import protocols
from desktop.about import SpokenTurns, describe_assistant
from desktop.audio.backend import AudioBackend
from desktop.endpoint import Endpoint
from desktop.errors import VoiceDesktopError
from desktop.open_mic import OpenMic
from desktop.processors import PROCESSORS, get_factory
from desktop.protocols.events import (
    Audio,
    Event,
    Health,
    Interrupted,
    Notice,
    ProtocolError,
    ServerError,
    SessionUpdate,
    Transcript,
    TurnComplete,
)
from desktop.protocols.live_server import LiveServerCodec
from desktop.session import AudioDropped, ConnectionState, ConnectionStatus, TextDelivered
from desktop.transcript import TranscriptModel
from desktop.turn_figures import TurnFigures

if TYPE_CHECKING:
    from desktop.server import LiveServer
    from desktop.session import Session

__all__ = ["Controller", "connect_window"]

log = logging.getLogger(__name__)

OPEN_MIC_OUTPUT_LATENCY = 0.1  # seconds; see Controller._output_latency


class Controller(QObject):
    connection_changed = Signal(str, str)  # state, reason
    retry_countdown = Signal(float)  # seconds until the next attempt
    mic_changed = Signal(str, str)  # "off" | "listening" | "muted" | "unavailable", reason
    level_changed = Signal(float)  # dBFS of the latest mic block
    error = Signal(str)
    notice = Signal(str)
    talk_enabled = Signal(bool)
    diagnostics_changed = Signal(dict)  # the figures of diagnostics(), after each turn
    assistant_changed = Signal(str, str)  # who answers, what it can do and how to get more
    loading_changed = Signal(str)  # a slow start-up step in words ("Loading offline speech… 2 of 3"), "" done

    def __init__(self, transcript: TranscriptModel, audio: AudioBackend | None, parent: QObject | None = None):
        super().__init__(parent)
        self.transcript = transcript
        self.audio = audio
        self.endpoint: Endpoint | None = None
        self.server: LiveServer | None = None
        self.session: Session | None = None
        self.capture = None
        self.mic = None  # OnDemandMic around capture: push-to-talk opens it on press only
        self._pressed_turn = False  # from a press's activity_start to its release's audio_end: chunks are sent
        self.player = None
        self.talking = False  # mic audio is being sent
        self.talk_mode = "push_to_talk"  # or "open_mic": always sending, the talk key mutes
        self.mic_state = ("off", "")
        self.echo_cancellation = True  # Settings -> Audio; used in open mic only
        self.open_mic: OpenMic | None = None  # echo cancellation + speech gate, while in open mic
        self._dropping_reply = False  # barged in: the rest of that reply is not played
        self._attach_pending = False  # open mic: attach echo cancellation once the mic delivers
        self._typed_turns: dict[int, int] = {}  # session message id -> transcript turn id
        # Typed turns of this run still owed an answer when there was no session, or when the last one
        # was replaced (settings changed): the next session sends them. Text from earlier runs is held.
        self._carried: list[int] = []
        self._lock = asyncio.Lock()
        self.figures = TurnFigures()
        # One opener at a time: repeated talk presses or a Settings change mid-open never open two captures.
        self._device_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._capture_retry: asyncio.Task[None] | None = None
        self._spoken = SpokenTurns()

    # -- background work ---------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any], what: str) -> asyncio.Task[Any]:
        """Run ``coro`` as a task that is kept (not fire-and-forget), reported if it fails, and
        cancelled by :meth:`shutdown`. ``what`` names it in words for the log and the error banner."""
        task = asyncio.get_running_loop().create_task(coro, name=what)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("%s failed", task.get_name(), exc_info=exc)
            self.error.emit(f"{task.get_name()} failed: {exc or type(exc).__name__}")

    async def wait_idle(self) -> None:
        """Wait until every task started with :meth:`spawn` has ended (tests, shutdown)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    # -- lifecycle ---------------------------------------------------------------------

    async def apply(self, endpoint: Endpoint) -> None:
        """Connect to ``endpoint``, replacing the current connection (settings changed)."""
        async with self._lock:
            await self._stop_session()
            self.endpoint = endpoint
            self.assistant_changed.emit(*describe_assistant(
                endpoint.processor, endpoint.url, dict(endpoint.config),
                {name: title for name, (_module, title) in PROCESSORS.items()}))
            from desktop.session import Session  # here: websockets is not needed for the first frame

            try:
                url, codec, token = await self._prepare(endpoint)
                self.session = Session(codec, url, token=token, headers=dict(endpoint.headers),
                                       on_event=self._on_event, on_status=self._on_status)
            except VoiceDesktopError as exc:
                self.connection_changed.emit("error", str(exc))
                self.error.emit(str(exc))
                return
            carried, self._carried = self._carried, []
            for turn_id in carried:
                self._send_turn(turn_id)
            self.session.start()

    async def _prepare(self, endpoint: Endpoint):
        config = dict(endpoint.config)
        if endpoint.embedded:
            # Importing a processor module can take a second (google-genai): not on the GUI thread.
            factory = await asyncio.to_thread(get_factory, endpoint.processor)
            if endpoint.processor == "gemini" and endpoint.api_key:
                factory = functools.partial(factory, api_key=endpoint.api_key)
            from desktop.server import LiveServer  # here, not at import: picows is not needed for the first frame

            self.server = LiveServer(factory)
            await self.server.start()
            return self.server.url, LiveServerCodec(config), None
        codec = (await asyncio.to_thread(protocols.get, endpoint.protocol))(config)  # may scan entry points
        return endpoint.url, codec, endpoint.secret or None

    async def start_audio(self) -> None:
        """Open the microphone and the speaker; report what is unavailable and why."""
        if self.audio is None:
            self._set_mic("unavailable", "audio disabled")
            return
        async with self._device_lock:
            await self._open_player()
            if self.capture is None:
                await self._open_capture()

    async def _open_player(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            player = self.audio.player(on_error=self._on_speaker_error, latency=self._output_latency())
            await asyncio.to_thread(functools.partial(player.start, loop=loop))
        except (VoiceDesktopError, OSError) as exc:
            self.notice.emit(f"Speaker unavailable: {exc}")
            return
        self.player = player

    async def _open_capture(self) -> bool:
        """Open the microphone (the caller holds ``_device_lock``)."""
        from desktop.audio.on_demand import OnDemandMic

        try:
            capture = self.audio.capture(on_error=self._on_mic_error)
            await asyncio.to_thread(capture.check)  # found, not opened: push-to-talk opens it on press
        except (VoiceDesktopError, OSError) as exc:
            self.capture = None
            self._set_mic("unavailable", str(exc))
            return False
        self.capture, self.mic = capture, OnDemandMic(capture, self._on_mic_chunk, self._on_mic_error)
        if self.talk_mode == "open_mic" and not await self.mic.open_now():
            return False
        self._update_open_mic()
        if self.talk_mode == "open_mic":
            self._set_sending(True)
        else:
            self._set_mic("off", "")
        return True

    async def reopen_audio(self, input_device: str, output_device: str, jitter_ms: int) -> None:
        """Use other devices (Settings changed): reopen only what changed; the session is untouched."""
        if self.audio is None:
            return
        new = AudioBackend(input_device, output_device, jitter_ms)
        async with self._device_lock:
            old, self.audio = self.audio, new
            if self.open_mic is not None:  # echo cancellation pairs this mic with this speaker: re-paired below
                self.open_mic.detach(self.capture, self.player)
            if (old.output_device, old.jitter_ms) != (new.output_device, new.jitter_ms):
                player, self.player = self.player, None
                await self._close(player)
                await self._open_player()
            if old.input_device != new.input_device or self.capture is None:
                if self.talking and self.session is not None:
                    self.session.audio_end()  # the utterance so far is complete: the old mic is going
                mic, self.mic = self.mic, None
                if mic is not None:
                    await mic.aclose()
                capture, self.capture, self.talking, self._pressed_turn = self.capture, None, False, False
                await self._close(capture)
                await self._open_capture()
            self._update_open_mic()

    async def shutdown(self) -> None:
        """Stop everything: background tasks, the session and server, then the devices. Safe to repeat."""
        tasks = [task for task in self._tasks if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        async with self._lock:
            await self._stop_session()
        await self._close_devices()

    async def _close_devices(self) -> None:
        async with self._device_lock:
            if self.open_mic is not None:
                self.open_mic.detach(self.capture, self.player)
            mic, self.mic = self.mic, None
            if mic is not None:
                await mic.aclose()
            devices, self.capture, self.player = (self.capture, self.player), None, None
            self.talking = False
            for device in devices:
                await self._close(device)

    @staticmethod
    async def _close(device: Any) -> None:
        if device is not None:
            try:
                await asyncio.to_thread(device.close)
            except Exception:  # closing must go on for the other device and the session
                log.exception("Closing %s failed", type(device).__name__)

    async def _stop_session(self) -> None:
        session, self.session = self.session, None
        server, self.server = self.server, None
        if session is not None:
            # Every typed turn not answered yet goes again on the next session (written or not).
            self._carried += [self._typed_turns[message_id] for message_id, _ in session.unanswered_texts
                              if message_id in self._typed_turns]
            await session.close()
        if server is not None:
            await server.close()
        self._typed_turns.clear()

    # -- intents (slots for the window's signals) --------------------------------------

    def on_text_submitted(self, text: str) -> None:
        text = text.strip()
        if not text:
            return
        if self.player is not None:
            self.player.flush()  # a new turn: stop talking over it
        self.figures.mark()
        turn = self.transcript.add_typed(text, sent=False)
        self._send_turn(turn.id)
        if self.session is None or not self.session.connected:
            self.notice.emit("Not connected: the message will be sent when the connection is back.")

    def on_send_held(self, turn_id: int) -> None:
        """The user clicked "send" on text typed in an earlier run that was never sent."""
        if self.transcript.release(turn_id) is not None:
            self._send_turn(turn_id)

    def _send_turn(self, turn_id: int) -> None:
        turn = self.transcript.get(turn_id)
        if turn is None:
            return
        if self.session is None:
            self._carried.append(turn_id)
        else:
            self._typed_turns[self.session.send_text(turn.text)] = turn_id

    def set_talk_mode(self, mode: str) -> None:
        """Switch between push-to-talk and open mic (which the key then mutes)."""
        self.talk_mode = mode
        self._update_open_mic()
        if self.capture is not None and self.mic is not None:
            self._set_sending(mode == "open_mic")
            (self.mic.open if mode == "open_mic" else self.mic.close)()

    def on_talk_started(self) -> None:
        if self.talk_mode == "open_mic":
            if self.capture is not None and self.talking:
                self._set_sending(False, muted=True)
            return
        if self.talking:
            return
        if self.capture is None:
            self.error.emit(f"Microphone unavailable: {self.mic_state[1] or 'no input device'}")
            if self.audio is not None and (self._capture_retry is None or self._capture_retry.done()):
                self._capture_retry = self.spawn(self._retry_capture(), "Opening the microphone")
            return
        self.talking = True
        self.figures.mark()
        log.info("Talk started")
        if self.player is not None:
            self.player.flush()  # barge-in: the user talks, the assistant stops
        self.mic.open(before=self._activity_start)  # in order after a previous release's end of turn
        self._set_mic("listening", "")

    def _activity_start(self) -> None:
        self._pressed_turn = True
        self._spoken.started()
        if self.session is not None:
            self.session.activity_start()

    async def _retry_capture(self) -> None:
        async with self._device_lock:
            if self.capture is not None or self.audio is None:
                return  # another opener got there first
            if await self._open_capture():
                self.notice.emit("Microphone ready: hold to talk again.")

    def _set_sending(self, sending: bool, *, muted: bool = False) -> None:
        was = self.talking
        self.talking = sending
        self._set_mic("listening" if sending else ("muted" if muted else "off"), self._open_mic_state(sending))
        if self.open_mic is not None and not sending:
            self.open_mic.reset()
        if was and not sending and self.session is not None:
            self.session.audio_end()

    # -- open mic: echo cancellation, local speech detection, barge-in ------------------------

    def set_echo_cancellation(self, enabled: bool) -> None:
        """Settings -> Audio -> Echo cancellation (open mic only)."""
        self.echo_cancellation = enabled
        self._update_open_mic()
        if self.talk_mode == "open_mic" and self.capture is not None and self.talking:
            self._set_mic("listening", self._open_mic_state(True))

    def _update_open_mic(self) -> None:
        """Attach echo cancellation in open mic (with the setting on), detach it otherwise."""
        if self.talk_mode != "open_mic":
            if self.open_mic is not None:
                self.open_mic.detach(self.capture, self.player)
            return
        if self.open_mic is None:
            self.open_mic = OpenMic()
        self.open_mic.echo_cancellation = self.echo_cancellation
        self.open_mic.detach(self.capture, self.player)
        self.open_mic.prepare()
        if self.open_mic.notice:
            self.notice.emit(self.open_mic.notice)
        self._attach_pending = True  # at the next mic chunk: the stream is running then

    def _attach_open_mic(self) -> None:
        assert self.open_mic is not None
        self._attach_pending = False
        self.open_mic.attach(self.capture, self.player)
        if self.talking:
            self._set_mic("listening", self._open_mic_state(True))

    def _output_latency(self) -> float | str:
        """A speaker that never misses a deadline keeps the echo path steady for the canceller: in open mic
        with echo cancellation, 100 ms of output buffer (a busy CPU then underruns far less than at "low")."""
        return OPEN_MIC_OUTPUT_LATENCY if self.talk_mode == "open_mic" and self.echo_cancellation else "low"

    def _open_mic_state(self, sending: bool) -> str:
        """What the mic indicator says beside "Listening" in open mic: whether the echo is cancelled."""
        if not sending or self.talk_mode != "open_mic" or self.open_mic is None:
            return ""
        if self.open_mic.cancelling:
            return "echo cancelled"
        return "no echo cancellation, use headphones"

    def _send_open_mic(self, pcm: bytes) -> None:
        assert self.open_mic is not None and self.session is not None
        step = self.open_mic.feed(pcm)
        if step.started:
            self._barge_in()
        for chunk in step.send:
            self.session.send_audio(chunk)
        if step.ended:
            self.session.audio_end()
            if not self.session.codec.info.has_turn_events:
                self._dropping_reply = False  # no turn events will end it: what comes now answers this turn

    def _barge_in(self) -> None:
        """The user started talking in open mic: stop the assistant at once and tell the server."""
        assert self.session is not None
        if self.player is not None and (self.player.is_playing or self.player.buffered_ms > 0):
            self.player.flush()  # takes effect at the next audio callback
            self._dropping_reply = True
            log.info("Barge-in: the user talks over the reply")
        self.session.activity_start()

    def on_talk_stopped(self) -> None:
        if self.talk_mode == "open_mic":
            if self.capture is not None and not self.talking:
                self._set_sending(True)
            return
        if not self.talking:
            return
        self.talking = False
        self.figures.mark(end_of_speech=True)
        log.info("Talk stopped")
        if self.capture is not None and self.mic is not None:
            self._set_mic("off", "")
            self.mic.close(after=self._audio_end)  # what was recorded up to the release is sent first
        elif self.session is not None:
            self.session.audio_end()

    def _audio_end(self) -> None:
        self._pressed_turn = False
        self._spoken.ended()
        if self.session is not None:
            self.session.audio_end()

    def on_reset_requested(self) -> None:
        if self.player is not None:
            self.player.flush()
        if self.session is not None:
            self.session.reset()
        self.transcript.clear()

    def on_retry_requested(self) -> None:
        if self.session is not None:
            self.session.retry_now()

    # -- device callbacks (on the loop thread) ------------------------------------------

    def _on_mic_chunk(self, pcm: bytes, level: float) -> None:
        self._send_mic_chunk(pcm)
        self.level_changed.emit(level)  # after: the meter's repaint request waits, the wire does not

    def _send_mic_chunk(self, pcm: bytes) -> None:
        # Push-to-talk: what the mic recorded up to the release (delivered by its flush) belongs to the turn.
        if self._attach_pending and self.talk_mode == "open_mic" and self.capture is not None:
            self._attach_open_mic()
        if (self.talking or self._pressed_turn) and self.session is not None:
            if self.talk_mode == "open_mic" and self.open_mic is not None:
                self._send_open_mic(pcm)
            else:
                self.session.send_audio(pcm)
                self._spoken.sent()

    def _on_mic_error(self, message: str) -> None:
        log.warning("Microphone failed: %s", message)
        was_talking = self.talking
        self.talking = False
        self.capture = None
        self._set_mic("unavailable", message)
        self.error.emit(f"The microphone stopped: {message}")
        if was_talking and self.session is not None:
            self.session.audio_end()

    def _on_speaker_error(self, message: str) -> None:
        log.warning("Speaker failed: %s", message)
        self.player = None
        self.error.emit(f"The speaker stopped: {message}. Replies are shown as text only.")

    def _set_mic(self, state: str, reason: str) -> None:
        self.mic_state = (state, reason)
        self.mic_changed.emit(state, reason)

    # -- session callbacks ------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        if isinstance(event, Audio):
            if not self._dropping_reply:
                self.figures.audio_arrived()
            if self.player is not None and not self._dropping_reply:
                self.player.feed(event.pcm, event.rate)
        elif isinstance(event, (Transcript, TurnComplete, Interrupted)):
            if isinstance(event, (TurnComplete, Interrupted)):
                self._dropping_reply = False  # the reply the user talked over is over
            placeholder = self._spoken.before(event)  # a spoken turn nothing transcribed still shows
            if placeholder is not None:
                self.transcript.apply(placeholder)
            self.transcript.apply(event)
            if self.player is not None:
                if isinstance(event, Interrupted):
                    self.player.flush()
                elif isinstance(event, TurnComplete):
                    self.player.mark_end()
            if isinstance(event, TurnComplete):
                self._report_turn()
        elif isinstance(event, TextDelivered):
            turn_id = self._typed_turns.get(event.message_id)  # may be reported again if re-sent
            if turn_id is not None:
                self.transcript.mark_sent(turn_id)
        elif isinstance(event, AudioDropped):
            log.info("%d audio part(s) not sent: %s", event.frames, event.reason)
            self.figures.frames_dropped += event.frames
            self.notice.emit(f"About {event.frames * 0.02:.1f} s of what you said was not sent: {event.reason}.")
        elif isinstance(event, ServerError):
            self.error.emit(event.message)
        elif isinstance(event, ProtocolError):
            log.warning("%s (%s)", event.message, event.excerpt)
            self.notice.emit(event.message)
        elif isinstance(event, Notice):
            self.notice.emit(event.message)
        elif isinstance(event, SessionUpdate) and event.going_away:
            self.notice.emit("The server is ending this session soon; it will reconnect.")
        elif isinstance(event, Health):
            log.debug("Server processor (re)started")

    # -- diagnostics ------------------------------------------------------------------------

    def diagnostics(self) -> dict[str, float | int | None]:
        """The figures the diagnostics panel shows (keys: see desktop/ui/diagnostics.py); None: not known."""
        return self.figures.snapshot(self.player, self.session)

    def _report_turn(self) -> None:
        figures = self.diagnostics()
        log.info("Turn figures: %s", ", ".join(
            f"{key} {value:.0f}" if isinstance(value, float) else f"{key} {value if value is not None else '-'}"
            for key, value in figures.items()))
        self.diagnostics_changed.emit(figures)

    def _on_status(self, status: ConnectionStatus) -> None:
        self.connection_changed.emit(status.state.value, status.reason)
        if status.state is ConnectionState.RECONNECTING and status.retry_in is not None:
            self.retry_countdown.emit(status.retry_in)
        self.talk_enabled.emit(status.state is ConnectionState.CONNECTED)


def connect_window(window, controller: Controller, on_settings: Callable[[], None] | None = None) -> None:
    """All signal wiring between the window and the controller, in one place."""
    window.text_submitted.connect(controller.on_text_submitted)
    window.talk_started.connect(controller.on_talk_started)
    window.talk_stopped.connect(controller.on_talk_stopped)
    window.reset_requested.connect(controller.on_reset_requested)
    window.retry_requested.connect(controller.on_retry_requested)
    window.transcript.send_held_requested.connect(controller.on_send_held)
    if on_settings is not None:
        window.settings_requested.connect(on_settings)
    controller.connection_changed.connect(window.set_connection_state)
    controller.retry_countdown.connect(window.set_retry_countdown)
    controller.mic_changed.connect(window.set_mic_state)
    controller.level_changed.connect(window.set_level)
    controller.error.connect(window.show_error)
    controller.notice.connect(window.show_notice)
    controller.talk_enabled.connect(window.set_talk_enabled)
    controller.assistant_changed.connect(window.set_assistant)
    controller.loading_changed.connect(window.set_loading)
    window.set_talk_mode(controller.talk_mode)
