"""(f) Mouth-to-ear: a click into the microphone until it comes out of the speaker, through the real app.

The real app (``python -m bench._app_probe ... hold``, which runs ``desktop.app.main`` with the embedded ``echo``
server) holds the talk key while this test plays a train of clicks into the virtual microphone of
``tests/pulse.py`` (null sink ``vd_mic``, whose monitor is the app's default input). The app captures them,
sends them to its embedded server, which echoes them back, and plays the echo on the virtual speaker (null sink
``vd_speaker``, the default output). Mouth-to-ear per click = when it left the speaker - when it entered the mic.

**One clock.** Both ends are recorded in ONE stream, so no two clocks, processes or buffers need reconciling: a
third null sink ``vd_probe`` with two channels gets ``vd_mic.monitor`` on its left channel and
``vd_speaker.monitor`` on its right one, through two ``module-loopback``s with the same fixed latency
(``adjust_time=0``: no rate adjustment moves one channel against the other), and one ``parec`` records
``vd_probe.monitor``. Left = what the microphone delivered, right = what the speaker rendered, on one timeline;
both loopbacks add the same delay, which cancels in the difference. The test checks that the channels are
separate (each click on the left only, no echo there), and it checks the method first: with a PulseAudio
loopback of known latency (``WIRE_MS``) from the mic to the speaker in the app's place, the probe should read
that latency (seen: 100.0 ms for each click, also with both cores busy); it prints what it read beside the figure.
PulseAudio's own latency reports (``pactl list sink-inputs``) are snapshots of queues filled in blocks, off by a
few ms either way; the probe reads them only to wait until its loopbacks have settled.

**Reading the figure.** While the key is held the echo streams without a gap, so each click sees the same
path; the jitter buffer fills once, at the start. An underrun in the player (the table shows how many) makes
it refill, deeper than its target, and every click after it is later by that much for the rest of the hold:
the per-click row shows such a step. That is what a user would hear too, so it stays in the figure. (Seen on
a 2-core machine: ~150-165 ms per click until the first underrun, ~205-225 ms after it; most holds had one.)

**Included** in the figure: the capture stream's buffer (PulseAudio + the ALSA ``pulse`` plugin + PortAudio)
and its 20 ms block, resampling to 16 kHz, the codec, the local WebSocket, the embedded server, the echo
processor (resampling to 24 kHz), the player's jitter buffer (60 ms by default, more if it adapted to
underruns) and resampling, and the output stream's latency down to the moment the sink renders the sample.
**Not included**: a real room and real hardware (the ADC/DAC and a sound card's DMA buffers, Bluetooth), and a
real model's thinking: this is the floor the app itself adds.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.isolation import home_env
from tests.pulse import MIC, SPEAKER, PulseServer, Recording
from tests.soak._support import percentile, table

from . import _results
from .test_app_figures import display  # noqa: F401 - the fixture: Xvfb when installed, else offscreen

pytestmark = pytest.mark.bench

ROOT = Path(__file__).parent.parent
PROBE = "vd_probe"
PROBE_RATE = 48000
LOOPBACK_MS = 40  # room for a busy CPU: a loopback that underran would shift its channel against the other
CLICKS = 20
CLICK_GAP_SECONDS = 0.6
CLICK_SECONDS = 0.005
CLICK_HZ = 1000.0  # well inside the 16 kHz capture's band: the echo keeps the click's level and shape
CLICK_LEVEL = 0.5
ONSET_LEVEL = CLICK_LEVEL / 4  # digital silence elsewhere: a quarter of the click is far above anything else
ONSET_REFRACTORY_SECONDS = 0.2  # one onset per click: its own ringing after the resamplers is shorter
# Shorter than the gap, so a window holds one echo at most. A latency above the gap could pair a click with the
# echo of the one before it: the first click (nothing played before it) is checked against that.
PAIR_WINDOW_SECONDS = 0.55
LEAD_IN_SECONDS = 1.5  # the echo of silence has started the player (and the recording runs) before the 1st click
TAIL_SECONDS = 1.0  # the last click's echo
START_TIMEOUT = 60.0
SEPARATE_WITHIN_SECONDS = 0.002
SETTLE_TIMEOUT = 15.0
WIRE_MS = 100  # the known latency the method is checked against
CHECK_CLICKS = 5


def _click_train(clicks: int) -> np.ndarray:
    """``clicks`` bursts of a 1 kHz sine, ``CLICK_GAP_SECONDS`` apart, as one signal: one ``pacat`` plays them
    all, so no player start-up falls between two clicks (the spacing does not matter to the figure anyway)."""
    t = np.arange(int(CLICK_SECONDS * PROBE_RATE)) / PROBE_RATE
    click = CLICK_LEVEL * np.sin(2 * np.pi * CLICK_HZ * t)  # starts at full slope: a sharp onset
    period = np.zeros(int(CLICK_GAP_SECONDS * PROBE_RATE), dtype=np.float32)
    period[: click.size] = click
    return np.tile(period, clicks)


# -- the one-clock probe --------------------------------------------------------------------------------------

def _loopback_latencies_ms(pulse: PulseServer, modules: dict[str, str]) -> dict[str, float]:
    """What PulseAudio says each loopback (end -> module index) delays its audio by now (its queue + the probe
    sink), in ms; from one listing, so both are read at about the same instant."""
    listing = pulse.pactl("list", "sink-inputs").stdout.decode(errors="replace")
    latencies = dict.fromkeys(modules, float("nan"))
    for block in listing.split("Sink Input #")[1:]:
        owner = re.search(r"Owner Module: (\d+)", block)
        buffered = re.search(r"Buffer Latency: (\d+) usec", block)
        sink = re.search(r"Sink Latency: (\d+) usec", block)
        for end, module in modules.items():
            if owner and owner[1] == module and buffered and sink:
                latencies[end] = (int(buffered[1]) + int(sink[1])) / 1000
    return latencies


def wait_settled(pulse: PulseServer, loopbacks: dict[str, str], latency_ms: int) -> None:
    """Wait until each loopback (name -> module index) delays by about ``latency_ms``. A new null sink starts
    idle, rendering in 2 s blocks, and loopbacks into it start behind that (seen: ~2 s, 13 ms apart) until their
    low latency takes over: clicks before then would meet other delays than the ones measured after."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while time.monotonic() < deadline:
        latencies = _loopback_latencies_ms(pulse, loopbacks).values()
        if all(latency <= 2 * latency_ms for latency in latencies):  # NaN (not listed yet) is not
            return
        time.sleep(0.05)
    raise RuntimeError(f"loopbacks did not settle within {SETTLE_TIMEOUT:.0f} s: "
                       f"{_loopback_latencies_ms(pulse, loopbacks)} ms")


