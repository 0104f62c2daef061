"""The adaptive jitter buffer's policy: how much audio to queue before playing, from when audio arrived.

Pure (no devices, no clock of its own: every time is passed in), so it is tested by feeding arrival times.
:class:`~desktop.audio.playback.Player` calls it on the loop side and hands the resulting target to its
callback as one integer; the callback never runs any of this.

Why this shape:

* **Lateness against the media clock.** Within a talkspurt (a reply, or one spoken turn echoed back) each
  chunk carries ``duration`` seconds of audio. Chunk *i* "should" arrive at ``base + media_time_i``; its
  lateness is how much later than the best-so-far schedule it came (``arrival - media_time - min(...)``).
  A server that sends faster than real time is never late (the buffer just fills); a jittery link makes
  some chunks late by up to its jitter, and that is exactly the depth that would have avoided a gap.
* **Grow at once, shrink slowly.** The target follows the largest lateness seen in the last
  ``window_s`` seconds plus ``margin_ms``; an underrun grows it by ``underrun_step_ms`` on top. It drops
  back in ``shrink_step_ms`` steps a second only after ``calm_s`` without an underrun or a chunk later than
  the target covered, so one quiet second does not undo what a bad minute taught. Always within
  ``[min_ms, max_ms]``.
* **When it applies.** The player starts (and restarts after an underrun) on the target, so a new target
  takes effect as the next reply starts playing; a reply already playing keeps its depth (no audio is cut
  or sped up to shed latency mid-sentence).
* **New talkspurt, new base.** :meth:`JitterPolicy.new_talkspurt` (turn ended, barge-in, a long pause)
  restarts the media clock; what was learnt about the link (the target, the recent lateness) is kept.
"""

from __future__ import annotations

import collections
import dataclasses

__all__ = ["JitterPolicy", "JitterStats"]


@dataclasses.dataclass(frozen=True, slots=True)
class JitterStats:
    target_ms: float
    peak_target_ms: float
    late_ms: float  # the largest lateness in the current window
    grows: int
    shrinks: int
    underruns: int


class JitterPolicy:
    """Decide the jitter target (ms) from arrivals (``on_arrival``) and underruns (``on_underrun``)."""

    def __init__(
        self,
        *,
        initial_ms: float = 60.0,
        min_ms: float = 40.0,
        max_ms: float = 400.0,
        margin_ms: float = 20.0,
        underrun_step_ms: float = 40.0,
        shrink_step_ms: float = 20.0,
        window_s: float = 4.0,
        calm_s: float = 3.0,
        pause_s: float = 2.0,
    ) -> None:
        if not 0 < min_ms <= max_ms:
            raise ValueError(f"need 0 < min_ms <= max_ms, not {min_ms}..{max_ms}")
        self.min_ms, self.max_ms = min_ms, max_ms
        self.margin_ms = margin_ms
        self.underrun_step_ms = underrun_step_ms
        self.shrink_step_ms = shrink_step_ms
        self.window_s, self.calm_s, self.pause_s = window_s, calm_s, pause_s
        self._target = self._clamp(initial_ms)
        self._peak_target = self._target
        # (arrival, lateness ms > 0) in the window, each later than and less late than the one before: only the
        # largest is ever needed, so an entry outdone by a later one goes (a sliding maximum: O(1) a chunk,
        # not a pass over the window's ~500 chunks 50 times a second).
        self._late: collections.deque[tuple[float, float]] = collections.deque()
        self._media = 0.0  # seconds of audio that arrived in this talkspurt
        self._base: float | None = None  # min(arrival - media time) in this talkspurt
        self._last_arrival: float | None = None
        self._last_trouble = -1e12  # a late chunk or an underrun (long ago: calm from the start)
        self._last_shrink = -1e12
        self._floor = self.min_ms  # underruns raise the floor the lateness target sits on; it decays too
        self.grows = self.shrinks = self.underruns = 0

    # -- reading ---------------------------------------------------------------------------------

    @property
    def target_ms(self) -> float:
        return self._target

    def stats(self) -> JitterStats:
        late = self._latest_max()
        return JitterStats(self._target, self._peak_target, late, self.grows, self.shrinks, self.underruns)

    # -- events ----------------------------------------------------------------------------------

    def new_talkspurt(self) -> None:
        """The media clock restarts (turn over, flushed, or a pause): the next chunk sets a new base."""
        self._media, self._base = 0.0, None

    def on_arrival(self, now: float, duration_s: float) -> float:
        """``duration_s`` of audio arrived at ``now`` (seconds, any monotonic origin); returns the target."""
        if self._last_arrival is not None and now - self._last_arrival > self.pause_s:
            self.new_talkspurt()  # a pause, not jitter: the link was idle
        self._last_arrival = now
        offset = now - self._media
        self._media += max(0.0, duration_s)
        if self._base is None or offset < self._base:
            self._base = offset
        late_ms = (offset - self._base) * 1000
        if late_ms > 0:
            while self._late and self._late[-1][1] <= late_ms:
                self._late.pop()
            self._late.append((now, late_ms))
        self._forget(now)
        if late_ms + self.margin_ms >= self._target:
            # Only lateness the target could not cover delays shrinking; smaller wobble (a busy machine's
            # scheduling) is already bounded by the window's maximum.
            self._last_trouble = now
        self._settle(now)
        return self._target

    def on_underrun(self, now: float) -> float:
        """The buffer ran dry mid-talkspurt: grow now, whatever the arrivals said."""
        self.underruns += 1
        self._last_trouble = now
        self._floor = min(self.max_ms, max(self._floor, self._target) + self.underrun_step_ms)
        self._settle(now)
        return self._target

    def tick(self, now: float) -> float:
        """Let the target shrink when nothing arrives (call now and then while the link is quiet)."""
        self._forget(now)
        self._settle(now)
        return self._target

    # -- policy ----------------------------------------------------------------------------------

    def _forget(self, now: float) -> None:
        while self._late and now - self._late[0][0] > self.window_s:
            self._late.popleft()

    def _settle(self, now: float) -> None:
        # One step a second once calm: latency comes back gradually, and a relapse stops it at once.
        # Steps owed since the last one are taken together, so a reply after a quiet minute starts low.
        steps = 0
        first = max(self._last_trouble + self.calm_s, self._last_shrink + 1.0)
        if now >= first:
            steps = min(10_000, int(now - first) + 1)
            self._last_shrink = first + steps - 1
            self._floor = max(self.min_ms, self._floor - steps * self.shrink_step_ms)
        late = self._latest_max()
        wanted = self._clamp(max(self._floor, late + self.margin_ms))
        if wanted > self._target:
            self._target = wanted
            self.grows += 1
            self._peak_target = max(self._peak_target, wanted)
        elif wanted < self._target and steps:
            self._target = max(wanted, self._target - steps * self.shrink_step_ms)
            self.shrinks += 1

    def _latest_max(self) -> float:
        """The largest lateness in the window (ms), 0 if none."""
        return self._late[0][1] if self._late else 0.0

    def _clamp(self, ms: float) -> float:
        return min(self.max_ms, max(self.min_ms, ms))
