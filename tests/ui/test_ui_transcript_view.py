"""TranscriptView: bubbles bound to a TranscriptModel, updated in place."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

from desktop.protocols.events import Interrupted, Speaker, TextKind, Transcript, TurnComplete
from desktop.transcript import TranscriptModel
from desktop.ui.transcript_view import TranscriptView


def model_says(text: str, final: bool = True) -> Transcript:
    return Transcript(Speaker.MODEL, text, final, TextKind.TEXT)


def make_view(qtbot, model: TranscriptModel) -> TranscriptView:
    view = TranscriptView()
    view.setMinimumSize(480, 400)  # fixed before show: offscreen warns if a layout changes it later
    view.resize(480, 400)
    view.set_model(model)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    return view


def test_streaming_updates_the_same_bubble_in_place(qtbot, model):
    view = make_view(qtbot, model)
    model.apply(model_says("Hello"))
    view.flush()
    [bubble] = view.turn_widgets()

    for piece in (",", " how", " are", " you?"):
        model.apply(model_says(piece))
    qtbot.waitUntil(lambda: bubble.text == "Hello, how are you?")
    assert view.turn_widgets() == [bubble]
    assert view.turn_widget(model.turns[0].id) is bubble


def test_updates_are_batched_until_the_throttle_fires(qtbot, model):
    view = make_view(qtbot, model)
    model.apply(model_says("a"))  # first change after a quiet spell shows at once
    bubble = view.turn_widgets()[0]
    assert bubble.text == "a"
    model.apply(model_says("b"))
    model.apply(model_says("c"))
    view.flush()
    assert bubble.text == "abc"


def test_user_and_assistant_turns_look_different(qtbot, model):
    view = make_view(qtbot, model)
    model.apply(Transcript(Speaker.USER, "Hi", True, TextKind.TRANSCRIPTION))
    model.apply(model_says("Hello!"))
    view.flush()
    user, assistant = view.turn_widgets()
    assert (user.property("speaker"), assistant.property("speaker")) == ("user", "model")
    assert (user.header.text(), assistant.header.text()) == ("You", "Assistant")


def test_tentative_text_is_styled_apart(qtbot, model):
    view = make_view(qtbot, model)
    model.apply(model_says("Sure, "))
    model.apply(model_says("let me chec", final=False))
    view.flush()
    [bubble] = view.turn_widgets()
    assert (bubble.text, bubble.tentative) == ("Sure, ", "let me chec")
    assert "font-style:italic" in bubble.body.text()

    model.apply(model_says("let me check."))
    view.flush()
    assert (bubble.text, bubble.tentative) == ("Sure, let me check.", "")
    assert "italic" not in bubble.body.text()


def test_text_is_escaped_not_interpreted(qtbot, model):
    view = make_view(qtbot, model)
    model.apply(model_says("<b>not bold</b> & more"))
    view.flush()
    body = view.turn_widgets()[0].body.text()
    assert "&lt;b&gt;" in body and "<b>" not in body


def test_interrupted_and_unsent_turns_are_marked(qtbot, model):
    view = make_view(qtbot, model)
    model.apply(model_says("A long story"))
    model.apply(Interrupted())
    typed = model.add_typed("are you there?", sent=False)
    view.flush()
    reply, mine = view.turn_widgets()
    assert reply.note == "— interrupted" and not reply.footer.isHidden()
    assert mine.note == "Not sent yet" and mine.property("unsent") is True

    model.mark_sent(typed.id)
    view.flush()
    assert mine.note == "" and mine.footer.isHidden()
    assert mine.property("unsent") is False


def test_text_is_selectable(qtbot, model):
    view = make_view(qtbot, model)
    model.add_typed("copy me", sent=True)
    body: QLabel = view.turn_widgets()[0].body
    assert body.textInteractionFlags() & body.textInteractionFlags().TextSelectableByMouse


def test_clear_and_rebind(qtbot, model):
    view = make_view(qtbot, model)
    model.add_typed("one", sent=True)
    model.clear()
    assert view.turn_widgets() == []

    other = TranscriptModel()
    other.add_typed("from before", sent=True)
    view.set_model(other)
    assert [w.text for w in view.turn_widgets()] == ["from before"]
    model.add_typed("old model, no longer shown", sent=True)
    view.flush()
    assert len(view.turn_widgets()) == 1


def test_follows_new_text_unless_scrolled_up(qtbot, model):
    view = make_view(qtbot, model)
    bar = view.scroll.verticalScrollBar()
    for i in range(30):
        model.add_typed(f"message {i}", sent=True)
        model.apply(model_says(f"reply {i}"))
        model.apply(TurnComplete())
        view.flush()
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum())
    assert view.following

    bar.setValue(0)  # the user scrolls up to read
    assert not view.following
    before = bar.maximum()
    model.add_typed("new", sent=True)
    view.flush()
    qtbot.waitUntil(lambda: bar.maximum() > before)
    assert bar.value() == 0

    view.scroll_to_bottom()
    assert view.following and bar.value() == bar.maximum()
