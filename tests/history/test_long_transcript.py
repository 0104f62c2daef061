"""A 5,000-turn conversation in the window: a bounded number of bubbles, earlier ones on scrolling up."""

from __future__ import annotations

from desktop.protocols.events import Speaker, Transcript
from desktop.transcript import TranscriptModel, Turn
from desktop.ui.transcript_view import LIVE_BUBBLES, PAGE, TranscriptView


def test_only_the_newest_turns_are_bubbles_and_scrolling_up_brings_earlier_ones(qtbot):
    model = TranscriptModel()
    view = TranscriptView()
    qtbot.addWidget(view)
    view.resize(560, 640)
    view.show()
    view.set_model(model)
    model.restore([Turn.from_dict({"id": n, "speaker": "user" if n % 2 else "model", "text": f"turn {n}",
                                   "state": "complete"}) for n in range(1, 5001)])
    view.flush()
    shown = [w.turn_id for w in view.turn_widgets()]
    assert shown == list(range(5001 - LIVE_BUBBLES, 5001))
    bar = view.scroll.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum())

    top_before = view.turn_widget(shown[0])
    bar.setValue(bar.minimum())  # the reader scrolls to the top
    qtbot.waitUntil(lambda: len(view.turn_widgets()) == LIVE_BUBBLES + PAGE)
    assert [w.turn_id for w in view.turn_widgets()] == list(range(5001 - LIVE_BUBBLES - PAGE, 5001))
    # The turn that was at the top is still in view: the new ones went in above it.
    qtbot.waitUntil(lambda: bar.value() > 0)
    assert abs(top_before.parentWidget().y() - bar.value()) < view.height()

    model.apply(Transcript(Speaker.MODEL, "streamed while reading"))
    view.flush()
    assert len(view.turn_widgets()) == LIVE_BUBBLES + PAGE + 1  # nothing dropped under the reader
    view.scroll_to_bottom()
    qtbot.waitUntil(lambda: len(view.turn_widgets()) == LIVE_BUBBLES)
    assert view.turn_widgets()[-1].text == "streamed while reading"
