"""The microphone: a PortAudio input stream turned into 20 ms chunks of 16 kHz PCM16 on the event loop.

Why this shape:

* The stream runs at the device's own default rate (asking a device for 16 kHz makes some host APIs
  resample badly or refuse); :class:`desktop.audio.dsp.PCMResampler` converts on the loop side, streaming,
  so chunk boundaries leave no seams.
* PortAudio's callback only copies the block into a preallocated :class:`SampleRing` (the mic ring: when
  full, the oldest audio is dropped and counted) and wakes the loop. It does not log, lock, or resample.
* **Waking the loop**: the callback calls ``loop.call_soon_threadsafe`` at most once per block, and only
  when no wake-up is already pending (a flag the loop clears before it drains). Compared with a task
  polling every ~10 ms this adds no latency beyond one block, costs nothing while the mic is off, and
  never spins the loop; the price, one small handle allocation per 20 ms, is what sounddevice's own asyncio
  examples accept. If the loop stalls, the ring (not a growing queue of handles) absorbs the backlog.
* The resampler runs at soxr's "LQ" quality by default: flat to 6 kHz, > 45 dB alias rejection, enough for
  speech at 16 kHz, and it streams smoothly. "HQ" holds ~40-60 ms inside its filter and releases it in bursts,
  which the listener (and barge-in detection) would feel as latency.
* Errors are values for the UI: a missing or busy device raises :class:`AudioDeviceError` from
  :meth:`Capture.start`; a stream that dies later (PortAudio error, an exception in the callback, the
  stream finishing on its own, or no audio at all for ``stall_s`` seconds: see :mod:`desktop.audio._stream`)
  is reported once through ``on_error(message)`` on the loop thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np

from desktop.audio._stream import StallWatch, close_stream, keep_until_closed
from desktop.audio.devices import DeviceInfo, resolve_input, sounddevice
from desktop.audio.dsp import PCMResampler, pcm16_dbfs
from desktop.audio.ring import SampleRing
from desktop.errors import AudioDeviceError

__all__ = ["CHUNK_BYTES", "CHUNK_MS", "OUT_RATE", "Capture"]

log = logging.getLogger(__name__)

OUT_RATE = 16000
CHUNK_MS = 20
CHUNK_BYTES = OUT_RATE * CHUNK_MS // 1000 * 2  # 640: 320 samples of PCM16
_LOG_EVERY_S = 5.0


class _State(enum.Enum):
    IDLE = "idle"
    RUNNING = "running"
    STOPPING = "stopping"


class Capture:
    """Record from ``device`` (None: the default microphone; an index; or a name).

    :meth:`start` the stream, then either pass ``on_chunk`` (called on the loop thread as
    ``on_chunk(chunk, level)`` with each 640-byte chunk and the meter level in dBFS) or iterate
    :meth:`chunks`. :meth:`stop` flushes: what was recorded up to then is delivered, the last chunk padded
    with silence, and :meth:`chunks` ends. ``on_level(dbfs)`` (optional) is called on the loop for each
    block, for a meter that should move even when nobody consumes chunks.

    :meth:`start` and :meth:`stop` may block for a few milliseconds (PortAudio opens and stops devices):
    call them on the loop, or in a worker thread (``asyncio.to_thread``) with ``loop`` given. Callbacks
    always run on the loop thread.
    """

    def __init__(
        self,
        device: int | str | None = None,
        *,
        block_ms: int = 20,
        on_level: Callable[[float], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        capacity_ms: int = 2000,
        queue_chunks: int = 50,
        quality: str = "LQ",
        stall_s: float = 3.0,
    ) -> None:
        self._device_request = device
        self._block_ms = block_ms
        self._on_level = on_level
        self._on_error = on_error
        self._capacity_ms = capacity_ms
        self._queue_chunks = queue_chunks
        self._quality = quality
        self._stall_s = stall_s
        self._watch: StallWatch | None = None
        self._blocks = 0  # callbacks so far (callback stores)
        self._state = _State.IDLE
        self._device: DeviceInfo | None = None
        self._stream: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ring = SampleRing(1)
        self._resampler: PCMResampler | None = None
        self._pending = bytearray()
        self._on_chunk: Callable[[bytes, float], None] | None = None
        self._queue: asyncio.Queue[bytes | None] | None = None
        self._wake_pending = False
        self._fault: BaseException | None = None
        self._abort: type[Exception] = Exception
        self._level = -100.0
        self._overflows = 0
        self._chunks = 0
        self.chunks_dropped = 0
        self._last_log = 0.0
        # Echo-cancellation hook (desktop.audio.aec): each chunk passes through it before anyone sees it.
        self.processor: Callable[[bytes], bytes] | None = None
        # ... and its clock: each block's ADC time and ring index, from the callback (a copy, nothing more).
        self.block_tap: Callable[[float, int], None] | None = None

    # -- state for the UI and logs -------------------------------------------

    @property
    def device(self) -> DeviceInfo | None:
        """The device in use (known after :meth:`start`)."""
        return self._device

    @property
    def rate(self) -> int:
        """The stream's rate (the device's default rate), 0 before :meth:`start`."""
        return self._device.default_rate if self._device else 0

    @property
    def is_running(self) -> bool:
        return self._state is _State.RUNNING

    @property
    def level(self) -> float:
        """dBFS of the last block delivered (-100 for silence or before any audio)."""
        return self._level

    @property
    def overflows(self) -> int:
        """Blocks PortAudio reported as overflowed (the callback came too late)."""
        return self._overflows

    @property
    def overruns(self) -> int:
        """Times the mic ring was full and its oldest audio was dropped (the loop came too late)."""
        return self._ring.overruns

    @property
    def callbacks(self) -> int:
        """PortAudio callbacks (blocks recorded) since the last :meth:`start`."""
        return self._blocks

    @property
    def chunks_since_start(self) -> int:
        """Chunks delivered since the stream last started (the echo canceller's mic timeline)."""
        return self._chunks - self._chunks_at_start

    @property
    def input_latency(self) -> float:
        """PortAudio's measured input latency of the open stream, in seconds (0 when closed)."""
        return float(getattr(self._stream, "latency", 0.0) or 0.0)

    @property
    def chunks_delivered(self) -> int:
        return self._chunks

    # -- lifecycle --------------------------------------------------------------

    def check(self) -> DeviceInfo:
        """Find the device without opening it (push-to-talk opens on press); AudioDeviceError if missing."""
        sounddevice()
        self._device = resolve_input(self._device_request)
        return self._device

    def start(self, loop: asyncio.AbstractEventLoop | None = None,
              on_chunk: Callable[[bytes, float], None] | None = None,
              on_error: Callable[[str], None] | None = None) -> None:
        """Open and start the stream. Without ``on_chunk``, chunks go to :meth:`chunks`.

        ``loop`` defaults to the running loop; pass it from a worker thread, or from a Qt slot under
        qasync. ``on_error`` replaces the constructor's. Raises AudioDeviceError when the device is
        missing or cannot be opened.
        """
        if self._state is not _State.IDLE:
            return
        self._loop = loop or _running_loop()
        if on_error is not None:
            self._on_error = on_error
        sd = sounddevice()
        info = resolve_input(self._device_request)
        rate = info.default_rate
        block = max(1, rate * self._block_ms // 1000)
        self._ring = SampleRing(max(block * 4, rate * self._capacity_ms // 1000), np.int16)
        self._resampler = PCMResampler(rate, OUT_RATE, quality=self._quality)
        self._pending.clear()
        self._on_chunk = on_chunk
        self._queue = None if on_chunk else asyncio.Queue()
        self._fault, self._wake_pending, self._level, self._blocks = None, False, -100.0, 0
        self._chunks_at_start = self._chunks  # echo-cancellation hook: chunks_since_start
        self._abort = sd.CallbackAbort
        try:
            stream = keep_until_closed(sd.InputStream(device=info.index, samplerate=rate, channels=1, dtype="int16",
                                                      blocksize=block, latency="low", callback=self._callback,
                                                      finished_callback=self._finished))
        except (sd.PortAudioError, ValueError) as exc:
            raise AudioDeviceError(f"Could not open microphone {info.name!r}: {exc}") from exc
        self._device, self._stream = info, stream
        self._state = _State.RUNNING
        try:
            stream.start()
        except sd.PortAudioError as exc:
            self._state = _State.IDLE
            close_stream(stream)
            self._stream = None
            raise AudioDeviceError(f"Could not start microphone {info.name!r}: {exc}") from exc
        self._watch = StallWatch(self._loop, lambda: self._blocks, self._stalled, self._stall_s)
        log.info("capture started on %s, %d-sample blocks", info, block)

    def stop(self) -> None:
        """Stop recording; deliver what was recorded (last chunk padded) and end :meth:`chunks`.

        From a worker thread, the delivery happens on the loop shortly after this returns."""
        if self._state is not _State.RUNNING:
            return
        self._state = _State.STOPPING
        self._close_stream(drain=True)
        if _on_loop(self._loop):
            self._finish()
        else:
            assert self._loop is not None
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody to deliver to
                self._loop.call_soon_threadsafe(self._finish)

    close = stop

    async def chunks(self) -> AsyncIterator[bytes]:
        """The 640-byte chunks, until :meth:`stop` or a stream error (needs ``start()`` without on_chunk)."""
        if self._queue is None:
            raise RuntimeError("Capture.chunks() needs start() without on_chunk")
        queue = self._queue
        while (chunk := await queue.get()) is not None:
            yield chunk

    # -- PortAudio's thread: copy, count, wake; nothing else ------------------

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        try:
            self._blocks += 1
            if status.input_overflow:
                self._overflows += 1
            if self.block_tap is not None:
                self.block_tap(time_info.inputBufferAdcTime, self._ring.write_index)
            self._ring.write(indata[:, 0])
            if not self._wake_pending:
                self._wake_pending = True
                self._loop.call_soon_threadsafe(self._drain)  # type: ignore[union-attr]
        except BaseException as exc:  # noqa: BLE001 - reported on the loop by _finished
            self._fault = exc
            raise self._abort from None

    def _finished(self) -> None:
        if self._state is _State.RUNNING and self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody to tell
                self._loop.call_soon_threadsafe(self._died)

    # -- the loop's side ----------------------------------------------------------

    def _drain(self) -> None:
        self._wake_pending = False
        if self._state is _State.RUNNING:
            self._pump(last=False)

    def _stalled(self) -> None:
        self._died(f"no audio for {self._stall_s:g} s")

    def _died(self, why: str = "") -> None:
        if self._state is not _State.RUNNING:
            return
        self._state = _State.STOPPING
        name = self._device.name if self._device else "?"
        if self._fault:
            why = repr(self._fault)
        why = why or "PortAudio ended the stream"
        message = (f"The microphone {name!r} stopped unexpectedly ({why}); "
                   "it may have been unplugged, or the sound server stopped")
        self._close_stream(timeout=0.2)
        self._finish()
        log.warning("%s", message)
        if self._on_error:
            self._on_error(message)

    def _pump(self, *, last: bool) -> None:
        samples = self._ring.read()
        if samples.size:
            block = samples[-max(1, self.rate * self._block_ms // 1000):]
            self._level = pcm16_dbfs(block)
            if self._on_level:
                self._on_level(self._level)
        assert self._resampler is not None
        self._pending += self._resampler.process(samples.tobytes(), last=last)
        if last and len(self._pending) % CHUNK_BYTES:
            self._pending += bytes(CHUNK_BYTES - len(self._pending) % CHUNK_BYTES)
        while len(self._pending) >= CHUNK_BYTES:
            chunk = bytes(self._pending[:CHUNK_BYTES])
            del self._pending[:CHUNK_BYTES]
            self._emit(chunk)
        now = time.monotonic()
        if now - self._last_log >= _LOG_EVERY_S:
            self._last_log = now
            log.debug("capture: %d chunks, level %.1f dBFS, %d overflows, %d overruns, %d chunks dropped",
                      self._chunks, self._level, self.overflows, self.overruns, self.chunks_dropped)

    def _emit(self, chunk: bytes) -> None:
        processor = self.processor
        if processor is not None:
            chunk = processor(chunk)
        self._chunks += 1
        if self._on_chunk is not None:
            self._on_chunk(chunk, self._level)
            return
        assert self._queue is not None
        if self._queue.qsize() >= self._queue_chunks:  # nobody is reading: drop the oldest
            self._queue.get_nowait()
            self.chunks_dropped += 1
        self._queue.put_nowait(chunk)

    def _finish(self) -> None:
        self._pump(last=True)
        if self._queue is not None:
            self._queue.put_nowait(None)
        log.info("capture stopped: %d chunks, %d overflows, %d overruns, %d chunks dropped",
                 self._chunks, self.overflows, self.overruns, self.chunks_dropped)
        self._state = _State.IDLE

    def _close_stream(self, *, drain: bool = False, timeout: float = 1.0) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        stream, self._stream = self._stream, None
        if stream is not None and not close_stream(stream, drain=drain, timeout=timeout):
            log.warning("PortAudio did not stop the microphone stream; abandoning it")


def _on_loop(loop: asyncio.AbstractEventLoop | None) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _running_loop() -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError("Capture.start() needs the event loop: call it on the loop or pass loop") from None
