"""The streaming sentence splitter: sentences out as soon as they end, markdown gone, abbreviations kept whole."""

from __future__ import annotations

from desktop.assistant.sentences import SentenceSplitter, clean_for_speech, split_sentences


def split_char_by_char(text: str) -> list[str]:
    splitter = SentenceSplitter()
    out = []
    for ch in text:  # tokens as small as they come
        out += splitter.feed(ch)
    return out + splitter.flush()


def test_sentences_and_abbreviations():
    text = "Hello there! Dr. Smith paid $3.50 today. J. R. R. Tolkien wrote it. Is it? Yes"
    assert split_char_by_char(text) == [
        "Hello there!", "Dr. Smith paid $3.50 today.", "J. R. R. Tolkien wrote it.", "Is it?", "Yes"]


def test_a_sentence_is_emitted_as_soon_as_it_ends():
    splitter = SentenceSplitter()
    assert splitter.feed("The capital of France is Paris") == []
    assert splitter.feed(". It is") == ["The capital of France is Paris."]
    assert splitter.feed(" lovely.\n") == ["It is lovely."]
    assert splitter.flush() == []


def test_markdown_is_not_spoken():
    text = "# Tips\n**Sleep** well.\n- Drink `water`\n- Walk [outside](http://example.com)\n1. Rest. 😀 Done."
    assert split_char_by_char(text) == ["Tips", "Sleep well.", "Drink water", "Walk outside", "Rest.", "Done."]


def test_long_sentences_are_spoken_in_clauses():
    long = ("This sentence goes on, and on, with clause after clause, because the model likes to talk, and it "
            "does not stop, and there is still more to say about everything under the sun, and the moon too")
    parts = split_char_by_char(long)
    assert len(parts) > 1
    assert " ".join(parts) == long
    assert all(len(p) <= 200 for p in parts)


def test_nothing_to_say_is_dropped():
    assert split_char_by_char("  ...  \n\n ** ") == []
    assert clean_for_speech("  **bold**  `x` ") == "bold x"


async def test_split_sentences_over_an_async_stream():
    async def tokens():
        for token in ["One", ".", " Two", "!", " Three"]:
            yield token

    assert [s async for s in split_sentences(tokens())] == ["One.", "Two!", "Three"]
