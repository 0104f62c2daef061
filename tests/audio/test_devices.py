"""Device listing and resolution: readable errors with a fake PortAudio, real devices with PulseAudio."""

from __future__ import annotations

import types
from typing import Any

import pytest

from desktop.audio import devices
from desktop.audio.devices import input_devices, output_devices, resolve_input, resolve_output
from desktop.errors import AudioDeviceError


def fake_portaudio(monkeypatch: pytest.MonkeyPatch, devs: list[dict[str, Any]], default: tuple[int, int],
                   hostapis: tuple[str, ...] = ("ALSA",)) -> None:
    class PortAudioError(Exception):
        pass

    for index, dev in enumerate(devs):
        dev.setdefault("index", index)
        dev.setdefault("hostapi", 0)
        dev.setdefault("default_samplerate", 48000.0)
        dev.setdefault("max_input_channels", 0)
        dev.setdefault("max_output_channels", 0)
    fake = types.SimpleNamespace(
        query_devices=lambda: devs,
        query_hostapis=lambda: tuple({"name": name} for name in hostapis),
        default=types.SimpleNamespace(device=list(default)),
        PortAudioError=PortAudioError,
    )
    monkeypatch.setattr(devices, "sounddevice", lambda: fake)


def test_no_devices_at_all_says_to_check_the_sound_server(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_portaudio(monkeypatch, [], (-1, -1))
    with pytest.raises(AudioDeviceError) as err:
        resolve_input(None)
    assert str(err.value) == ("No microphone found: PortAudio lists no input devices. "
                              "Is a sound server running?")
    with pytest.raises(AudioDeviceError, match="No speaker found: PortAudio lists no output devices"):
        resolve_output("anything")


def test_resolution_by_default_index_and_name(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_portaudio(monkeypatch, [
        {"name": "HDMI out", "max_output_channels": 2},
        {"name": "USB Headset Mic", "max_input_channels": 1, "default_samplerate": 16000.0},
        {"name": "Built-in Mic", "max_input_channels": 2},
    ], default=(2, 0))
    assert [d.name for d in input_devices()] == ["USB Headset Mic", "Built-in Mic"]
    assert [d.name for d in output_devices()] == ["HDMI out"]
    assert resolve_input(None).name == "Built-in Mic"
    assert resolve_input(None).is_default
    assert resolve_input(1).default_rate == 16000
    assert resolve_input("1").name == "USB Headset Mic"
    assert resolve_input("usb headset mic").index == 1
    assert resolve_input("headset").index == 1
    with pytest.raises(AudioDeviceError, match=r"No microphone with index 0\. Available microphones: "
                                               r"'USB Headset Mic', 'Built-in Mic'\."):
        resolve_input(0)
    with pytest.raises(AudioDeviceError, match="is ambiguous: it matches 'USB Headset Mic', 'Built-in Mic'"):
        resolve_input("mic")


def test_one_name_under_several_host_apis_prefers_the_default_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_portaudio(monkeypatch, [
        {"name": "Mic (Realtek)", "max_input_channels": 2, "hostapi": 0},
        {"name": "Mic (Realtek)", "max_input_channels": 2, "hostapi": 1},
    ], default=(1, -1), hostapis=("MME", "WASAPI"))
    assert resolve_input("Mic (Realtek)").index == 1


@pytest.mark.audio
def test_pulse_devices_are_listed_through_alsa(pulse: Any) -> None:
    names = [d.name for d in input_devices()]
    assert "default" in names and "pulse" in names
    mic, speaker = resolve_input(None), resolve_output(None)
    assert mic.is_default and speaker.is_default
    assert mic.hostapi == "ALSA" and mic.default_rate > 0
    assert resolve_output("pulse").name == "pulse"


@pytest.mark.audio
def test_a_missing_device_name_is_a_readable_error(pulse: Any) -> None:
    with pytest.raises(AudioDeviceError) as err:
        resolve_input("No Such Microphone")
    message = str(err.value)
    assert message.startswith("No microphone named 'No Such Microphone'. Available microphones: ")
    assert "'default'" in message
