"""Which microphones and speakers PortAudio sees, and finding one by name or index.

Why a module of its own: device choice comes from settings (a name the user picked last week, which may be
gone today), so resolving it must fail with a message a person can act on, not a PortAudio error code.

PortAudio enumerates devices once, when it initialises (at ``import sounddevice``). A sound server started
later (or a headset plugged in) stays invisible until :func:`reinitialize`.
"""

from __future__ import annotations

import dataclasses
from types import ModuleType
from typing import Literal

from desktop.audio._stream import abandoned_streams
from desktop.errors import AudioDeviceError

__all__ = [
    "DeviceInfo",
    "Kind",
    "input_devices",
    "list_devices",
    "output_devices",
    "reinitialize",
    "resolve_device",
    "resolve_input",
    "resolve_output",
    "sounddevice",
]

Kind = Literal["input", "output"]
_WHAT = {"input": "microphone", "output": "speaker"}


@dataclasses.dataclass(frozen=True, slots=True)
class DeviceInfo:
    """One PortAudio device as seen for one direction (``kind``)."""

    index: int
    name: str
    hostapi: str
    kind: Kind
    channels: int
    default_rate: int
    is_default: bool

    def __str__(self) -> str:
        return f"{self.name} ({self.hostapi}, {self.default_rate} Hz)"


def sounddevice() -> ModuleType:
    """The ``sounddevice`` module; AudioDeviceError if the PortAudio library itself is missing."""
    try:
        import sounddevice as sd
    except OSError as exc:  # sounddevice raises OSError when libportaudio cannot be loaded
        raise AudioDeviceError(
            f"Audio is unavailable: the PortAudio library could not be loaded ({exc}). "
            "On Debian/Ubuntu: apt-get install libportaudio2") from exc
    return sd


def reinitialize() -> None:
    """Re-initialise PortAudio so it lists devices again. Close every stream first: this ends them."""
    if abandoned_streams():
        raise AudioDeviceError(
            "Audio devices cannot be re-scanned: PortAudio is stuck on a stream whose sound server "
            "went away. Restart the app.")
    sd = sounddevice()
    sd._terminate()
    sd._initialize()


def list_devices(kind: Kind) -> list[DeviceInfo]:
    """Every device that can record (``"input"``) or play (``"output"``), in PortAudio's order."""
    sd = sounddevice()
    try:
        raw = sd.query_devices()
        hostapis = sd.query_hostapis()
        default = sd.default.device[0 if kind == "input" else 1]
    except sd.PortAudioError as exc:
        raise AudioDeviceError(f"Could not list audio devices: {exc}") from exc
    if default is None or default < 0:
        default = _hostapi_default(hostapis, kind)
    key = f"max_{kind}_channels"
    return [
        DeviceInfo(
            index=int(dev["index"]),
            name=str(dev["name"]),
            hostapi=str(hostapis[dev["hostapi"]]["name"]),
            kind=kind,
            channels=int(dev[key]),
            default_rate=int(dev["default_samplerate"]),
            is_default=int(dev["index"]) == default,
        )
        for dev in raw
        if dev[key] > 0
    ]


def input_devices() -> list[DeviceInfo]:
    return list_devices("input")


def output_devices() -> list[DeviceInfo]:
    return list_devices("output")


def resolve_device(device: int | str | None, kind: Kind) -> DeviceInfo:
    """The device to open for ``device`` (None: the default; an index; or a name).

    A name matches exactly first, then case-insensitively, then as a unique case-insensitive substring.
    Raises AudioDeviceError saying what is available when nothing (or more than one) matches.
    """
    what = _WHAT[kind]
    devices = list_devices(kind)
    if not devices:
        raise AudioDeviceError(
            f"No {what} found: PortAudio lists no {kind} devices. Is a sound server running?")
    if device is None or device == "":
        return next((d for d in devices if d.is_default), devices[0])
    if isinstance(device, int) or (isinstance(device, str) and device.isdigit()):
        index = int(device)
        for info in devices:
            if info.index == index:
                return info
        raise AudioDeviceError(f"No {what} with index {index}. Available {what}s: {_names(devices)}.")
    for match in (lambda d: d.name == device,
                  lambda d: d.name.lower() == device.lower(),
                  lambda d: device.lower() in d.name.lower()):
        found = [d for d in devices if match(d)]
        if len({d.name for d in found}) == 1:
            return _prefer_default_hostapi(found, devices)
        if found:
            raise AudioDeviceError(
                f"{what.capitalize()} name {device!r} is ambiguous: it matches {_names(found)}.")
    raise AudioDeviceError(f"No {what} named {device!r}. Available {what}s: {_names(devices)}.")


def resolve_input(device: int | str | None = None) -> DeviceInfo:
    return resolve_device(device, "input")


def resolve_output(device: int | str | None = None) -> DeviceInfo:
    return resolve_device(device, "output")


def _prefer_default_hostapi(found: list[DeviceInfo], devices: list[DeviceInfo]) -> DeviceInfo:
    """One name listed under several host APIs (Windows: MME, DirectSound, WASAPI): take the default's API."""
    api = next((d.hostapi for d in devices if d.is_default), None)
    return next((d for d in found if d.hostapi == api), found[0])


def _names(devices: list[DeviceInfo]) -> str:
    return ", ".join(dict.fromkeys(repr(d.name) for d in devices))


def _hostapi_default(hostapis: tuple[dict, ...], kind: Kind) -> int:
    for api in hostapis:
        index = api.get(f"default_{kind}_device", -1)
        if index is not None and index >= 0:
            return int(index)
    return -1
