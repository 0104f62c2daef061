"""TranscriptModel: the conversation rules, with no Qt and no I/O."""

from __future__ import annotations

import json

import pytest

from desktop.protocols.events import (
    Audio,
    Health,
    Interrupted,
    Speaker,
    TextKind,
    Transcript,
    TurnComplete,
)
from desktop.transcript import MODEL, USER, TranscriptModel, Turn, TurnState

SPOKEN = TextKind.TRANSCRIPTION


def model_says(text: str, final: bool = True, kind: TextKind = TextKind.TEXT) -> Transcript:
    return Transcript(Speaker.MODEL, text, final, kind)


def user_says(text: str, final: bool = True) -> Transcript:
    return Transcript(Speaker.USER, text, final, SPOKEN)


@pytest.fixture
def model() -> TranscriptModel:
    return TranscriptModel()


@pytest.fixture
def seen(model: TranscriptModel) -> list[tuple[int, bool]]:
    calls: list[tuple[int, bool]] = []
    model.subscribe(lambda turn, is_new: calls.append((turn.id, is_new)))
    return calls


def test_streamed_pieces_grow_one_turn(model, seen):
    for piece in ("Hello", ", ", "world."):
        model.apply(model_says(piece))

    [turn] = model.turns
    assert (turn.speaker, turn.text, turn.state) == (MODEL, "Hello, world.", TurnState.STREAMING)
    assert seen == [(turn.id, True), (turn.id, False), (turn.id, False)]


def test_tentative_pieces_replace_each_other_until_final(model):
    model.apply(user_says("I think", final=False))
    model.apply(user_says("I think we", final=False))
    [turn] = model.turns
    assert (turn.text, turn.tentative) == ("", "I think we")

    model.apply(user_says("I think we should go."))
    assert (turn.text, turn.tentative) == ("I think we should go.", "")

    model.apply(user_says(" Now", final=False))
    assert (turn.text, turn.tentative) == ("I think we should go.", " Now")


def test_written_reply_wins_over_its_transcription(model):
    # The echo server sends the reply as text and as an output transcription.
    model.apply(model_says("Hi there"))
    model.apply(model_says("Hi there", kind=SPOKEN))
    model.apply(TurnComplete())

    [turn] = model.turns
    assert (turn.text, turn.kind) == ("Hi there", "text")


def test_transcription_first_then_text_shows_text_once(model):
    model.apply(model_says("hi there", kind=SPOKEN, final=False))
    [turn] = model.turns
    assert (turn.tentative, turn.kind) == ("hi there", "transcription")

    model.apply(model_says("Hi there!"))
    model.apply(model_says("hi there", kind=SPOKEN))
    assert (turn.text, turn.tentative, turn.kind) == ("Hi there!", "", "text")
    assert len(model.turns) == 1


def test_spoken_only_reply_shows_its_transcription(model):
    model.apply(model_says("Sure", kind=SPOKEN))
    model.apply(model_says(", one moment.", kind=SPOKEN))
    [turn] = model.turns
    assert (turn.text, turn.kind) == ("Sure, one moment.", "transcription")


def test_a_new_turn_starts_when_the_speaker_changes(model):
    model.apply(user_says("What time is it?"))
    model.apply(model_says("It is noon."))
    model.apply(TurnComplete())
    model.apply(user_says("Thanks", final=False))

    assert [(t.speaker, t.text + t.tentative) for t in model.turns] == [
        (USER, "What time is it?"), (MODEL, "It is noon."), (USER, "Thanks")]
    user, reply, _ = model.turns
    assert user.state is TurnState.COMPLETE  # closed when the model started replying
    assert reply.state is TurnState.COMPLETE


def test_user_speech_during_a_reply_goes_after_it_in_append_order(model):
    model.apply(model_says("Let me tell you a long"))
    model.apply(user_says("Stop"))
    model.apply(model_says(" story"))

    assert [(t.speaker, t.text) for t in model.turns] == [
        (MODEL, "Let me tell you a long"), (USER, "Stop"), (MODEL, " story")]
    assert model.turns[0].state is TurnState.COMPLETE


def test_interrupted_closes_the_reply_and_commits_what_was_pending(model, seen):
    model.apply(model_says("Once upon"))
    model.apply(model_says(" a time", final=False))
    model.apply(Interrupted())

    [turn] = model.turns
    assert (turn.text, turn.tentative, turn.state) == ("Once upon a time", "", TurnState.INTERRUPTED)
    assert seen[-1] == (turn.id, False)

    model.apply(model_says("Yes?"))
    assert len(model.turns) == 2 and model.turns[1].is_open


def test_interruption_announced_after_the_user_spoke_still_marks_the_reply(model):
    model.apply(model_says("The weather today"))
    model.apply(user_says("wait"))
    model.apply(Interrupted())
    reply, user = model.turns
    assert reply.state is TurnState.INTERRUPTED
    assert user.speaker == USER


def test_turn_complete_is_idempotent(model, seen):
    model.apply(model_says("Done", final=False))
    assert model.apply(TurnComplete()) is model.turns[0]
    calls = len(seen)

    assert model.apply(TurnComplete()) is None
    assert model.apply(Interrupted()) is None
    assert len(seen) == calls
    assert (model.turns[0].text, model.turns[0].state) == ("Done", TurnState.COMPLETE)


def test_other_events_are_ignored(model, seen):
    assert model.apply(Audio(b"\0\0", 24000)) is None
    assert model.apply(Health()) is None
    assert model.turns == [] and seen == []


