import pytest

from dialogue.llm.sentences import SentenceSplitter, split_sentences, stream_sentences


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Hello there. How are you?", ["Hello there.", "How are you?"]),
        ("Dr. Smith is here. He is late.", ["Dr. Smith is here.", "He is late."]),
        ("Bring fruit, e.g. apples or pears. Thanks!", ["Bring fruit, e.g. apples or pears.", "Thanks!"]),
        ("It costs 3.50 dollars. Cheap.", ["It costs 3.50 dollars.", "Cheap."]),
        ("Well... maybe. I see... Tell me more.", ["Well... maybe.", "I see...", "Tell me more."]),
        ("Wow!! Really?! Yes.", ["Wow!!", "Really?!", "Yes."]),
        ('She said "Go." Then left.', ['She said "Go."', "Then left."]),
        ("J. R. R. Tolkien wrote it. I am 25. Fine", ["J. R. R. Tolkien wrote it.", "I am 25.", "Fine"]),
        ("1. First item\n2. Second item", ["1. First item", "2. Second item"]),
        ("Apples, pears etc. Then we left.", ["Apples, pears etc.", "Then we left."]),
        ("No trailing stop", ["No trailing stop"]),
        ("  \n \n ", []),
        ("Ünïcödé… Ça va? Oui.", ["Ünïcödé…", "Ça va?", "Oui."]),
    ],
)
def test_split_sentences(text, expected):
    assert split_sentences(text) == expected


@pytest.mark.parametrize("piece", [1, 2, 3, 7])
def test_streaming_matches_whole_text(piece):
    text = "Hello Dr. Smith. The price is 3.5 dollars, e.g. cheap... Really? Yes! Bye"
    chunks = [text[i:i + piece] for i in range(0, len(text), piece)]
    assert list(stream_sentences(chunks)) == split_sentences(text)


def test_sentence_is_yielded_once_the_next_word_starts():
    sp = SentenceSplitter()
    assert sp.feed("Hello there.") == []  # could still be "there.5" or an abbreviation
    assert sp.feed(" ") == []
    assert sp.feed("H") == ["Hello there."]
    assert sp.feed("ow") == []
    assert sp.flush() == "How"
    assert sp.flush() is None


def test_dr_is_not_split_across_tokens():
    out = list(stream_sentences(["Ask Dr", ".", " ", "Who", " now", "."]))
    assert out == ["Ask Dr. Who now."]


def test_no_is_a_word_and_an_abbreviation():
    assert split_sentences("Oh no. I am sorry. See No. 5 here.") == ["Oh no.", "I am sorry.", "See No. 5 here."]


def test_a_sentence_ending_in_an_exclamation_or_question_mark_is_yielded_at_once():
    sp = SentenceSplitter()
    assert sp.feed("That's great") == []
    assert sp.feed(" news!") == ["That's great news!"]  # not ambiguous: no need to see the next word
    assert sp.feed("!") == [] and sp.feed('"') == []  # what follows the mark is dropped...
    assert sp.feed(" What") == [] and sp.feed(" happened?") == ["What happened?"]
    assert sp.feed(" I see.") == []  # ...while a period still waits for the next word ("Dr.")
    assert sp.flush() == "I see."
    assert list(stream_sentences(["Really", "?!", " Yes", "."])) == ["Really?!", "Yes."]
