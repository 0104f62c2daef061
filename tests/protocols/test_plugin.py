"""Protocol plugins: ``plugin.adapt`` on every accepted shape, and registration through a real entry point."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import sys
import types
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

from desktop import protocols
from desktop.errors import UnknownProtocol
from desktop.protocols import adk
from desktop.protocols.adk import AdkCodec
from desktop.protocols.base import Codec, ProtocolInfo
from desktop.protocols.events import Audio, ProtocolError
from desktop.protocols.plugin import BringYourOwnCodec, adapt

PLUGIN_DIR = Path(__file__).resolve().parents[1] / "plugin_example"
PCM = b"\x10\x00\x20\x00" * 40


# -- Codec subclasses ------------------------------------------------------------------------------


class FullCodec(Codec):
    info = ProtocolInfo(name="full", title="Full")

    def encode_audio(self, pcm):
        return [pcm]

    def encode_text(self, text):
        return [text]

    def decode(self, frame):
        return []


def test_codec_subclass_is_used_as_is():
    assert adapt("full", FullCodec) is FullCodec


def test_codec_subclass_takes_the_entry_point_name_without_being_modified():
    adapted = adapt("my_full", FullCodec)
    assert issubclass(adapted, FullCodec) and adapted.info.name == "my_full"
    assert adapted.info.title == "Full" and FullCodec.info.name == "full"


def test_codec_subclass_without_info_gets_one():
    class Bare(FullCodec):
        pass

    no_info = type("NoInfo", (Codec,), {"encode_audio": FullCodec.encode_audio,
                                         "encode_text": FullCodec.encode_text, "decode": FullCodec.decode})
    assert adapt("bare", Bare).info.name == "bare"
    assert adapt("noinfo", no_info).info == ProtocolInfo(name="noinfo", title="noinfo")


def test_module_with_codec_attribute():
    adapted = adapt("adk_again", adk)
    assert issubclass(adapted, AdkCodec) and adapted.info.name == "adk_again"


def test_abstract_codec_names_what_is_missing():
    class Half(Codec):
        def encode_audio(self, pcm):
            return []

    with pytest.raises(UnknownProtocol, match="does not implement decode, encode_text"):
        adapt("half", Half)


def test_bad_info_and_instances_are_refused():
    class BadInfo(FullCodec):
        info = "full"

    with pytest.raises(UnknownProtocol, match=r"not a desktop\.protocols\.ProtocolInfo"):
        adapt("bad", BadInfo)
    with pytest.raises(UnknownProtocol, match="must name the class"):
        adapt("inst", FullCodec())


# -- bring-your-own ----------------------------------------------------------------------------------


class Minimal:
    def encode_audio(self, pcm):
        return base64.b64encode(pcm).decode()

    def decode_response(self, frame):
        return base64.b64decode(frame) if frame else None


def test_minimal_bring_your_own():
    cls = adapt("mini", Minimal)
    assert issubclass(cls, BringYourOwnCodec)
    info = cls.info
    assert (info.name, info.title, info.send_rate, info.receive_rate) == ("mini", "mini", 16000, 16000)
    assert not info.has_turn_events and info.turn_idle_gap == 1.5
    codec = cls({"voice": "x"})
    assert codec.url("ws://h:1") == "ws://h:1/"
    [frame] = codec.encode_audio(PCM)
    assert codec.decode(frame) == [Audio(PCM, 16000)]
    assert codec.decode("") == []
    assert codec.encode_text("hi") == []  # no encode_text: typed turns cannot be sent
    assert cls().protocol is not codec.protocol  # one protocol object per codec


def test_rates_path_and_title_attributes():
    class Described(Minimal):
        """Speaks the described protocol.

        More words.
        """

        sample_rate = 8000
        output_sample_rate = 22050
        url = "wss://example.com/v1/stream?format=pcm"

    cls = adapt("described", Described)
    assert (cls.info.send_rate, cls.info.receive_rate) == (8000, 22050)
    assert cls.info.description == "Speaks the described protocol."
    assert cls().url("ws://127.0.0.1:9") == "ws://127.0.0.1:9/v1/stream?format=pcm"
    assert cls().url("ws://127.0.0.1:9/mine") == "ws://127.0.0.1:9/mine"

    relative = type("Relative", (Minimal,), {"path": "ws?x=1", "title": "Rel"})
    assert adapt("rel", relative)().url("ws://h") == "ws://h/ws?x=1"
    assert adapt("rel", relative).info.title == "Rel"


def test_instances_and_modules_are_shared_and_config_reaches_classes():
    instance = Minimal()
    assert adapt("inst", instance)().protocol is instance

    module = types.ModuleType("byo_module")
    module.encode_audio = lambda pcm: pcm
    module.decode_response = lambda frame: frame if isinstance(frame, bytes) else None
    codec = adapt("mod", module)()
    assert codec.decode(codec.encode_audio(PCM)[0]) == [Audio(PCM, 16000)]

    class Configured(Minimal):
        def __init__(self, config):
            self.config = config

    assert adapt("cfg", Configured)({"voice": "Puck"}).protocol.config == {"voice": "Puck"}


@pytest.mark.parametrize(("target", "needle"), [
    (object(), "no encode_audio(pcm: bytes) -> str | bytes and no decode_response(frame"),
    (type("OnlyEncode", (), {"encode_audio": lambda self, pcm: pcm}), "no decode_response(frame"),
    (type("NotCallable", (Minimal,), {"decode_response": 5}), "no decode_response"),
    (type("BadText", (Minimal,), {"encode_text": "x"}), "'encode_text' is not callable"),
    (type("BadRate", (Minimal,), {"sample_rate": 44.1}), "sample_rate must be an int"),
    (type("BadOut", (Minimal,), {"output_sample_rate": 0}), "output_sample_rate must be an int"),
    (type("BadPath", (Minimal,), {"path": 5}), "path/url must be a string"),
    (type("TwoArgs", (Minimal,), {"__init__": lambda self, a, b: None}), "cannot be instantiated"),
])
def test_invalid_plugins_say_what_is_missing(target, needle):
    with pytest.raises(UnknownProtocol, match=r"Protocol plugin 'bad'") as info:
        adapt("bad", target)
    assert needle in str(info.value)


def test_plugin_failures_while_decoding_are_protocol_errors():
    class Flaky(Minimal):
        def decode_response(self, frame):
            if frame == "boom":
                raise ValueError("cannot parse")
            if frame == "text":
                return "not bytes"
            return b"\x01\x00\x02"

    codec = adapt("flaky", Flaky)()
    [error] = codec.decode("boom")
    assert isinstance(error, ProtocolError) and "ValueError: cannot parse" in error.message
    [error] = codec.decode("text")
    assert isinstance(error, ProtocolError) and "returned str" in error.message
    audio, odd = codec.decode("odd")
    assert audio == Audio(b"\x01\x00", 16000) and isinstance(odd, ProtocolError)


def test_encode_results():
    class Many(Minimal):
        def encode_audio(self, pcm):
            return [b"a", bytearray(b"b"), "c"] if pcm else None

        def encode_text(self, text):
            return 42

    codec = adapt("many", Many)()
    assert codec.encode_audio(b"x") == [b"a", b"b", "c"]
    assert codec.encode_audio(b"") == []
    with pytest.raises(TypeError, match="encode_text returned int"):
        codec.encode_text("hi")


# -- through a real entry point ----------------------------------------------------------------------


@pytest.fixture
def install_plugins(tmp_path, monkeypatch):
    """Write a *.dist-info declaring entry points, and put it and the example package on sys.path."""
    modules_before = set(sys.modules)

    def install(entry_points: dict[str, str]) -> None:
        dist = tmp_path / "vd_plugin_example-0.1.0.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: vd-plugin-example\nVersion: 0.1.0\n")
        lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
        (dist / "entry_points.txt").write_text(f"[{protocols.ENTRY_POINT_GROUP}]\n{lines}")
        monkeypatch.syspath_prepend(str(PLUGIN_DIR))
        monkeypatch.syspath_prepend(str(tmp_path))

    yield install
    for name in set(sys.modules) - modules_before:
        if name.startswith("vd_plugin"):
            del sys.modules[name]


async def test_entry_point_plugin_is_listed_and_works(install_plugins):
    install_plugins({"echo_json": "vd_plugin_example:EchoJsonProtocol"})
    info = protocols.available()["echo_json"]
    assert info.title == "Echo JSON (example plugin)" and info.send_rate == 16000
    assert list(protocols.available())[:4] == ["live_server", "adk", "adk_bidi", "ai_proxy_core"]

    codec = protocols.get("echo_json")()
    assert codec.info.name == "echo_json"

    async def echo(ws):
        async for message in ws:
            await ws.send(message)

    async with asyncio.timeout(5), serve(echo, "127.0.0.1", 0) as server:
        base = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        async with connect(codec.url(base)) as ws:
            assert ws.request.path == "/echo"
            for frame in codec.encode_audio(PCM) + codec.encode_text("hello"):
                await ws.send(frame)
            assert codec.decode(await ws.recv()) == [Audio(PCM, 16000)]
            assert codec.decode(await ws.recv()) == []  # the echoed text carries no audio
            [error] = codec.decode("not json")
            assert isinstance(error, ProtocolError) and "echo_json" in error.message


def test_broken_plugin_is_left_out_with_a_warning(install_plugins, caplog):
    install_plugins({"echo_json": "vd_plugin_example:EchoJsonProtocol",
                     "broken_proto": "vd_plugin_broken:Protocol",
                     "not_a_protocol": "json:dumps"})
    with caplog.at_level(logging.WARNING, logger="desktop.protocols"):
        found = protocols.available()
    assert "echo_json" in found
    assert "broken_proto" not in found and "not_a_protocol" not in found
    warnings = " ".join(r.getMessage() for r in caplog.records)
    assert "'broken_proto' failed to load" in warnings
    assert "vd_plugin_dependency_that_is_not_installed" in warnings
    assert "'not_a_protocol'" in warnings and "encode_audio" in warnings

    with pytest.raises(UnknownProtocol, match=r"'broken_proto' failed to load: No module named"):
        protocols.get("broken_proto")
    with pytest.raises(UnknownProtocol, match=r"neither a desktop\.protocols\.Codec subclass"):
        protocols.get("not_a_protocol")
    with pytest.raises(UnknownProtocol, match=r"Known protocols: .*broken_proto.*echo_json"):
        protocols.get("nope")


def test_plugin_cannot_shadow_a_builtin(install_plugins, caplog):
    install_plugins({"adk": "vd_plugin_example:EchoJsonProtocol"})
    with caplog.at_level(logging.WARNING, logger="desktop.protocols"):
        assert protocols.available()["adk"] == AdkCodec.info
    assert "a built-in protocol has that name" in caplog.text
    assert protocols.get("adk") is AdkCodec


def test_readme_snippet_example_works():
    snippet = (PLUGIN_DIR / "README_SNIPPET.md").read_text()
    assert 'echo_json = "vd_plugin_example:EchoJsonProtocol"' in snippet
    code = snippet.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(code, "README_SNIPPET.md", "exec"), namespace)  # noqa: S102 - our own documentation
    codec = adapt("echo_json", namespace["EchoJsonProtocol"])({"voice": "Puck"})
    assert codec.url("ws://h:1") == "ws://h:1/echo"
    assert codec.decode(codec.encode_audio(PCM)[0]) == [Audio(PCM, 16000)]
    assert codec.decode(codec.encode_text("hi")[0]) == []
    assert json.loads(codec.encode_text("hi")[0]) == {"text": "hi"}
