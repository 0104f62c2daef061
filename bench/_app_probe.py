"""Run the real app (``desktop.app.main``) and time it from the outside in: one JSON line on stdout.

``python -m bench._app_probe LAUNCHED_AT MODE [--processor echo ...]``, where ``LAUNCHED_AT`` is the
``time.time()`` the parent took just before spawning this process and MODE is:

* ``start``: window shown (its first paint) and connected to the embedded server, in seconds after launch;
  then the app quits.
* ``idle``: the same, then with the window open in push-to-talk and the mic off it waits for the speaker to go
  idle and measures the process's CPU over ``IDLE_SECONDS`` (% of one core; the embedded server included) and
  the devices it holds; then it presses the talk key ``PRESSES`` times (press -> first captured chunk, and
  whether that first chunk went out on the session); then CPU while talking and hearing its echo at once
  (capture + send, receive + play), steady state: for ``TALK_SECONDS`` from ``STEADY_AFTER_SECONDS`` after the
  echo began to play.
* ``talk``: the same start, then it holds the talk key against a server that answers nothing spoken
  (``bench/_reply_server.py``): CPU of capture + send alone, for ``TALK_SECONDS`` from ``STEADY_AFTER_SECONDS``
  after the first chunk was sent.
* ``listen``: the same start, then a typed turn whose long spoken reply (``bench/_reply_server.py``) is received
  and played with the mic off: CPU for ``LISTEN_SECONDS`` from ``STEADY_AFTER_SECONDS`` into the reply.
* ``hold``: the same start, then it holds the talk key (push-to-talk) until its stdin is closed or
  ``HOLD_MAX_SECONDS`` pass, so the parent can play into the microphone and listen to the speaker
  (``bench/test_mouth_to_ear.py``). Once the microphone delivers blocks it prints ``{"holding": true}``; after the
  release it lets the echo play out, then prints the devices' latencies and the player's figures as the last line.

Nothing in the app is patched but one wrapper around ``App.run`` that, before the real ``run`` starts, installs
the probes (an event filter for the first paint, a slot on ``connection_changed``, a counter on the session's
``send_audio``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import threading
import time

IDLE_SETTLE_SECONDS = 6.0  # > the speaker's idle close (4 s)
IDLE_SECONDS = 10.0
PRESSES = 5
TALK_SECONDS = 6.0
LISTEN_SECONDS = 5.0  # inside bench/_reply_server.py's 8 s reply
STEADY_AFTER_SECONDS = 1.0  # past opening the speaker and filling the jitter buffer: the steady cost is measured
HOLD_MAX_SECONDS = 120.0  # a parent that died without closing stdin does not leave the app holding forever
PLAY_OUT_SECONDS = 5.0


def _cpu() -> float:
    return time.process_time()  # user + system of every thread of this process


def main() -> int:
    launched_at, mode, *app_argv = sys.argv[1:]
    launched = float(launched_at)
    marks: dict[str, object] = {"imported_at": time.time() - launched}

    from PySide6.QtCore import QEvent, QObject

    import desktop.app as app_module

    marks["app_module_at"] = time.time() - launched
    original_run, original_init = app_module.App.run, app_module.App.__init__

    def timed_init(self, *args, **kwargs) -> None:
        marks["app_init_start"] = time.time() - launched
        original_init(self, *args, **kwargs)
        marks["app_init_end"] = time.time() - launched

    class FirstPaint(QObject):
        def eventFilter(self, watched, event):  # noqa: N802 - Qt's name
            if event.type() == QEvent.Type.Paint and "shown" not in marks:
                marks["shown"] = time.time() - launched
            return False

    async def probed_run(self, closed: asyncio.Event) -> None:
        painter = FirstPaint(self.window)
        self.window.installEventFilter(painter)
        connected = asyncio.Event()

        def on_connection(state: str, reason: str) -> None:
            if state == "connected" and "connected" not in marks:
                marks["connected"] = time.time() - launched
                connected.set()

        self.controller.connection_changed.connect(on_connection)
        driver = asyncio.ensure_future(_drive(self, mode, connected, marks))
        driver.add_done_callback(lambda _task: closed.set())  # the real run() then shuts down as on quit
        try:
            await original_run(self, closed)
        finally:
            if not driver.done():
                driver.cancel()
            if driver.done() and not driver.cancelled() and driver.exception() is not None:
                marks["error"] = repr(driver.exception())

    app_module.App.run, app_module.App.__init__ = probed_run, timed_init
    app_module.main(app_argv)
    print(json.dumps(marks), flush=True)
    return 0


async def _drive(app, mode: str, connected: asyncio.Event, marks: dict[str, object]) -> None:
    async with asyncio.timeout(60):
        await connected.wait()
        while "shown" not in marks:
            await asyncio.sleep(0.01)
    if mode == "start":
        return
    controller = app.controller
    while controller.mic is None:  # start_audio() runs after apply(): wait for it
        await asyncio.sleep(0.05)
    if mode == "hold":
        await _hold(controller, marks)
        return
    if mode == "listen":
        await _listen(controller, marks)
        return
    if mode == "talk":
        await _talk(controller, marks)
        return
    await asyncio.sleep(IDLE_SETTLE_SECONDS)
    marks["idle_capture_open"] = bool(controller.capture.is_running)
    marks["idle_speaker_open"] = bool(controller.player is not None and not controller.player.is_asleep)
    cpu, wall = _cpu(), time.perf_counter()
    await asyncio.sleep(IDLE_SECONDS)
    marks["idle_cpu_percent"] = 100 * (_cpu() - cpu) / (time.perf_counter() - wall)

    sent = _count_sends(controller.session)
    press_to_first: list[float] = []
    first_sent: list[bool] = []
    for _ in range(PRESSES):
        sent_before, delivered_before = len(sent), controller.capture.chunks_delivered
        pressed = time.perf_counter()
        controller.on_talk_started()
        while not controller.capture.is_running or controller.capture.callbacks == 0:
            await asyncio.sleep(0.001)
        # The first callback brings the first 20 ms block: its first sample was recorded one block earlier.
        press_to_first.append(time.perf_counter() - pressed - 0.020)
        await asyncio.sleep(0.3)
        controller.on_talk_stopped()
        while controller.capture.is_running:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.5)
        # Every chunk recorded from press to release went out, the first one included.
        delivered = controller.capture.chunks_delivered - delivered_before
        first_sent.append(delivered > 0 and len(sent) - sent_before == delivered)
    marks["press_to_first_sample_ms"] = [1e3 * x for x in press_to_first]
    marks["every_chunk_sent"] = all(first_sent)

    controller.on_talk_started()
    player = controller.player
    async with asyncio.timeout(30):  # steady state: the mic running, its echo coming back and playing
        while not controller.capture.is_running or not player.is_playing:
            await asyncio.sleep(0.01)
    await asyncio.sleep(STEADY_AFTER_SECONDS)
    cpu, wall = _cpu(), time.perf_counter()
    await asyncio.sleep(TALK_SECONDS)
    marks["talk_cpu_percent"] = 100 * (_cpu() - cpu) / (time.perf_counter() - wall)
    controller.on_talk_stopped()


def _count_sends(session) -> list[float]:
    """Note when each audio chunk is handed to ``session`` (the real ``send_audio`` still sends it)."""
    sent: list[float] = []
    original_send = session.send_audio

    def counting_send(pcm: bytes) -> None:
        sent.append(time.perf_counter())
        original_send(pcm)

    session.send_audio = counting_send
    return sent


async def _talk(controller, marks: dict[str, object]) -> None:
    """Hold the talk key; measure the CPU of capturing and sending, with nothing coming back."""
    sent = _count_sends(controller.session)
    controller.on_talk_started()
    async with asyncio.timeout(30):
        while not sent:
            await asyncio.sleep(0.01)
    await asyncio.sleep(STEADY_AFTER_SECONDS)
    cpu, wall, before = _cpu(), time.perf_counter(), len(sent)
    await asyncio.sleep(TALK_SECONDS)
    marks["talk_only_cpu_percent"] = 100 * (_cpu() - cpu) / (time.perf_counter() - wall)
    marks["talk_only_chunks_sent"] = len(sent) - before
    marks["talk_only_played"] = bool(controller.player is not None and controller.player.samples_played)
    controller.on_talk_stopped()


async def _listen(controller, marks: dict[str, object]) -> None:
    """Type a turn; measure the CPU while its long spoken reply (``bench/_reply_server.py``) is received and
    played, the mic off, from ``STEADY_AFTER_SECONDS`` into the reply for ``LISTEN_SECONDS``."""
    controller.on_text_submitted("Tell me a long story.")
    async with asyncio.timeout(30):
        while controller.player is None or not controller.player.is_playing:
            await asyncio.sleep(0.01)
    await asyncio.sleep(STEADY_AFTER_SECONDS)
    player = controller.player
    cpu, wall = _cpu(), time.perf_counter()
    await asyncio.sleep(LISTEN_SECONDS)
    marks["listen_cpu_percent"] = 100 * (_cpu() - cpu) / (time.perf_counter() - wall)
    marks["listen_still_playing"] = player.is_playing  # the reply outlasted the window: all of it was listening
    marks["listen_underruns"] = player.underruns


def _stdin_closed() -> asyncio.Event:
    """An event set when stdin reaches its end (the parent closed it, or died). A daemon thread reads it: a
    blocked read in the loop's executor would keep the interpreter from exiting."""
    loop, closed = asyncio.get_running_loop(), asyncio.Event()

    def read_to_end() -> None:
        sys.stdin.buffer.read()
        loop.call_soon_threadsafe(closed.set)

    threading.Thread(target=read_to_end, name="stdin-watch", daemon=True).start()
    return closed


