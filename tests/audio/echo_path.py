"""The acoustic echo path between the virtual speaker and the virtual mic of the private PulseAudio.

:class:`EchoPath` makes what the app plays on ``vd_speaker`` come back on ``vd_mic`` — whose monitor is the
app's microphone — as a room would bring a laptop's speakers to its own mic: a direct path after a delay
and a few later, quieter reflections. Each path is a PulseAudio ``module-loopback`` with its own fixed
latency and volume, so the echo runs in the sound server's own real-time threads: a busy test process
cannot stretch or shift it. A near-end phrase played into ``vd_mic`` at the same time
(``PulseServer.play_into_mic``) is mixed in by PulseAudio: double talk.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from desktop.audio.aec import RECONVERGE_S  # past a speaker dropout AEC3 re-converges this long: not judged
from tests.pulse import MIC, SPEAKER, PulseServer

from .echo_room import REFLECTIONS

if TYPE_CHECKING:
    from desktop.audio.playback import Player

__all__ = ["NEAR_TEXT", "RECONVERGE_S", "REPLY_TEXT", "EchoPath", "RoomRun", "run_room"]

RATE = 16000


class EchoPath:
    """Speaker -> room -> mic until :meth:`stop`: the direct path ``delay_s`` late at ``gain`` (linear),
    then the reflections (ms after it, relative gain) of :data:`echo_room.REFLECTIONS`."""

    def __init__(self, pulse: PulseServer, *, delay_s: float = 0.12, gain: float = 0.5,
                 reflections: tuple[tuple[float, float], ...] = REFLECTIONS) -> None:
        self._pulse = pulse
        self._modules: list[str] = []
        self.delay_s = delay_s
        try:
            for after_ms, relative in ((0.0, 1.0), *reflections):
                self._add(delay_s * 1000 + after_ms, gain * abs(relative))
        except Exception:
            self.stop()
            raise

    def _add(self, latency_ms: float, gain: float) -> None:
        done = self._pulse.pactl("load-module", "module-loopback", f"source={SPEAKER}.monitor", f"sink={MIC}",
                                 f"latency_msec={max(1, round(latency_ms))}", "adjust_time=0",
                                 "source_dont_move=true", "sink_dont_move=true")
        module = done.stdout.decode().strip()
        self._modules.append(module)
        listing = self._pulse.pactl("list", "sink-inputs").stdout.decode()
        for block in listing.split("Sink Input #")[1:]:
            if re.search(rf"Owner Module: {module}\b", block):
                index = block.split(None, 1)[0]
                self._pulse.pactl("set-sink-input-volume", index, f"{20 * np.log10(gain):.2f}dB")
                return
        raise RuntimeError(f"module-loopback {module} has no sink input")

    def stop(self) -> None:
        for module in reversed(self._modules):
            with contextlib.suppress(Exception):
                self._pulse.pactl("unload-module", module)
        self._modules.clear()


REPLY_TEXT = ("Here is the forecast for the rest of the week. Tomorrow will be sunny and warm, with a light breeze "
              "from the west. On Thursday clouds move in from the coast, and by the evening there may be some rain. "
              "The weekend looks dry again, with temperatures climbing to twenty five degrees on Sunday.")
NEAR_TEXT = "Stop. What time is it in Paris?"


@dataclasses.dataclass
class RoomRun:
    """What the mic heard (``raw``) and what echo cancellation let through (``out``), 16 kHz float, and
    where the near-end phrase was started (a sample index into both)."""

    raw: np.ndarray
    out: np.ndarray
    near_at: int
    near_len: int
    reply_at: int
    cancel: bool
    stats: dict[str, float] = dataclasses.field(default_factory=dict)
    #: the speaker's underruns as the canceller saw them: (mic sample where the silence began, seconds)
    gaps: tuple[tuple[int, float], ...] = ()

    def disturbed(self, margin_s: float) -> list[slice]:
        """The stretches (mic samples) where the echo moved because the speaker dropped out: from each gap
        to its end plus ``margin_s`` (the room's delay and AEC3 re-converging). A window overlapping one
        judges the machine's load, not the canceller."""
        lead = int(0.1 * RATE)  # the two devices' times are matched to a few ms; a little before, to be sure
        return [slice(max(0, at - lead), at + int((seconds + margin_s) * RATE)) for at, seconds in self.gaps]

    def undisturbed(self, span: slice, margin_s: float) -> np.ndarray:
        """Per sample of ``span``: True where no :meth:`disturbed` stretch reaches."""
        keep = np.ones(span.stop - span.start, dtype=bool)
        for bad in self.disturbed(margin_s):
            keep[max(0, bad.start - span.start):max(0, bad.stop - span.start)] = False
        return keep

    def echo_only(self, converge_s: float = 2.5) -> slice:
        return slice(self.reply_at + int(converge_s * RATE), self.near_at - int(0.1 * RATE))

    def near(self) -> slice:
        return slice(self.near_at, self.near_at + self.near_len + int(0.2 * RATE))


async def run_room(pulse: PulseServer, *, cancel: bool = True, delay_s: float = 0.12,
                   near_after_s: float = 6.0, latency: float = 0.1,
                   while_near: Callable[[bytes, int, Player], None] | None = None) -> RoomRun:
    """Play a spoken reply on the virtual speaker through the room into the virtual mic, with a near-end
    phrase spoken over it after ``near_after_s``; return what the mic heard and what was sent on.
    ``latency``: the speaker stream's (seconds; 0.1 is what open mic with cancellation opens).
    ``while_near``: called on the loop, once the phrase has gone to the sound server, with each chunk the
    canceller lets through, the mic sample where that chunk ends and the player (a barge-in flushes it: the run
    then ends when the player is silent, not when the reply has played out)."""
    from desktop.audio.aec import EchoCanceller
    from desktop.audio.capture import Capture
    from desktop.audio.playback import Player

    from .echo_room import speak
    from .signals import wait_until

    reply = speak(REPLY_TEXT, 24000, voice="en-gb", pitch=35) * 0.7
    near = speak(NEAR_TEXT, RATE, voice="en-us", pitch=70) * 0.9  # the user, nearer the mic than the speaker
    raw: list[bytes] = []
    out: list[bytes] = []
    aec = EchoCanceller() if cancel else None
    player = Player(jitter_ms=60, latency=latency)
    near_sent = False

    def processor(chunk: bytes) -> bytes:
        raw.append(chunk)
        done = aec.process(chunk) if aec is not None else chunk
        out.append(done)
        if near_sent and while_near is not None:
            while_near(done, len(out) * 320, player)
        return done

    capture = Capture()
    path: EchoPath | None = None
    player.start()
    try:
        if aec is not None:
            player.far_end_tap = aec.far_end_tap(player.rate)
        capture.processor = processor
        capture.start(on_chunk=lambda chunk, level: None)
        if aec is not None:
            aec.set_latency(player.output_latency, capture.input_latency)
            capture.block_tap = aec.mic_tap(capture.rate)
            aec.reset(capture.chunks_since_start * 320)
        path = EchoPath(pulse, delay_s=delay_s)
        await wait_until(lambda: len(raw) >= 15, timeout=10, what="the mic running")
        reply_at = len(raw) * 320
        pcm = (np.clip(reply, -1, 1) * 32767).astype("<i2").tobytes()
        for i in range(0, len(pcm), 4800):
            player.feed(pcm[i:i + 4800], 24000)
        player.mark_end()
        near_chunks = len(raw) + int(near_after_s * 50)
        await wait_until(lambda: len(raw) >= near_chunks, timeout=near_after_s + 20, what="the reply playing")
        near_at = len(raw) * 320
        near_sent = True
        speaker = pulse.play_into_mic(near, RATE, wait=False)
        await asyncio.to_thread(speaker.wait, 30)
        await wait_until(lambda: not player.is_playing and player.buffered_ms == 0, timeout=60,
                         what="the reply stopped or played out")
        end = len(raw) + 25
        await wait_until(lambda: len(raw) >= end, timeout=10, what="the echo tail")
    finally:
        stats = {"player_underruns": player.underruns, "capture_overflows": capture.overflows,
                 "delay_hint_ms": aec.delay_hint_ms if aec else 0,
                 "far_gap_s": round(aec.far_gap_s, 3) if aec else 0,
                 "far_dropped": aec.far_dropped if aec else 0,
                 "aligned_frames": aec.aligned_frames if aec else 0, "frames": aec.frames if aec else 0}
        gaps = tuple((gap.mic_sample, gap.seconds) for gap in aec.far_gaps) if aec else ()
        capture.stop()
        player.close()
        if path is not None:
            path.stop()
    as_float = [np.frombuffer(b"".join(x), dtype="<i2").astype(np.float32) / 32768.0 for x in (raw, out)]
    return RoomRun(as_float[0], as_float[1], near_at, len(near), reply_at, cancel, stats, gaps)
