"""Echo cancellation for open mic on speakers: WebRTC's AEC3 through ``livekit.rtc.AudioProcessingModule``.

Why: with the mic open and the reply coming out of laptop speakers, the mic hears the assistant, the server
takes that for the user talking, and the reply interrupts itself. AEC3 subtracts what was played from what
the mic hears, so only the person remains.

How the two streams meet:

* **Far end = exactly what was written to the output device.** :class:`desktop.audio.playback.Player`
  calls the tap (:meth:`EchoCanceller.far_end_tap`) from its PortAudio callback with the block it just
  wrote, silence included. The tap only copies into a bounded :class:`SampleRing` (drop-oldest): no
  resampling, no FFI call, no lock on PortAudio's thread.
* **Near end = the mic, in the capture path.** :class:`desktop.audio.capture.Capture` hands each 20 ms
  chunk of 16 kHz PCM16 to :meth:`EchoCanceller.process` on the event loop before anyone sees it. That is
  where the far end is drained, resampled to 16 kHz (soxr, streaming), cut into 10 ms frames and given to
  ``process_reverse_stream``; then the mic chunk is split into two 10 ms frames for ``process_stream``.
  AEC3 only takes 10 ms frames.
* **Aligned by time, not by arrival**: both callbacks also stamp their blocks with PortAudio's clock (the
  speaker's DAC time, the mic's ADC time; copies only). Before each mic frame, AEC3 gets the far-end frames
  that reached the DAC by :data:`RENDER_LEAD_S` after that frame was captured. So neither the loop's nor the
  callbacks' jitter moves the echo as AEC3 sees it, and the lead keeps the far end ahead of its echo even
  when the sound server's timestamps err; AEC3's own delay estimator finds the rest (the room). Streams that
  give no times fall back to arrival order (at most :data:`MAX_RENDER_PER_FRAME` far-end frames per mic
  frame) with the measured stream latencies as ``set_stream_delay_ms``.
* **Gaps and drift**: when the speaker misses a deadline the sound server plays silence the far end does not
  have, and the room's echo comes that much later. The DAC time shows the gap; the same length of silence
  goes into the far end there (likewise for far-end audio the tap's ring dropped while the loop was held
  up). The devices' clocks drift slowly apart (~100 ppm); each side's timeline follows its own device,
  re-anchored whenever its stamps move more than a few ms, and a speaker closed while idle starts a new one.

Where livekit cannot load (an unusual platform, or the ``aec`` extra not installed), :func:`create` raises
:class:`EchoCancellerUnavailable` whose message says to use headphones; open mic keeps working without it.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from desktop.audio.dsp import PCMResampler
from desktop.audio.ring import SampleRing
from desktop.errors import VoiceDesktopError

__all__ = [
    "MAX_RENDER_PER_FRAME",
    "RENDER_LEAD_S",
    "FRAME_SAMPLES",
    "HEADPHONES_NOTICE",
    "RATE",
    "EchoCanceller",
    "EchoCancellerUnavailable",
    "FarEndGap",
    "create",
    "unavailable_reason",
]

log = logging.getLogger(__name__)

RATE = 16000  # the capture path's rate; AEC3 runs on it
FRAME_SAMPLES = RATE // 100  # 10 ms: the only frame size AEC3 accepts
FRAME_BYTES = FRAME_SAMPLES * 2
MAX_RENDER_PER_FRAME = 4  # far-end frames given to AEC3 per mic frame, at most (see _feed_far_end)
_FAR_END_CAPACITY_S = 2.0  # as long as the mic's ring: if the loop stalls, both sides lose the same audio
_MAX_PENDING = int(RATE * _FAR_END_CAPACITY_S)
RENDER_LEAD_S = 0.15  # far end given to AEC3 this far ahead of its DAC time (see _feed_far_end_until)
_MAX_CATCH_UP = 50  # far-end frames given to AEC3 before one mic frame, at most
_MAX_GAP_S = 0.5  # longer, and the speaker was closed (idle) rather than late: its timeline starts again
_GAP_S = 0.005  # a DAC time this much later than expected is an underrun's gap, not jitter
_GAPS_KEPT = 256  # the latest far-end gaps kept for inspection (EchoCanceller.far_gaps)
#: After a speaker underrun the echo moved: AEC3 needs this long past the gap to cancel it again. Measured on the
#: room of tests/audio/echo_path.py: even a 10 ms dropout can leave it at ~5 dB for up to ~2 s, then 50+ dB.
RECONVERGE_S = 2.5
HEADPHONES_NOTICE = ("Echo cancellation is unavailable ({why}): in open mic, use headphones, "
                     "or the assistant will hear itself on the speakers and interrupt its own replies.")


class EchoCancellerUnavailable(VoiceDesktopError):
    """livekit (WebRTC's audio processing) could not be loaded here; the message says what to do."""


def _load_rtc() -> Any:
    try:
        from livekit import rtc
    except Exception as exc:  # noqa: BLE001 - ImportError, or a native library that fails to load (OSError)
        why = ("the 'livekit' package is not installed: pip install 'voice-desktop[aec]'"
               if isinstance(exc, ImportError) else f"livekit could not load: {exc}")
        raise EchoCancellerUnavailable(HEADPHONES_NOTICE.format(why=why)) from exc
    return rtc


def unavailable_reason() -> str:
    """Empty when echo cancellation can run here; otherwise the notice to show (use headphones)."""
    try:
        _load_rtc()
    except EchoCancellerUnavailable as exc:
        return str(exc)
    return ""


def create(**options: Any) -> EchoCanceller:
    """An :class:`EchoCanceller`, or :class:`EchoCancellerUnavailable` if livekit cannot load here."""
    return EchoCanceller(**options)


@dataclasses.dataclass(frozen=True, slots=True)
class FarEndGap:
    """An underrun of the speaker, placed on the mic's timeline: where AEC3's echo suddenly moved.

    ``mic_sample``: 16 kHz mic samples since the capture started at which the silence began at the DAC
    (on the mic's clock, so the echo of what follows reaches the mic a room delay later); ``seconds``: how
    long the speaker played silence it was not given (over half a second: it was closed and reopened, and
    its timeline started again rather than being filled). Tests and benchmarks use it to tell a canceller that
    does not cancel from one re-converging after the machine made the speaker miss a deadline."""

    mic_sample: int
    seconds: float


class EchoCanceller:
    """AEC3 (+ noise suppression and high-pass; auto gain off) between one speaker and one mic.

    Use from the event loop: :meth:`far_end_tap` once the speaker is open (give the returned callable to
    ``Player.far_end_tap``), :meth:`mic_tap` for ``Capture.block_tap``, :meth:`set_latency` with both
    streams' latencies, :meth:`reset` when attaching, then :meth:`process` on every 20 ms mic chunk.
    Cheap: ~0.1 ms CPU per 10 ms frame.
    """

    def __init__(self, *, noise_suppression: bool = True, high_pass_filter: bool = True) -> None:
        rtc = _load_rtc()
        self._frame_type = rtc.AudioFrame
        try:
            self._apm = rtc.AudioProcessingModule(echo_cancellation=True, noise_suppression=noise_suppression,
                                                  high_pass_filter=high_pass_filter, auto_gain_control=False)
        except Exception as exc:  # noqa: BLE001 - the FFI library loads lazily, on first use
            raise EchoCancellerUnavailable(HEADPHONES_NOTICE.format(why=f"livekit could not start: {exc}")) from exc
        self._far: SampleRing | None = None
        self._tap: _FarEndTap | None = None
        self._anchor: tuple[float, int] | None = None  # the last (DAC time, ring index) stamp seen
        self._far_rate = 0
        self._resampler: PCMResampler | None = None
        self._far_pending = np.zeros(0, dtype=np.int16)
        self._delay_ms = 0
        self._mic_tap: _StampTap | None = None
        self._mic_rate = 0
        self._mic_anchor: tuple[float, int] | None = None  # (ADC time, mic ring index)
        self._mic_pos = 0  # 16 kHz mic samples since the capture started (chunks before reset included)
        self._far_t0: float | None = None  # DAC time of _far_pending[0]
        self.aligned_frames = 0  # mic frames whose far end was chosen by time (the rest: by count)
        self.frames = 0  # mic frames processed
        self.far_frames = 0  # far-end frames given to AEC3 (gap silence included)
        self.far_gap_s = 0.0  # seconds of silence put where the speaker underran
        self.far_dropped = 0  # far-end samples the tap's ring dropped (replaced by silence, same length)
        self._gaps: collections.deque[FarEndGap] = collections.deque(maxlen=_GAPS_KEPT)

    # -- set-up (loop thread) -----------------------------------------------------------

    def far_end_tap(self, rate: int) -> Callable[[np.ndarray, float], None]:
        """The callable the speaker's PortAudio callback gives each block it wrote (int16 mono at ``rate``)
        and the block's DAC time. It only copies into bounded rings. A new tap (speaker) replaces the old."""
        tap = _FarEndTap(rate)
        ring = tap.samples
        self._tap, self._far, self._far_rate = tap, ring, rate
        self._anchor = None
        self._resampler = PCMResampler(rate, RATE, quality="LQ")
        self._far_pending = np.zeros(0, dtype=np.int16)
        return tap

    def mic_tap(self, rate: int) -> Callable[[float, int], None]:
        """The callable the mic's PortAudio callback gives each block's ADC time and ring index (the mic
        stream runs at ``rate``). With both taps, far-end frames go to AEC3 in step with the mic frames that
        were captured when they played, whatever the loop's or the callbacks' jitter."""
        tap = _StampTap()
        self._mic_tap, self._mic_rate, self._mic_anchor = tap, rate, None
        return tap

    def detach(self) -> None:
        """The speaker is gone: no far end from now on."""
        self._far = self._tap = self._mic_tap = None

    def set_latency(self, output_s: float, input_s: float) -> None:
        """The measured stream latencies (seconds), passed to AEC3 as its delay hint."""
        self._delay_ms = int(min(500.0, max(0.0, (output_s + input_s) * 1000.0)))

    @property
    def delay_hint_ms(self) -> int:
        return self._delay_ms

    @property
    def far_gaps(self) -> tuple[FarEndGap, ...]:
        """The speaker's underruns since :meth:`reset` (the latest few hundred), oldest first."""
        return tuple(self._gaps)

    @property
    def settling(self) -> bool:
        """True while AEC3 re-converges after the latest speaker underrun: its echo may leak through, loud
        enough to sound like speech. (A speaker that was closed and reopened is a new timeline, not counted.)"""
        for gap in reversed(self._gaps):
            if gap.seconds <= _MAX_GAP_S:
                return self._mic_pos < gap.mic_sample + (gap.seconds + RECONVERGE_S) * RATE
        return False

    def reset(self, mic_samples_before: int = 0) -> None:
        """Start afresh: forget far-end audio that piled up. ``mic_samples_before``: 16 kHz samples the mic
        delivered since it started, before the next :meth:`process` (for its timeline)."""
        if self._tap is not None:
            for ring in (self._tap.samples, self._tap.stamps):
                ring.clear()
                ring.read(0)  # apply the clear now, on the reading side
        self._anchor = self._far_t0 = None
        self._mic_pos = mic_samples_before
        self._far_pending = np.zeros(0, dtype=np.int16)
        self.frames = self.far_frames = 0
        self._gaps.clear()

    # -- the capture path (loop thread) -------------------------------------------------------

    def process(self, chunk: bytes) -> bytes:
        """Cancel the echo in one mic chunk (PCM16 16 kHz, a whole number of 10 ms frames); same size out."""
        if len(chunk) % FRAME_BYTES:
            raise ValueError(f"echo cancellation needs whole 10 ms frames, not {len(chunk)} bytes")
        self._take_far_end()
        self._take_mic_stamps()
        out = bytearray()
        for start in range(0, len(chunk), FRAME_BYTES):
            captured = self._mic_time()
            if captured is not None and self._far_t0 is not None:
                self._feed_far_end_until(captured)
                self.aligned_frames += 1
                delay = 0  # aligned here: what is left is the room's own delay, for AEC3 to find
            else:
                self._feed_far_end()
                delay = self._delay_ms
            frame = self._frame_type(bytearray(chunk[start:start + FRAME_BYTES]), RATE, 1, FRAME_SAMPLES)
            self._apm.set_stream_delay_ms(delay)
            self._apm.process_stream(frame)
            self.frames += 1
            self._mic_pos += FRAME_SAMPLES
            out += frame.data.cast("B")
        return bytes(out)

    def _take_mic_stamps(self) -> None:
        tap = self._mic_tap
        if tap is None:
            return
        rate = self._mic_rate
        for adc, index in tap.stamps.read().reshape(-1, 2):
            if adc <= 0:
                continue  # a host API that gives no times: stay on counts
            if self._mic_anchor is None:
                self._mic_anchor = (float(adc), int(index))
                continue
            deviation = adc - (self._mic_anchor[0] + (index - self._mic_anchor[1]) / rate)
            if abs(deviation) > _GAP_S:  # an overflow, or the clocks drifted apart: follow the device
                self._mic_anchor = (float(adc), int(index))

    def _mic_time(self) -> float | None:
        """When the next mic frame's first sample was at the ADC, on PortAudio's clock."""
        if self._mic_anchor is None:
            return None
        raw_index = self._mic_pos * self._mic_rate / RATE
        return self._mic_anchor[0] + (raw_index - self._mic_anchor[1]) / self._mic_rate

    def _on_mic_timeline(self, when: float) -> int:
        """The mic sample (16 kHz, since the capture started) captured at PortAudio time ``when``; without
        mic stamps, the mic's current position (arrival order, as the far end is then fed)."""
        if self._mic_anchor is None:
            return self._mic_pos
        adc, index = self._mic_anchor
        return int(round((index + (when - adc) * self._mic_rate) * RATE / self._mic_rate))

    def _feed_far_end_until(self, captured: float) -> None:
        """Give AEC3 every far-end frame that reached the DAC by :data:`RENDER_LEAD_S` after this mic frame was
        captured. Its echo is in this frame or later ones, never earlier; the lead keeps that true when the
        timestamps err (a sound server's delay reports are coarse), at the cost of AEC3 searching a longer
        delay, which it does by itself."""
        assert self._far_t0 is not None
        pending = self._far_pending
        fed = 0
        due = captured + RENDER_LEAD_S
        while (fed + 1) * FRAME_SAMPLES <= len(pending) and self._far_t0 <= due and fed < _MAX_CATCH_UP:
            self._render(pending[fed * FRAME_SAMPLES:(fed + 1) * FRAME_SAMPLES])
            self._far_t0 += FRAME_SAMPLES / RATE
            fed += 1
        self._far_pending = pending[fed * FRAME_SAMPLES:]

    def _take_far_end(self) -> None:
        tap, resampler = self._tap, self._resampler
        if tap is None or resampler is None:
            return
        ring = tap.samples
        dropped = ring.dropped
        stamps = tap.stamps.read()  # first: every stamp read describes samples already written
        samples = ring.read()
        start = ring.read_index - len(samples)
        lost = ring.dropped - dropped
        if lost:  # the loop came too late and the ring dropped the oldest: keep the timeline with silence
            samples = np.concatenate((np.zeros(lost, dtype=np.int16), samples))
            self.far_dropped += lost
            start -= lost
        if samples.size:
            taken = len(samples)  # ring indices start .. start + taken; gap silence is not in the ring
            samples = self._fill_gaps(samples, start, stamps)
            pcm = np.frombuffer(resampler.process(samples.tobytes()), dtype=np.int16)
            pending = np.concatenate((self._far_pending, pcm)) if self._far_pending.size else pcm
            self._far_pending = pending[-_MAX_PENDING:]  # bounded: a mic that stopped leaves no backlog
            if self._anchor is not None and self._anchor[0] > 0:
                end = self._anchor[0] + (start + taken - self._anchor[1]) / self._far_rate
                self._far_t0 = end - len(self._far_pending) / RATE

    def _fill_gaps(self, samples: np.ndarray, start: int, stamps: np.ndarray) -> np.ndarray:
        """Put silence where the speaker played none: an underrun shows as a DAC time later than the audio
        written before it accounts for, and the room's echo is that much later too.

        ``start`` is the ring index of ``samples[0]``; each stamp is (DAC time, ring index of its block)."""
        rate = self._far_rate
        pieces, done = [], 0
        for dac, index in stamps.reshape(-1, 2):
            if self._anchor is None:
                self._anchor = (float(dac), int(index))
                continue
            # Measured against one anchor, not the previous block: DAC times jitter by a few ms each way.
            deviation = dac - (self._anchor[0] + (index - self._anchor[1]) / rate)
            if _GAP_S < deviation <= _MAX_GAP_S:  # a stamp for samples taken last time: applied a block late
                at = min(len(samples), max(done, int(index) - start))
                pieces += [samples[done:at], np.zeros(int(deviation * rate), dtype=np.int16)]
                done = at
                self.far_gap_s += deviation
            if deviation > _GAP_S:  # filled or (longer: the speaker reopened) a new timeline: the echo moved
                self._gaps.append(FarEndGap(self._on_mic_timeline(float(dac) - deviation), float(deviation)))
            if abs(deviation) > _GAP_S:
                self._anchor = (float(dac), int(index))
        pieces.append(samples[done:])
        return np.concatenate(pieces) if len(pieces) > 1 else samples

    def _feed_far_end(self) -> None:
        """Give AEC3 the far end that arrived, at most :data:`MAX_RENDER_PER_FRAME` frames per mic frame.

        In steady state that is everything (about one frame per mic frame, in 20 ms bursts). When the loop
        was held up, both sides arrive as a backlog; the cap interleaves them again, instead of handing AEC3
        a second of far end at once ahead of the matching mic audio."""
        pending = self._far_pending
        whole = min(len(pending) // FRAME_SAMPLES, MAX_RENDER_PER_FRAME)
        for i in range(whole):
            self._render(pending[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES])
        self._far_pending = pending[whole * FRAME_SAMPLES:]

    def _render(self, frame: np.ndarray) -> None:
        self._apm.process_reverse_stream(self._frame_type(bytearray(frame.tobytes()), RATE, 1, FRAME_SAMPLES))
        self.far_frames += 1


class _StampTap:
    """Called on the mic's PortAudio thread: copies the block's (ADC time, first sample's ring index)."""

    def __init__(self) -> None:
        self.stamps = SampleRing(2 * 512, np.float64)
        self._stamp = np.zeros(2, dtype=np.float64)  # preallocated: the callback allocates nothing

    def __call__(self, adc_time: float, index: int) -> None:
        self._stamp[0] = adc_time
        self._stamp[1] = index
        self.stamps.write(self._stamp)


class _FarEndTap:
    """Called on PortAudio's thread: copies the block and its (DAC time, first sample index) stamp."""

    def __init__(self, rate: int) -> None:
        self.samples = SampleRing(max(FRAME_SAMPLES, int(rate * _FAR_END_CAPACITY_S)), np.int16)
        self.stamps = SampleRing(2 * 512, np.float64)  # pairs; 512 blocks, more than the samples ring holds
        self._stamp = np.zeros(2, dtype=np.float64)  # preallocated: the callback allocates nothing

    def __call__(self, block: np.ndarray, dac_time: float) -> None:
        self._stamp[0] = dac_time
        self._stamp[1] = self.samples.write_index
        self.stamps.write(self._stamp)
        self.samples.write(block)
