"""Typed text through the real controller and servers on 127.0.0.1 (issue 8, item 8)."""

from __future__ import annotations

import asyncio

from websockets.asyncio.server import serve

from desktop.controller import Controller
from desktop.endpoint import Endpoint
from desktop.transcript import TranscriptModel, Turn
from desktop.ui.transcript_view import TranscriptView

TIMEOUT = 10


class Changes:
    """Wakes a test whenever the transcript changes."""

    def __init__(self, model: TranscriptModel) -> None:
        self.model = model
        self._changed = asyncio.Event()
        model.subscribe(lambda turn, is_new: self._changed.set())

    async def wait_for(self, predicate) -> None:
        async with asyncio.timeout(TIMEOUT):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    def replies(self) -> list[str]:
        return [t.text for t in self.model.turns if not t.is_user]


def held_from_an_earlier_run(text: str) -> Turn:
    return Turn.from_dict({"id": 1, "speaker": "user", "text": text, "typed": True, "sent": False})


async def test_text_left_unsent_by_an_earlier_run_is_not_sent_by_itself_but_on_request():
    model = TranscriptModel()
    model.restore([held_from_an_earlier_run("days old")])
    changes = Changes(model)
    controller = Controller(model, None)
    try:
        await controller.apply(Endpoint(processor="echo"))
        controller.on_text_submitted("today")
        await changes.wait_for(lambda: changes.replies() == ["today"])
        assert model.turns[0].held and not model.turns[0].sent  # the old one went nowhere
        controller.on_send_held(model.turns[0].id)
        await changes.wait_for(lambda: "days old" in changes.replies())
        assert model.turns[0].sent and not model.turns[0].held
    finally:
        await controller.shutdown()


async def test_a_settings_change_resends_text_written_but_never_answered():
    """The old controller re-sent only never-written texts: one the old server swallowed was lost."""
    received = []
    got_it = asyncio.Event()

    async def swallow(ws):  # takes the text, never answers
        async for frame in ws:
            received.append(frame)
            got_it.set()

    async with serve(swallow, "127.0.0.1", 0) as silent:
        port = silent.sockets[0].getsockname()[1]
        model = TranscriptModel()
        changes = Changes(model)
        controller = Controller(model, None)
        try:
            await controller.apply(Endpoint(url=f"ws://127.0.0.1:{port}", protocol="live_server"))
            controller.on_text_submitted("are you there?")
            await asyncio.wait_for(got_it.wait(), TIMEOUT)
            await changes.wait_for(lambda: model.turns[0].sent)  # written: it left the app
            await controller.apply(Endpoint(processor="echo"))  # the user switches server in Settings
            await changes.wait_for(lambda: changes.replies() == ["are you there?"])
        finally:
            await controller.shutdown()
    assert [t.text for t in model.turns if t.is_user] == ["are you there?"]  # one bubble, answered once


def test_a_held_turn_offers_a_one_click_send(qtbot):
    model = TranscriptModel()
    model.restore([held_from_an_earlier_run("left over")])
    view = TranscriptView()
    qtbot.addWidget(view)
    view.set_model(model)
    view.flush()
    (bubble,) = view.turn_widgets()
    assert "send" in bubble.note and not bubble.footer.isHidden()
    with qtbot.waitSignal(view.send_held_requested, timeout=TIMEOUT * 1000) as signal:
        bubble.footer.linkActivated.emit("send")  # what QLabel emits when the link is clicked
    assert signal.args == [1]