class Probe:
    """The two-channel recording of mic (left) and speaker (right) on one timeline; see the module docstring."""

    def __init__(self, pulse: PulseServer) -> None:
        self.pulse = pulse
        self.modules: list[str] = []
        self.loopbacks: dict[str, str] = {}  # "mic" / "speaker" -> module index
        self.recording: Recording | None = None

    def start(self) -> None:
        self.load("module-null-sink", f"sink_name={PROBE}", "channels=2", f"rate={PROBE_RATE}",
                   "channel_map=front-left,front-right")
        for end, source, channel in (("mic", f"{MIC}.monitor", "front-left"),
                                     ("speaker", f"{SPEAKER}.monitor", "front-right")):
            # A mono stream mapped to one position of a stereo sink reaches that channel only (check_probe).
            self.loopbacks[end] = self.load(
                "module-loopback", f"source={source}", f"sink={PROBE}", f"latency_msec={LOOPBACK_MS}",
                "adjust_time=0", "channels=1", f"channel_map={channel}", f"rate={PROBE_RATE}",
                "source_dont_move=true", "sink_dont_move=true")
        proc = subprocess.Popen(["parec", f"--device={PROBE}.monitor", "--latency-msec=10", "--raw",
                                 "--format=s16le", f"--rate={PROBE_RATE}", "--channels=2"],
                                env={**os.environ, **self.pulse.env}, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
        self.recording = Recording(proc, PROBE_RATE)
        wait_settled(self.pulse, self.loopbacks, LOOPBACK_MS)

    def stop(self) -> np.ndarray:
        """End the recording; (frames, 2) float samples, left = mic, right = speaker."""
        assert self.recording is not None
        samples = self.recording.stop()
        self.recording = None
        return samples[: samples.size // 2 * 2].reshape(-1, 2)

    def unload(self) -> None:
        """Leave the daemon as it was: recording stopped, the loopbacks and the probe sink gone."""
        if self.recording is not None:
            with contextlib.suppress(Exception):
                self.recording.stop()
            self.recording = None
        for module in reversed(self.modules):
            self.pulse.pactl("unload-module", module, check=False)
        self.modules.clear()

    def load(self, *args: str) -> str:
        """Load a module that :meth:`unload` unloads; its index."""
        index = self.pulse.pactl("load-module", *args).stdout.decode().strip()
        self.modules.append(index)
        return index


@contextlib.contextmanager
def probe(pulse: PulseServer) -> Iterator[Probe]:
    recorder = Probe(pulse)
    try:
        recorder.start()
        yield recorder
    finally:
        recorder.unload()


# -- the app, holding the talk key ------------------------------------------------------------------------------

class HoldingApp:
    """The real app in a subprocess (``bench._app_probe`` mode ``hold``): it presses the talk key and holds it
    until :meth:`release` closes its stdin; stdout is read by a thread, so a silent app cannot hang the test."""

    def __init__(self, display_env: dict[str, str], pulse: PulseServer, home: str) -> None:
        env = {**os.environ, **display_env, **pulse.env, **home_env(Path(home))}
        argv = [sys.executable, "-m", "bench._app_probe", repr(time.time()), "hold", "--processor", "echo",
                "--settings", str(Path(home) / "settings.ini")]
        self.log_path = Path(home) / "app.log"
        self._stderr = open(self.log_path, "wb")  # noqa: SIM115 - closed in release()
        self.marks: dict | None = None  # the app's last JSON line, once released
        self.proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr, text=True)
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, name="app-stdout", daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.strip())
        self._lines.put(None)

    def wait_holding(self, timeout: float) -> None:
        """Return once the app holds the key and its microphone delivers blocks; RuntimeError otherwise."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                raise RuntimeError(f"the app ended before holding the talk key:\n{self.log()}")
            if line.startswith("{") and json.loads(line).get("holding"):
                return
        raise RuntimeError(f"the app did not hold the talk key within {timeout:.0f} s:\n{self.log()}")

    def release(self, timeout: float = 30.0) -> dict:
        """Release the key, let the app quit (killed if it does not); its last JSON line (the devices'
        figures), {} if none. Idempotent."""
        if self.marks is not None:
            return self.marks
        with contextlib.suppress(OSError):
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        marks: dict = {}
        with contextlib.suppress(queue.Empty):
            while (line := self._lines.get(timeout=5)) is not None:
                if line.startswith("{"):
                    marks = json.loads(line)
        self._stderr.close()
        self.marks = marks
        return marks

    def log(self) -> str:
        """The end of the app's stderr (its log)."""
        if not self._stderr.closed:
            self._stderr.flush()
        return self.log_path.read_text(errors="replace")[-3000:]