async def _hold(controller, marks: dict[str, object]) -> None:
    """Hold the talk key while the parent plays into the microphone; note what the devices add."""
    released = _stdin_closed()
    controller.on_talk_started()
    capture = controller.capture
    async with asyncio.timeout(30):
        while not capture.is_running or capture.callbacks == 0:
            await asyncio.sleep(0.005)
    print(json.dumps({"holding": True}), flush=True)
    marks["capture_input_latency_ms"] = 1e3 * capture.input_latency
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(released.wait(), HOLD_MAX_SECONDS)
    marks["released_by_parent"] = released.is_set()
    # Late callbacks or a starved loop lose or delay audio on the way in: they explain a latency that grew.
    marks["capture_overflows"] = capture.overflows
    marks["capture_overruns"] = capture.overruns
    marks["capture_chunks_dropped"] = capture.chunks_dropped
    player = controller.player
    if player is not None:  # read while the echo still plays: the stream may close once idle
        marks["player_output_latency_ms"] = 1e3 * player.output_latency
        marks["jitter_target_ms"] = player.target_ms
        marks["jitter_added_latency_ms"] = player.added_latency_ms
        marks["player_underruns"] = player.underruns
        marks["player_stall_ms"] = player.stall_ms
        marks["player_device_underflows"] = player.device_underflows
    controller.on_talk_stopped()
    deadline = time.monotonic() + PLAY_OUT_SECONDS
    while capture.is_running or (player is not None and (player.is_playing or player.buffered_ms > 0)):
        if time.monotonic() > deadline:  # the figures above still count: quit without the tail
            marks["played_out"] = False
            break
        await asyncio.sleep(0.05)


if __name__ == "__main__":
    sys.exit(main())
