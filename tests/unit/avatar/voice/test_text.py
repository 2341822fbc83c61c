import pytest

from avatar.voice.text import split_first_clause, split_sentences, words_of


def test_splits_sentences_and_keeps_every_word():
    text = "Hello there! How are you? I am fine.\nNew line here"
    pieces = split_sentences(text)
    assert pieces == ["Hello there!", "How are you?", "I am fine.", "New line here"]
    assert words_of(" ".join(pieces)) == words_of(text)


def test_long_sentence_split_at_commas_then_words_never_truncated():
    clause = "and then we walked along the river for a while"
    text = ", ".join([clause] * 12) + "."
    pieces = split_sentences(text, max_chars=120)
    assert len(pieces) > 1
    assert all(len(p) <= 120 for p in pieces)
    assert words_of(" ".join(pieces)) == words_of(text)
    no_commas = " ".join(["word"] * 200)
    pieces = split_sentences(no_commas, max_chars=50)
    assert all(len(p) <= 50 for p in pieces) and sum(len(p.split()) for p in pieces) == 200


def test_a_single_overlong_word_is_kept_whole():
    assert split_sentences("x" * 30, max_chars=10) == ["x" * 30]


def test_empty_text_and_bad_limit():
    assert split_sentences("   \n ") == []
    with pytest.raises(ValueError):
        split_sentences("hi", max_chars=0)


def test_first_clause_split_only_for_long_first_sentence():
    long_first = "Well, I suppose that we could try the other road, if you really want to."
    assert split_first_clause([long_first, "Next."]) == [
        "Well, I suppose that we could try the other road,", "if you really want to.", "Next."
    ]  # the comma after "Well" is too early to split at
    assert split_first_clause(["Short, one."]) == ["Short, one."]