def test_empty_pieces_do_not_open_turns_but_can_withdraw_tentative_text(model):
    assert model.apply(model_says("")) is None
    assert model.apply(model_says("", final=False)) is None
    assert model.turns == []

    model.apply(user_says("uh", final=False))
    model.apply(user_says("", final=False))
    assert model.turns[0].tentative == ""


def test_typed_turn_is_unsent_until_marked(model, seen):
    turn = model.add_typed("Hello?", sent=False)
    assert (turn.speaker, turn.text, turn.typed, turn.sent, turn.state) == (
        USER, "Hello?", True, False, TurnState.COMPLETE)
    assert seen == [(turn.id, True)]

    assert model.mark_sent(turn.id) is turn
    assert turn.sent and seen[-1] == (turn.id, False)

    model.mark_sent(turn.id)  # already sent: no second notification
    assert len(seen) == 2
    assert model.mark_sent(9999) is None


def test_typed_turn_echoed_back_by_the_server_is_not_shown_twice(model):
    typed = model.add_typed("What's new?", sent=False)
    model.apply(Transcript(Speaker.USER, "What's new?", True, TextKind.TEXT))
    assert model.turns == [typed] and typed.sent


def test_a_model_reply_after_a_typed_turn_opens_a_new_turn(model):
    model.add_typed("Hi", sent=True)
    model.apply(model_says("Hello!"))
    assert [t.speaker for t in model.turns] == [USER, MODEL]


def test_ids_increase_even_across_clear(model):
    cleared = []
    model.subscribe(lambda turn, is_new: None, cleared=lambda: cleared.append(True))
    first = model.add_typed("one", sent=True).id
    model.clear()
    assert model.turns == [] and cleared == [True]
    assert model.add_typed("two", sent=True).id > first


def test_unsubscribe_stops_notifications(model):
    calls = []
    unsubscribe = model.subscribe(lambda turn, is_new: calls.append(turn.id))
    unsubscribe()
    model.add_typed("quiet", sent=True)
    assert calls == []


def test_turn_round_trips_through_json(model):
    model.apply(model_says("Written"))
    model.apply(model_says("spoken", kind=SPOKEN, final=False))
    data = model.turns[0].to_dict()
    assert (data["state"], data["text"], data["speaker"]) == ("streaming", "Written", "model")
    assert data["sources"]["transcription"] == {"text": "", "tentative": "spoken"}
    assert Turn.from_dict(json.loads(json.dumps(data))).to_dict() == data

    model.add_typed("typed", sent=False)
    model.apply(model_says("Cut"))
    model.apply(Interrupted())

    for turn in model.turns:
        line = json.dumps(turn.to_dict())
        back = Turn.from_dict(json.loads(line))
        assert back.to_dict() == turn.to_dict()
        assert (back.text, back.tentative, back.kind, back.state) == (
            turn.text, turn.tentative, turn.kind, turn.state)



def test_turn_from_a_minimal_dict():
    turn = Turn.from_dict({"id": 7, "speaker": "user", "text": "hi"})
    assert (turn.id, turn.text, turn.state, turn.sent) == (7, "hi", TurnState.COMPLETE, True)
    with pytest.raises(ValueError):
        Turn.from_dict({"id": 1, "speaker": "narrator", "text": "x"})


def test_restore_closes_turns_left_streaming_and_continues_ids(model, seen):
    saved = [Turn.from_dict({"id": 4, "speaker": "user", "text": "hi"}),
             Turn.from_dict({"id": 5, "speaker": "model", "text": "Hel", "state": "streaming"})]
    model.restore(saved)

    assert [t.state for t in model.turns] == [TurnState.COMPLETE, TurnState.INTERRUPTED]
    assert seen == [(4, True), (5, True)]
    model.apply(model_says("New reply"))
    assert model.turns[-1].id == 6


@pytest.mark.parametrize("kind", [TextKind.TEXT, SPOKEN])
def test_pieces_then_the_whole_text_show_the_reply_once(model, kind):
    """ADK >= 1.22 sends each transcription as pieces, then whole, none marked partial or final."""
    for piece in ["Hello", " there,", " friend."]:
        model.apply(model_says(piece, kind=kind))
    model.apply(model_says("Hello there, friend.", kind=kind))
    model.apply(TurnComplete())
    assert [t.text for t in model.turns] == ["Hello there, friend."]


def test_cumulative_pieces_and_repeats_are_not_appended_again(model):
    for piece in ["Hi", "Hi the", "Hi there", "Hi there"]:  # each the whole text so far
        model.apply(user_says(piece))
    for piece in [" It", " is", " me"]:
        model.apply(model_says(piece))
    model.apply(model_says("It  is me"))  # the aggregate may differ in whitespace
    assert [t.text for t in model.turns] == ["Hi there", "It  is me"]


def test_deltas_that_do_not_repeat_the_text_are_still_appended(model):
    for piece in ["ha", "s", " a", " hat"]:
        model.apply(model_says(piece))
    assert model.turns[0].text == "has a hat"


def test_unsent_typed_text_from_an_earlier_run_is_held_until_released(model, seen):
    saved = [Turn.from_dict({"id": 1, "speaker": "user", "text": "old", "typed": True, "sent": False}),
             Turn.from_dict({"id": 2, "speaker": "user", "text": "went", "typed": True, "sent": True})]
    model.restore(saved)
    assert [(t.held, t.sent) for t in model.turns] == [(True, False), (False, True)]
    assert model.turns[0].to_dict()["held"] is True
    seen.clear()
    assert model.release(1) is model.turns[0] and not model.turns[0].held
    assert seen == [(1, False)]
    assert model.release(2) is None  # not held: nothing to release
    assert model.add_typed("new", sent=False).held is False
