"""A private PulseAudio daemon with a virtual microphone and speaker, for tests.

Load it as a pytest plugin (``pytest_plugins = ["tests.pulse"]`` in ``tests/conftest.py``) and ask for the
session-scoped ``pulse`` fixture. It starts its own ``pulseaudio`` (no systemd, no dbus, works as root) in a
fresh runtime directory, so it never touches a sound server the developer already runs and two test runs on
one machine do not meet. The daemon has two null sinks:

* ``vd_speaker`` — the default sink: what the app plays ends up on ``vd_speaker.monitor``
  (:meth:`PulseServer.record_speaker` reads it back);
* ``vd_mic`` — its ``.monitor`` is the default source, the virtual microphone:
  :meth:`PulseServer.play_into_mic` plays into it.

PortAudio reaches the daemon through ALSA's ``pulse`` plugin (libasound2-plugins, a dependency of the
``pulseaudio`` package): the ``default`` and ``pulse`` ALSA devices. PortAudio lists devices only when it
initialises, so the fixture re-initialises it after the daemon is up (and again after it is gone).

Pitfalls handled (see shared/environment.md): an idle null sink renders in 2 s blocks, so one silent
low-latency ``pacat`` keeps playing into each sink; ``module-suspend-on-idle`` is unloaded if present; the
first record stream after a fresh daemon stalls, so a throw-away recording absorbs that.

Set ``VD_REQUIRE_AUDIO=1`` (e.g. in CI) to turn "no sound server can start here" from a skip into a failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

__all__ = ["MIC", "SPEAKER", "PulseServer", "Recording", "pulse", "pulse_available"]

SPEAKER = "vd_speaker"
MIC = "vd_mic"
SINK_RATE = 48000
PLAY_LATENCY_MS = 300
_TOOLS = ("pulseaudio", "pactl", "pacat", "parec")
_START_TIMEOUT = 10.0


def pulse_available() -> tuple[bool, str]:
    """Whether this machine can start a private PulseAudio daemon, and if not, why not."""
    missing = [tool for tool in _TOOLS if shutil.which(tool) is None]
    if missing:
        return False, (f"no sound server can start here: {', '.join(missing)} not found "
                       "(apt-get install pulseaudio pulseaudio-utils)")
    return True, ""


def _die_with_parent(argv: list[str]) -> list[str]:
    """Have Linux SIGTERM the child when this thread's process dies (util-linux ``setpriv``), so a killed
    test run leaves no daemon behind. Start long-lived children from a thread that lives as long."""
    return ["setpriv", "--pdeathsig", "TERM", *argv] if shutil.which("setpriv") else argv


class Recording:
    """A ``parec`` reading a monitor source in the background; :meth:`stop` returns the samples.

    A thread drains the pipe as data comes: a pipe holds only ~0.6 s of 48 kHz audio, after which parec
    would block and the server would drop what follows.
    """

    def __init__(self, proc: subprocess.Popen[bytes], rate: int) -> None:
        self._proc, self.rate = proc, rate
        self._data = bytearray()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        while block := self._proc.stdout.read1(65536):  # type: ignore[attr-defined]
            self._data += block

    def stop(self) -> np.ndarray:
        """End the recording; float32 samples in [-1, 1] at :attr:`rate`."""
        self._proc.terminate()
        self._proc.wait(timeout=5)
        self._reader.join(timeout=5)
        data = bytes(self._data[: len(self._data) // 2 * 2])
        return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


class PulseServer:
    """One private daemon: start it, drive its virtual mic and speaker, stop it."""

    def __init__(self, *, sink_rate: int = SINK_RATE) -> None:
        self.sink_rate = sink_rate
        self.dir = Path(tempfile.mkdtemp(prefix="vd-pulse-"))
        self.env = {
            "PULSE_RUNTIME_PATH": str(self.dir),
            "PULSE_STATE_PATH": str(self.dir / "state"),
            "PULSE_COOKIE": str(self.dir / "cookie"),
            "PULSE_SERVER": f"unix:{self.dir / 'native'}",
        }
        self._daemon: subprocess.Popen[bytes] | None = None
        self._keepalive: list[subprocess.Popen[bytes]] = []
        self._saved_env: dict[str, str | None] = {}
        self._plays = 0
        self._playing: list[subprocess.Popen[bytes]] = []

    # -- lifecycle ----------------------------------------------------------

    def start(self, *, absorb_first_record: bool = True) -> None:
        """Start the daemon with both sinks and point this process at it (``os.environ``, restored by
        :meth:`stop`); raise RuntimeError (with the daemon's log) if it fails."""
        log = open(self.dir / "daemon.log", "wb")  # noqa: SIM115 - the daemon keeps it
        sink = f"rate={self.sink_rate} channels=1"
        self._daemon = subprocess.Popen(_die_with_parent(
            ["pulseaudio", "--daemonize=no", "--system=false", "--exit-idle-time=-1", "-n",
             "--log-target=stderr", "--log-level=warning", "--disallow-exit=false",
             "-L", "module-native-protocol-unix auth-anonymous=1",
             "-L", f"module-null-sink sink_name={SPEAKER} {sink}",
             "-L", f"module-null-sink sink_name={MIC} {sink}"]),
            env={**os.environ, **self.env}, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + _START_TIMEOUT
        while self.pactl("info", check=False).returncode != 0:
            if self._daemon.poll() is not None or time.monotonic() > deadline:
                why = self.log() or "no output"
                self.stop()
                raise RuntimeError(f"pulseaudio did not start: {why}")
            time.sleep(0.05)
        self.pactl("set-default-sink", SPEAKER)
        self.pactl("set-default-source", f"{MIC}.monitor")
        self.pactl("unload-module", "module-suspend-on-idle", check=False)
        with open("/dev/zero", "rb") as zeros:
            for sink_name in (SPEAKER, MIC):
                self._keepalive.append(self._popen(_die_with_parent(
                    ["pacat", "--playback", f"--device={sink_name}", "--latency-msec=10", *self._raw(8000)]),
                    stdin=zeros))
        for key, value in self.env.items():
            self._saved_env[key] = os.environ.get(key)
            os.environ[key] = value
        if absorb_first_record:  # the first record stream after a fresh daemon stalls ~2 s: absorb it here
            self.record_speaker(0.1)

    def stop(self) -> None:
        """Stop keep-alive clients and the daemon (``pulseaudio -k``), restore the environment."""
        for proc in self._keepalive:
            proc.terminate()
        for proc in self._keepalive:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        self._keepalive.clear()
        if self._daemon is not None:
            subprocess.run(["pulseaudio", "-k"], env={**os.environ, **self.env},
                           capture_output=True, timeout=10, check=False)
            try:
                self._daemon.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._daemon.kill()
                self._daemon.wait(timeout=5)
            self._daemon = None
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()
        shutil.rmtree(self.dir, ignore_errors=True)

    def kill(self) -> None:
        """Kill the daemon abruptly, as a crash would (for tests of streams that die)."""
        if self._daemon is not None:
            self._daemon.kill()
            self._daemon.wait(timeout=5)

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.dir / "daemon.log").read_text(errors="replace").strip()[-2000:]
        return ""

    # -- helpers for tests ----------------------------------------------------

    def play_into_mic(self, audio: bytes | np.ndarray | str | Path, rate: int = 16000, *,
                      wait: bool = True) -> subprocess.Popen[bytes]:
        """Play into the virtual microphone: PCM16 mono bytes, float samples in [-1, 1], or a WAV file.

        With ``wait=False`` this returns at once; the returned process ends when it has been played.
        """
        if isinstance(audio, (str, Path)):
            with wave.open(str(audio), "rb") as wav:
                if wav.getsampwidth() != 2:
                    raise ValueError(f"{audio}: only PCM16 WAV files are supported")
                rate, channels = wav.getframerate(), wav.getnchannels()
                pcm = wav.readframes(wav.getnframes())
        else:
            channels = 1
            pcm = audio if isinstance(audio, bytes) else float_to_pcm(audio)
        # pacat reads a file, not a pipe fed by a Python thread, and keeps a deep buffer in the sound server:
        # fed through a pipe with a 20 ms buffer, a test process starved under CPU load underran and the sink
        # inserted silence mid-signal (seen: 60-300 ms gaps in a test tone, nothing lost by the capture).
        # The signal must reach the microphone whole; when it starts matters less.
        self._plays += 1
        source = self.dir / f"mic-{self._plays}.raw"
        source.write_bytes(pcm)
        proc = self._popen(["pacat", "--playback", f"--device={MIC}", f"--latency-msec={PLAY_LATENCY_MS}",
                            *self._raw(rate, channels), str(source)], stdin=subprocess.DEVNULL)
        self._playing = [*(p for p in self._playing if p.poll() is None), proc]
        if wait:
            proc.wait(timeout=len(pcm) / (2 * channels * rate) + 10)
        return proc

    def stop_playing(self) -> int:
        """End whatever :meth:`play_into_mic` still plays; how many were still playing. A phrase a test
        started and did not wait for would otherwise go on into the next test's open microphone."""
        left = [proc for proc in self._playing if proc.poll() is None]
        for proc in left:
            proc.terminate()
        for proc in left:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self._playing.clear()
        return len(left)

    def start_recording(self, rate: int = SINK_RATE, source: str = f"{SPEAKER}.monitor") -> Recording:
        """Record what the app plays (or any source) until :meth:`Recording.stop`."""
        proc = self._popen(["parec", f"--device={source}", "--latency-msec=10", *self._raw(rate)],
                           stdout=subprocess.PIPE)
        return Recording(proc, rate)

    def record_speaker(self, seconds: float, rate: int = SINK_RATE) -> np.ndarray:
        """Record ``seconds`` of what reaches the speaker; float32 samples at ``rate``."""
        proc = self._popen(["parec", f"--device={SPEAKER}.monitor", "--latency-msec=10", *self._raw(rate)],
                           stdout=subprocess.PIPE)
        assert proc.stdout is not None
        want, data = int(seconds * rate) * 2, bytearray()
        deadline = time.monotonic() + seconds + 10
        with contextlib.suppress(Exception):
            while len(data) < want and time.monotonic() < deadline:
                block = proc.stdout.read1(want - len(data))  # type: ignore[attr-defined]
                if not block:
                    break
                data += block
        proc.terminate()
        proc.communicate(timeout=5)
        return np.frombuffer(bytes(data), dtype="<i2").astype(np.float32) / 32768.0

    # -- internals ------------------------------------------------------------

    @staticmethod
    def _raw(rate: int, channels: int = 1) -> list[str]:
        return ["--raw", "--format=s16le", f"--rate={rate}", f"--channels={channels}"]

    def _popen(self, argv: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        return subprocess.Popen(argv, env={**os.environ, **self.env}, stderr=subprocess.DEVNULL,
                                **kwargs)  # type: ignore[call-overload]

    def pactl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        """Run ``pactl`` against this daemon (e.g. ``suspend-source vd_mic.monitor 1``)."""
        done = subprocess.run(["pactl", *args], env={**os.environ, **self.env}, capture_output=True,
                              timeout=10, check=False)
        if check and done.returncode:
            raise RuntimeError(f"pactl {' '.join(args)} failed: {done.stderr.decode(errors='replace')}")
        return done


def float_to_pcm(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 32767 / 32768) * 32768).astype("<i2").tobytes()


def _reinitialize_portaudio() -> None:
    with contextlib.suppress(Exception):
        from desktop.audio.devices import reinitialize

        reinitialize()


@pytest.fixture(scope="session")
def pulse_server() -> Iterator[PulseServer]:
    """A running private PulseAudio with ``vd_speaker`` (default sink) and ``vd_mic`` (its monitor is the
    default source); PortAudio is re-initialised so it lists them. Skips where no sound server can start."""
    ok, why = pulse_available()
    if not ok:
        if os.environ.get("VD_REQUIRE_AUDIO") == "1":
            pytest.fail(why)
        pytest.skip(why)
    server = PulseServer()
    try:
        server.start()
    except RuntimeError as exc:
        if os.environ.get("VD_REQUIRE_AUDIO") == "1":
            pytest.fail(str(exc))
        pytest.skip(f"no sound server can start here: {exc}")
    _reinitialize_portaudio()
    try:
        yield server
    finally:
        server.stop()
        _reinitialize_portaudio()


@pytest.fixture
def pulse(pulse_server: PulseServer) -> Iterator[PulseServer]:
    """The session's :func:`pulse_server`, with the microphone quiet again after the test: what the test
    played into it and did not wait for is stopped (the server is shared, the next test's mic is not)."""
    yield pulse_server
    pulse_server.stop_playing()