@contextlib.contextmanager
def holding_app(display_env: dict[str, str], pulse: PulseServer) -> Iterator[HoldingApp]:
    with tempfile.TemporaryDirectory(prefix="vd-m2e-") as home:
        app = HoldingApp(display_env, pulse, home)
        try:
            yield app
        finally:
            app.release()


# -- analysis ---------------------------------------------------------------------------------------------------

def onsets(channel: np.ndarray, rate: int) -> np.ndarray:
    """The times (s) at which each click starts: the first sample above ``ONSET_LEVEL`` after a quiet
    ``ONSET_REFRACTORY_SECONDS``. A threshold on the sample magnitude: the burst starts at full slope, so it
    crosses within ~0.05 ms of its first sample, the same on both ends."""
    loud = np.flatnonzero(np.abs(channel) >= ONSET_LEVEL)
    if loud.size == 0:
        return np.empty(0)
    first = loud[np.r_[True, np.diff(loud) > ONSET_REFRACTORY_SECONDS * rate]]
    return first / rate


def pair(mic: np.ndarray, speaker: np.ndarray) -> list[float]:
    """Each mic click's delay to the first speaker click after it within ``PAIR_WINDOW_SECONDS`` (s); mic
    clicks without one are left out (the caller reports how many)."""
    delays = []
    for entered in mic:
        later = speaker[(speaker > entered) & (speaker <= entered + PAIR_WINDOW_SECONDS)]
        if later.size:
            delays.append(float(later[0] - entered))
    return delays


def check_probe(mic: np.ndarray, speaker: np.ndarray, clicks: int, path: str) -> None:
    """Fail loudly where the figure would mean nothing: the channels mix, clicks are missing, or the latency is
    so long that a click could be paired with its neighbour's echo. ``path``: what was between mic and speaker."""
    assert mic.size == clicks, (
        f"the probe's mic channel heard {mic.size} clicks, {clicks} were played: clicks lost, or the speaker "
        "leaks into the mic channel (the loopbacks' channel maps do not separate)")
    leaked = [t for t in mic if np.any(np.abs(speaker - t) <= SEPARATE_WITHIN_SECONDS)]
    assert not leaked, f"{len(leaked)} mic clicks appear on the speaker channel at once: the channels mix"
    assert speaker.size, (
        f"no click came out of the speaker ({clicks} went into the mic): {path} did not pass them on")
    first_echo = speaker[speaker > mic[0]]
    assert first_echo.size and first_echo[0] - mic[0] <= PAIR_WINDOW_SECONDS, (
        f"the first click's echo came {first_echo[0] - mic[0] if first_echo.size else float('nan'):.3f} s "
        f"after it, above the {PAIR_WINDOW_SECONDS} s window: the clicks are too close to pair unambiguously")


