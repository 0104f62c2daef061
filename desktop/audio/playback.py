"""The speaker: PCM16 at any rate in (on the loop), a PortAudio output stream with a jitter buffer out.

Why this shape:

* Replies arrive in network-sized bursts, at the server's rate (16, 24, 44.1 kHz...). :meth:`Player.feed`
  resamples each rate with its own streaming :class:`PCMResampler` to the device's default rate and writes
  into a preallocated :class:`SampleRing` (the speaker ring: when full, the oldest audio is dropped and
  counted as an overrun; size it for a whole reply, since servers send faster than real time).
* **Jitter buffer**: the callback stays silent until the jitter target of audio is queued, or until the turn
  ended (:meth:`Player.mark_end`) so a short remainder still plays. If the queue runs dry mid-turn, that
  is an underrun: counted, the shortfall zero-filled, and playback waits for the target again rather
  than stuttering block by block. Silence while idle is not an underrun.
* **Adaptive target**: ``jitter_ms`` is the floor. On the loop side, :meth:`Player.feed` tells a
  :class:`~desktop.audio.jitter.JitterPolicy` when each chunk arrived (and about underruns the callback
  counted); the policy raises the target under network jitter, up to ``jitter_max_ms``, and lowers it once
  the link is calm. The callback only reads the target (one integer) when it (re)starts playing, so a change
  never cuts audio. Added latency is counted too: the depth queued when playback (re)started, and the
  silence spent refilling after underruns.
* **Barge-in**: :meth:`Player.flush` drops everything queued at once. It only raises marks that the
  callback applies at its next run, so it takes effect within one callback period with no lock.
* **Idle**: with ``idle_close_s``, the stream closes once nothing has been fed or played for that long (no
  device open, no callbacks, no timers: the OS shows no app using the speaker) and reopens on the next
  :meth:`feed`. The ring is kept across, so the first audio of the next reply waits in it while the device
  opens (~20-60 ms, well inside the jitter target) and nothing is lost.
* The callback always fills the whole buffer, never logs, never allocates a buffer, never takes a lock.
  Counters are logged from the loop side: every few seconds at DEBUG while audio is fed, and on
  :meth:`Player.close`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from desktop.audio._stream import StallWatch, close_stream, keep_until_closed
from desktop.audio.devices import DeviceInfo, resolve_output, sounddevice
from desktop.audio.dsp import PCMResampler
from desktop.audio.jitter import JitterPolicy
from desktop.audio.ring import SampleRing
from desktop.errors import AudioDeviceError, AudioFormatError

__all__ = ["Player", "PlayerStats"]

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class PlayerStats:
    rate: int
    buffered_ms: float
    underruns: int
    overruns: int
    is_playing: bool
    target_ms: float = 0.0  # the jitter target now
    added_latency_ms: float = 0.0  # queued when playback last (re)started
    stall_ms: float = 0.0  # silence spent refilling after underruns, in all
    device_underflows: int = 0  # callbacks that came too late for the device (see Player.device_underflows)


class Player:
    """Play to ``device`` (None: the default speaker; an index; or a name). Use it from the loop thread."""

    def __init__(
        self,
        device: int | str | None = None,
        *,
        jitter_ms: int = 60,
        jitter_max_ms: int = 400,
        capacity_ms: int = 60_000,
        block_ms: int = 20,
        on_error: Callable[[str], None] | None = None,
        log_every_s: float = 5.0,
        stall_s: float = 3.0,
        idle_close_s: float | None = None,
        latency: float | str = "low",
    ) -> None:
        self._device_request = device
        self._latency = latency  # PortAudio's output latency: "low", or seconds (more survives a busy CPU)
        self.jitter_ms = jitter_ms
        self.jitter = JitterPolicy(initial_ms=jitter_ms, min_ms=jitter_ms, max_ms=max(jitter_ms, jitter_max_ms))
        self._underruns_seen = 0  # loop: underruns already told to the policy
        self._capacity_ms = capacity_ms
        self._block_ms = block_ms
        self._on_error = on_error
        self._log_every_s = log_every_s
        self._stall_s = stall_s
        self._idle_close_s = idle_close_s
        self._idle_handle: asyncio.TimerHandle | None = None
        self._last_active = 0.0  # loop: monotonic time of the last feed
        self._asleep = False  # loop: the stream was closed for idleness; feed() reopens it
        self._waking: asyncio.Task[None] | None = None
        self._sleeping: asyncio.Future[object] | None = None
        self._stream_lock = threading.Lock()  # stream open/close happen on worker threads
        self._watch: StallWatch | None = None
        self._blocks = 0  # callback
        self._played = 0  # callback: samples handed to the device
        self._device: DeviceInfo | None = None
        self._stream: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ring = SampleRing(1)
        self._resamplers: dict[int, PCMResampler] = {}
        self._target = 0  # jitter target in samples
        self._closing = False
        self._abort: type[Exception] = Exception
        self.error: str | None = None  # why the stream died, if it did
        # Shared with the callback; each is stored by one side only.
        self._playing = False  # callback
        self._underruns = 0  # callback
        self._device_underflows = 0  # callback
        self._start_depth = 0  # callback: samples queued when playback last (re)started
        self._stall = 0  # callback: silent samples while refilling after an underrun
        self._refilling = False  # callback
        self._flush_seq = 0  # loop
        self._flush_seen = 0  # callback
        self._end_at = -1  # loop: ring write index where the current turn ended
        self._fault: BaseException | None = None  # callback
        self._last_log = 0.0
        # Echo-cancellation hook (desktop.audio.aec): called from the callback with each block as written
        # and the time its first sample reaches the DAC (PortAudio's clock; a jump is an underrun's gap).
        self.far_end_tap: Callable[[np.ndarray, float], None] | None = None

    # -- state ----------------------------------------------------------------

    @property
    def device(self) -> DeviceInfo | None:
        return self._device

    @property
    def rate(self) -> int:
        """The device rate everything is resampled to; 0 before :meth:`start`."""
        return self._device.default_rate if self._device else 0

    @property
    def is_playing(self) -> bool:
        """True while audio is being played out; False while idle or (re)filling the jitter buffer."""
        return self._playing

    @property
    def buffered_ms(self) -> float:
        return self._ring.available * 1000 / self.rate if self.rate else 0.0

    @property
    def underruns(self) -> int:
        return self._underruns

    @property
    def device_underflows(self) -> int:
        """Callbacks PortAudio flagged as too late while a reply played: the device ran dry before our samples
        reached it (a busy machine, not the network). Each adds a gap the jitter buffer never sees and, on a
        continuous stream, can leave the reply later by that much for good."""
        return self._device_underflows

    @property
    def overruns(self) -> int:
        return self._ring.overruns

    @property
    def target_ms(self) -> float:
        """The jitter target now (``jitter_ms`` on a calm link, more under jitter)."""
        return self.jitter.target_ms

    @property
    def added_latency_ms(self) -> float:
        """What the jitter buffer held when playback last (re)started. On audio that arrives at real time that is
        the latency it added; a reply that arrives faster (offline speech, a burst) can queue far more without
        waiting any longer."""
        return self._start_depth * 1000 / self.rate if self.rate else 0.0

    @property
    def stall_ms(self) -> float:
        """Silence played while refilling after underruns, since start."""
        return self._stall * 1000 / self.rate if self.rate else 0.0

    @property
    def is_asleep(self) -> bool:
        """True while the stream is closed for idleness (it reopens on the next feed)."""
        return self._asleep

    @property
    def samples_played(self) -> int:
        """Samples (at :attr:`rate`) handed to the device so far, silence excluded."""
        return self._played

    @property
    def callbacks(self) -> int:
        """Audio callbacks so far: it grows while the stream is alive."""
        return self._blocks

    @property
    def output_latency(self) -> float:
        """PortAudio's measured output latency of the open stream, in seconds (0 when closed)."""
        return float(getattr(self._stream, "latency", 0.0) or 0.0)

    def stats(self) -> PlayerStats:
        return PlayerStats(self.rate, self.buffered_ms, self.underruns, self.overruns, self.is_playing,
                           self.target_ms, self.added_latency_ms, self.stall_ms, self.device_underflows)

    # -- lifecycle ------------------------------------------------------------

    def start(self, *, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Open the device and start the (silent until fed) stream. AudioDeviceError if it cannot.

        ``loop`` (default: the running loop, if any) is where ``on_error`` is called if the stream dies
        (PortAudio ends it, the callback fails, or no callback for ``stall_s`` s). Without a loop, nothing
        watches the stream; :attr:`error` still says why it died.
        """
        if self._stream is not None:
            return
        if loop is None:
            with contextlib.suppress(RuntimeError):
                loop = asyncio.get_running_loop()
        self._loop = loop
        sd = sounddevice()
        info = resolve_output(self._device_request)
        rate = info.default_rate
        self._device = info
        self._target = max(1, int(rate * self.jitter.target_ms) // 1000)
        # Never smaller than the largest jitter target (else playback could never start), nor than 4 targets.
        floor_ms = max(4 * max(self.jitter_ms, self._block_ms), int(self.jitter.max_ms) + 4 * self._block_ms)
        self._ring = SampleRing(rate * max(floor_ms, self._capacity_ms) // 1000, np.int16)
        self._resamplers.clear()
        self._playing, self._fault, self.error, self._end_at = False, None, None, -1
        self._flush_seen = self._flush_seq
        self._closing, self._abort, self._blocks, self._asleep = False, sd.CallbackAbort, 0, False
        try:
            self._open_stream()
        except AudioDeviceError:
            self._device = None
            raise
        self._last_active = time.monotonic()
        if loop is not None and self._idle_close_s is not None:
            with contextlib.suppress(RuntimeError):  # start() may run on a worker thread: arm on the loop
                loop.call_soon_threadsafe(self._arm_idle)
        log.info("playback started on %s, jitter buffer %d-%d ms", info, self.jitter_ms, self.jitter.max_ms)

    def _open_stream(self) -> None:
        """Open and start the device stream (any thread); AudioDeviceError if it cannot."""
        sd = sounddevice()
        info = self._device
        assert info is not None
        with self._stream_lock:
            if self._closing:
                return
            try:
                self._stream = keep_until_closed(sd.OutputStream(
                    device=info.index, samplerate=info.default_rate, channels=1, dtype="int16",
                    blocksize=max(1, info.default_rate * self._block_ms // 1000), latency=self._latency,
                    callback=self._callback, finished_callback=self._finished))
                self._stream.start()
            except (sd.PortAudioError, ValueError) as exc:
                stream, self._stream = self._stream, None
                if stream is not None:
                    close_stream(stream)
                raise AudioDeviceError(f"Could not open speaker {info.name!r}: {exc}") from exc
            if self._loop is not None:
                self._watch = StallWatch(self._loop, lambda: self._blocks, self._stalled, self._stall_s)

    def close(self) -> None:
        """Stop at once (queued audio is dropped) and log the counters. Any thread."""
        if self._device is None or self._closing:
            return
        self._closing = True
        with self._stream_lock:
            self._close_stream()
        self._asleep = False
        self._playing = False
        log.info("playback closed: %d underruns, %d overruns, %d device underflows, jitter target %.0f ms "
                 "(peak %.0f)%s", self.underruns, self.overruns, self.device_underflows, self.target_ms,
                 self.jitter.stats().peak_target_ms,
                 f", error: {self.error}" if self.error else "")

    # -- the loop's side --------------------------------------------------------

    def feed(self, pcm: bytes, rate: int) -> None:
        """Queue PCM16 mono little-endian audio at ``rate`` Hz (any rate). Never blocks."""
        if self._device is None:
            raise RuntimeError("Player.feed() before start()")
        if len(pcm) % 2:
            raise AudioFormatError(f"{len(pcm)} bytes is not a whole number of PCM16 samples")
        if rate <= 0:
            raise AudioFormatError(f"bad sample rate {rate}")
        resampler = self._resamplers.get(rate)
        if resampler is None:
            resampler = self._resamplers[rate] = PCMResampler(rate, self.rate)
        self._write(resampler.process(pcm))
        now = self._last_active = time.monotonic()
        self._adapt(now, len(pcm) / 2 / rate)
        if self._asleep and self._waking is None:
            self._wake()
        if now - self._last_log >= self._log_every_s:
            self._last_log = now
            log.debug("playback: %.0f ms buffered, playing=%s, %d underruns, %d overruns",
                      self.buffered_ms, self._playing, self.underruns, self.overruns)

    def mark_end(self) -> None:
        """The turn is over: play what is queued even if it is below the jitter target."""
        for resampler in self._resamplers.values():
            self._write(resampler.process(b"", last=True))
        self._resamplers.clear()
        self._end_at = self._ring.write_index
        self.jitter.new_talkspurt()

    def flush(self) -> None:
        """Drop everything queued, now (barge-in, ``interrupted``). Takes effect at the next callback."""
        self._ring.clear()
        self._resamplers.clear()
        self._flush_seq += 1
        self.jitter.new_talkspurt()

    def _adapt(self, now: float, seconds: float) -> None:
        """Tell the policy what arrived (and any underruns since); hand its target to the callback."""
        underruns = self._underruns
        for _ in range(underruns - self._underruns_seen):
            self.jitter.on_underrun(now)
        self._underruns_seen = underruns
        target_ms = self.jitter.on_arrival(now, seconds)
        target = max(1, int(self.rate * target_ms) // 1000)
        if target != self._target:
            log.debug("playback: jitter target %d -> %.0f ms", self._target * 1000 // self.rate, target_ms)
            self._target = target  # one int store: the callback reads it when it next (re)starts

    # -- idle: close the device when nothing plays, reopen on demand ---------------------------------

    def _arm_idle(self) -> None:
        if self._idle_close_s is not None and self._loop is not None and self._idle_handle is None:
            self._idle_handle = self._loop.call_later(self._idle_close_s, self._idle_check)

    def _idle_check(self) -> None:
        self._idle_handle = None
        if self._closing or self._asleep or self._stream is None or self._idle_close_s is None:
            return
        quiet = time.monotonic() - self._last_active
        if quiet < self._idle_close_s or self._playing or self._ring.available:
            # One check per idle period while audio flows: never a timer per block.
            self._idle_handle = self._loop.call_later(max(0.05, self._idle_close_s - quiet), self._idle_check)
            return
        with self._stream_lock:
            if self._watch is not None:
                self._watch.cancel()
                self._watch = None
            stream, self._stream = self._stream, None
        self._asleep = True
        log.debug("playback: idle for %.1f s, closing the speaker until audio comes", quiet)
        self._sleeping = self._loop.run_in_executor(None, close_stream, stream)

    def _wake(self) -> None:
        assert self._loop is not None
        self._waking = self._loop.create_task(self._reopen())

    async def _reopen(self) -> None:
        try:
            sleeping, self._sleeping = self._sleeping, None
            if sleeping is not None:
                await sleeping  # the old stream must be gone before a new one opens
            if self._closing:
                return
            try:
                await asyncio.to_thread(self._open_stream)
            except AudioDeviceError as exc:
                self._asleep, self._closing, self.error = False, True, str(exc)
                log.warning("%s", self.error)
                if self._on_error:
                    self._on_error(self.error)
                return
            self._asleep = False
            self._last_active = time.monotonic()
            self._arm_idle()
            log.debug("playback: speaker reopened, %.0f ms queued", self.buffered_ms)
        finally:
            self._waking = None

    def _write(self, pcm: bytes) -> None:
        if pcm:
            self._ring.write(np.frombuffer(pcm, dtype="<i2"))

    # -- PortAudio's thread ---------------------------------------------------------

    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        if status.output_underflow and self._playing:  # a gap in silence (the stream starting) costs nothing
            self._device_underflows += 1
        self._fill(outdata, frames)
        tap = self.far_end_tap
        if tap is not None:  # the echo canceller's far end: exactly what the device gets, silence included
            tap(outdata[:, 0], time_info.outputBufferDacTime)

    def _fill(self, outdata: np.ndarray, frames: int) -> None:
        try:
            self._blocks += 1
            out = outdata[:, 0]
            ring = self._ring
            if self._flush_seen != self._flush_seq:
                self._flush_seen = self._flush_seq
                self._playing = self._refilling = False
            if not self._playing:
                queued = ring.available
                ended = self._end_at == ring.write_index
                if queued >= self._target or (ended and queued > 0):
                    self._playing, self._refilling = True, False
                    self._start_depth = queued
                else:
                    if self._refilling and not ended:  # after the turn's end, silence is idle
                        self._stall += frames
                    out.fill(0)
                    return
            n = ring.read_into(out)
            self._played += n
            if n < frames:
                out[n:] = 0
                self._playing = False
                if self._end_at != ring.write_index and self._flush_seen == self._flush_seq:
                    self._underruns += 1
                    self._refilling = True
        except BaseException as exc:  # noqa: BLE001 - reported on the loop by _finished
            self._fault = exc
            outdata.fill(0)
            raise self._abort from None

    def _finished(self) -> None:
        if not self._closing and self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody to tell
                self._loop.call_soon_threadsafe(self._died)

    def _stalled(self) -> None:
        self._died(f"no callback for {self._stall_s:g} s")

    def _died(self, why: str = "") -> None:
        if self._closing or self._stream is None:
            return
        name = self._device.name if self._device else "?"
        if self._fault:
            why = repr(self._fault)
        why = why or "PortAudio ended the stream"
        self.error = (f"The speaker {name!r} stopped unexpectedly ({why}); "
                      "it may have been unplugged, or the sound server stopped")
        self._closing = True
        self._close_stream(timeout=0.2)
        self._playing = False
        log.warning("%s (%d underruns, %d overruns)", self.error, self.underruns, self.overruns)
        if self._on_error:
            self._on_error(self.error)

    def _close_stream(self, *, timeout: float = 1.0) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        stream, self._stream = self._stream, None
        if stream is not None and not close_stream(stream, timeout=timeout):
            log.warning("PortAudio did not stop the speaker stream; abandoning it")