def delays_ms(samples: np.ndarray, clicks: int, path: str) -> tuple[list[float], int]:
    """Mouth-to-ear of each paired click in ms, and how many clicks reached the speaker, from a probe recording."""
    mic, speaker = onsets(samples[:, 0], PROBE_RATE), onsets(samples[:, 1], PROBE_RATE)
    check_probe(mic, speaker, clicks, path)
    delays = [1e3 * d for d in pair(mic, speaker)]
    assert delays, f"none of the {mic.size} mic clicks came out of the speaker within {PAIR_WINDOW_SECONDS} s"
    return delays, speaker.size


def check_method(pulse: PulseServer) -> list[float]:
    """The probe on a path of known latency: a ``WIRE_MS`` loopback from the mic to the speaker in the app's
    place. Each click's measured delay, in ms (it should read ``WIRE_MS``)."""
    with probe(pulse) as recorder:
        wire = recorder.load("module-loopback", f"source={MIC}.monitor", f"sink={SPEAKER}",
                             f"latency_msec={WIRE_MS}", "adjust_time=0", f"rate={PROBE_RATE}")
        wait_settled(pulse, {"wire": wire}, WIRE_MS)
        time.sleep(LEAD_IN_SECONDS)  # the probe's recording flows (the first record stream stalls ~1 s)
        pulse.play_into_mic(_click_train(CHECK_CLICKS), PROBE_RATE, wait=True)
        time.sleep(TAIL_SECONDS)
        samples = recorder.stop()
    return delays_ms(samples, CHECK_CLICKS, f"a {WIRE_MS} ms PulseAudio loopback")[0]


def _measure(display_env: dict[str, str], pulse: PulseServer) -> tuple[np.ndarray, dict, str]:
    """Record the probe while the app holds the key and the clicks play; (samples, the app's figures, the
    app's log when it gave no figures)."""
    with probe(pulse) as recorder:
        with holding_app(display_env, pulse) as app:
            app.wait_holding(START_TIMEOUT)
            time.sleep(LEAD_IN_SECONDS)
            pulse.play_into_mic(_click_train(CLICKS), PROBE_RATE, wait=True)
            time.sleep(TAIL_SECONDS)
            marks = app.release()
            log = app.log() if not marks else ""
        samples = recorder.stop()
    return samples, marks, log


def _app_rows(marks: dict) -> list[list[object]]:
    """What the app says its devices and jitter buffer add: a breakdown to read the figure against."""
    nan = float("nan")
    return [
        ["app: capture input latency (PortAudio), ms", marks.get("capture_input_latency_ms", nan)],
        ["app: player output latency (PortAudio), ms", marks.get("player_output_latency_ms", nan)],
        ["app: jitter target / queued at playback start, ms",
         f"{marks.get('jitter_target_ms', nan):.0f} / {marks.get('jitter_added_latency_ms', nan):.0f}"],
        ["app: player underruns / silence refilling after them, ms",
         f"{marks.get('player_underruns', '?')} / {marks.get('player_stall_ms', nan):.0f}"],
        ["app: speaker starved, the machine too busy to feed it (PortAudio output underflows)",
         marks.get("player_device_underflows", "?")],
        ["app: capture overflows (PortAudio) / ring overruns / chunks dropped",
         " / ".join(str(marks.get(key, "?")) for key in ("capture_overflows", "capture_overruns",
                                                          "capture_chunks_dropped"))],
    ]


def test_mouth_to_ear(display, pulse):  # noqa: F811 - the imported fixture
    wire = check_method(pulse)
    samples, marks, log = _measure(display, pulse)
    if log:
        print(f"\napp log (no figures came back):\n{log}")
    if "error" in marks:
        raise RuntimeError(f"the app probe failed: {marks['error']}")
    delays, heard = delays_ms(samples, CLICKS, "the app (see its log above)")
    p50, p99 = percentile(delays, 50), percentile(delays, 99)
    print()
    print(table(["figure", "value"], [
        ["clicks into the mic / out of the speaker / paired", f"{CLICKS} / {heard} / {len(delays)}"],
        ["mouth-to-ear p50 / p99 / max, ms", f"{p50:.0f} / {p99:.0f} / {max(delays):.0f}"],
        ["mouth-to-ear spread (max - min), ms", max(delays) - min(delays)],
        ["each click, ms", ", ".join(f"{d:.0f}" for d in delays)],
        *_app_rows(marks),
        [f"method check: a {WIRE_MS} ms PulseAudio loopback in the app's place reads min / max, ms",
         f"{min(wire):.1f} / {max(wire):.1f}"],
    ], title=f"(f) Mouth-to-ear through the null sinks: {CLICKS} clicks -> the app (PTT held) -> embedded echo -> "
             "speaker, one recording for both ends."))
    _results.record("client pipeline",
                    "mouth-to-ear through the null sinks (click -> embedded echo -> speaker), p50 / p99",
                    f"{p50:.0f} / {p99:.0f}", "ms")
