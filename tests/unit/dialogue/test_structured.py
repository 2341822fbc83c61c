import logging

import pytest

from dialogue.llm.base import PersonaBrief
from dialogue.llm.structured import (
    DEFAULT_FALLBACK,
    ReplyAssembler,
    clean_sentence,
    parse_reply,
    parse_tag,
    stream_structured,
)
from emotion import Emotion, EmotionState

ADA = PersonaBrief(name="Ada", fallback="Sorry, could you say that again?")


def sad_of(text: str) -> EmotionState:
    return EmotionState.of(Emotion.SAD, 0.4)


# -- the tag ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "line, emotion, intensity",
    [
        ("[happy 0.6]", Emotion.HAPPY, 0.6),
        ("[Happy, 0.8]", Emotion.HAPPY, 0.8),
        ("(sad: .3)", Emotion.SAD, 0.3),
        ("[emotion: angry | intensity: 0.9]", Emotion.ANGRY, 0.9),
        ("[joyful 80%]", Emotion.HAPPY, 0.8),
        ("[worried 7/10]", Emotion.FEARFUL, 0.7),
        ("[surprised 7]", Emotion.SURPRISED, 0.7),
        ("[neutral 1.7e]", Emotion.NEUTRAL, None),  # the number is junk: no intensity
        ("[happy]", Emotion.HAPPY, None),
        ("Emotion: sad (0.7)", Emotion.SAD, 0.7),
    ],
)
def test_parse_tag(line, emotion, intensity):
    tag, rest = parse_tag(line + "\nHello.")
    if intensity is None and "1.7e" in line:
        assert tag is None or tag.intensity is None
        return
    assert tag is not None
    assert tag.emotion is emotion
    assert tag.intensity == pytest.approx(intensity) if intensity is not None else tag.intensity is None
    assert rest.strip() == "Hello."


def test_unknown_label_is_consumed_and_marked_unknown(caplog):
    with caplog.at_level(logging.WARNING):
        tag, rest = parse_tag("[flibbertigibbet 0.9] Sure.")
    assert tag is not None and tag.emotion is None and rest.strip() == "Sure."
    assert "flibbertigibbet" in caplog.text


# -- whole replies ----------------------------------------------------------------------------

def test_well_formed_reply():
    r = parse_reply("[happy 0.6]\nThat's wonderful news! Tell me more.", ADA)
    assert (r.text, r.emotion, r.intensity) == ("That's wonderful news! Tell me more.", Emotion.HAPPY, 0.6)


def test_json_reply():
    r = parse_reply('{"emotion": "sad", "intensity": 0.4, "text": "Oh no. That is hard."}', ADA)
    assert (r.text, r.emotion, r.intensity) == ("Oh no. That is hard.", Emotion.SAD, 0.4)


def test_fenced_json_with_unknown_label_uses_emotion_of(caplog):
    with caplog.at_level(logging.WARNING):
        r = parse_reply('```json\n{"emotion": "blorp", "text": "Hmm. Okay then."}\n```', ADA, emotion_of=sad_of)
    assert r.text == "Hmm. Okay then." and r.emotion is Emotion.SAD and r.intensity == 0.4
    assert "blorp" in caplog.text


def test_broken_json_is_spoken_as_text_not_raw():
    r = parse_reply('{"emotion": "happy", "text": "I love that idea.', ADA)
    assert "{" not in r.text and '"' not in r.text and "love that idea" in r.text


def test_missing_tag_uses_emotion_of_else_neutral(caplog):
    assert parse_reply("I am sorry to hear that.", ADA, emotion_of=sad_of).emotion is Emotion.SAD
    with caplog.at_level(logging.WARNING):
        r = parse_reply("I am sorry to hear that.", ADA)
    assert r.emotion is Emotion.NEUTRAL and "no usable emotion tag" in caplog.text


def test_label_without_intensity_keeps_label():
    r = parse_reply("[sad] I am sorry.", ADA)
    assert r.emotion is Emotion.SAD and 0.0 < r.intensity <= 1.0


def test_broken_emotion_of_does_not_lose_the_reply():
    def boom(text):
        raise RuntimeError("recognizer exploded")

    r = parse_reply("Fine, thanks.", ADA, emotion_of=boom)
    assert r.text == "Fine, thanks." and r.emotion is Emotion.NEUTRAL


def test_tag_at_the_end_is_used_and_not_spoken():
    r = parse_reply("That is great news! [happy 0.7]", ADA)
    assert r.text == "That is great news!" and r.emotion is Emotion.HAPPY


@pytest.mark.parametrize(
    "raw, expected",
    [
        # role prefixes, persona name, markdown, emoji, repeats, hallucinated next turn
        ("Assistant: [joyful, 80%] Ada: Yay!!! 🎉🎉🎉 **So** proud of you. So proud of you. User: thanks! Assistant: np",
         "Yay! So proud of you."),
        ("<|im_start|>assistant\nHello there.<|im_end|>\n<|im_start|>user\nHi", "Hello there."),
        ("Sure thing.\nHuman: and then?\nAI: then nothing", "Sure thing."),
        ("I'm so sorry. *hugs you* That must hurt.", "I'm so sorry. That must hurt."),
        ("(laughs) That is *really* funny.", "That is really funny."),
        ("- First point\n- Second point\n- Third point\n- Fourth", "First point. Second point. Third point."),
        ("ha ha ha ha ha ha that's funny!!!!!! :)", "ha that's funny!"),
        ("I will remember you as [Your Name]. That is a promise.", "That is a promise."),
        ("See [the docs](http://x.y/z) for more. Or https://example.com now.", "See the docs for more. Or now."),
        ("## Heading\nPlain words here.", "Heading. Plain words here."),
    ],
)
def test_hygiene(raw, expected):
    assert parse_reply(raw, ADA).text == expected


@pytest.mark.parametrize("raw", ["", "   ", "<|im_end|>", "🎉🎉🎉", "[happy 0.9]", "User: hi", "***", "```\n```"])
def test_nothing_usable_gives_the_persona_fallback(raw, caplog):
    with caplog.at_level(logging.WARNING):
        r = parse_reply(raw, ADA)
    assert r.text == ADA.fallback
    assert "fallback" in caplog.text


def test_generic_fallback_without_persona():
    assert parse_reply("", None).text == DEFAULT_FALLBACK


def test_at_most_n_sentences_and_chars():
    raw = " ".join(f"Sentence number {i} is here." for i in range(10))
    assert parse_reply(raw, ADA, max_sentences=3).text.count(".") == 3
    long = "This is a fairly long sentence that goes on. " * 20
    text = parse_reply(long + " And more words.", ADA, max_sentences=50, max_chars=300).text
    assert len(text) <= 300 and text.endswith(".")


def test_one_huge_sentence_is_cut_at_a_word():
    raw = ", ".join(f"word{i}" for i in range(100)) + " end."
    text = parse_reply(raw, ADA, max_chars=100).text
    assert len(text) <= 104 and text.endswith("...") and "wor..." not in text


def test_unfinished_last_sentence_dropped_when_truncated():
    raw = "That sounds lovely. You know what makes this special? That smile and that laugh can make"
    assert parse_reply(raw, ADA, truncated=True).text == "That sounds lovely. You know what makes this special?"
    # not truncated: the model chose to end there; keep it as a sentence
    assert parse_reply(raw, ADA, truncated=False).text.endswith("can make.")


def test_only_an_unfinished_sentence_is_kept_with_ellipsis():
    assert parse_reply("That smile and that laugh can make", ADA, truncated=True).text == (
        "That smile and that laugh can make..."
    )


def test_clean_sentence_drops_junk_only_sentences():
    assert clean_sentence("🎉🎉") == ""
    assert clean_sentence("...") == ""
    assert clean_sentence("Ada: Hi!", "Ada") == "Hi!"


# -- streaming --------------------------------------------------------------------------------

RAW = "[happy 0.6]\nThat is wonderful news, Dr. Lee! I'm so glad. What happens next? User: nothing"


@pytest.mark.parametrize("piece", [1, 2, 5, 1000])
def test_streaming_gives_the_same_reply_in_any_chunking(piece):
    chunks = [RAW[i:i + piece] for i in range(0, len(RAW), piece)]
    out = list(stream_structured(chunks, ADA))
    sentences = [c.sentence for c in out if c.sentence]
    final = out[-1].final
    assert final is not None and all(c.final is None for c in out[:-1])
    assert sentences == ["That is wonderful news, Dr. Lee!", "I'm so glad.", "What happens next?"]
    assert final.text == " ".join(sentences)
    assert (final.emotion, final.intensity) == (Emotion.HAPPY, 0.6)


def test_tag_is_never_streamed_as_text():
    chunks = ["[", "hap", "py", " 0", ".6", "]", "\n", "Hi", " there", ".", " Bye", "."]
    sentences = [c.sentence for c in stream_structured(chunks, ADA) if c.sentence]
    assert sentences == ["Hi there.", "Bye."]


def test_stream_stops_consuming_once_done():
    consumed = []

    def source():
        for piece in ["One. ", "Two. ", "Three. ", "Four. ", "Five. "]:
            consumed.append(piece)
            yield piece

    out = list(stream_structured(source(), ADA, max_sentences=2))
    assert [c.sentence for c in out if c.sentence] == ["One.", "Two."]
    assert len(consumed) < 5


def test_first_sentence_streams_before_the_end():
    asm = ReplyAssembler(ADA)
    assert asm.feed("[sad 0.4] I am sorry.") == []
    assert asm.feed(" That") == ["I am sorry."]


def test_header_line_streamed_in_pieces_and_feeling_as_a_word():
    chunks = ["Emotion", ": sad", " 0.7", "\n", "I am sorry.", " Truly."]
    out = list(stream_structured(chunks, ADA))
    assert [c.sentence for c in out if c.sentence] == ["I am sorry.", "Truly."]
    assert out[-1].final.emotion is Emotion.SAD
    # a reply that merely starts with "Feeling" streams without waiting for a header
    asm = ReplyAssembler(ADA)
    assert asm.feed("Feeling great today! And") == ["Feeling great today!"]


def test_random_junk_never_crashes_and_never_leaks_markup():
    import random

    rng = random.Random(0)
    alphabet = list("abc XYZ.!?,:;[]{}()*_#`<|>\"'\n0123456789") + ["🎉", "😢", "<|im_end|>", "User:", "Assistant:",
                                                                     "[happy 0.7]", "Dr.", "...", "**", "```"]
    for _ in range(300):
        raw = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        piece = rng.randint(1, 6)
        out = list(stream_structured([raw[i:i + piece] for i in range(0, len(raw), piece)], ADA))
        final = out[-1].final
        assert final is not None and final.text.strip()
        assert not any(c in final.text for c in "<>|{}[]*_#`🎉")
        assert 0.0 <= final.intensity <= 1.0


@pytest.mark.parametrize("piece", [1, 3, 1000])
def test_every_sentence_carries_the_replys_emotion(piece):
    chunks = [RAW[i:i + piece] for i in range(0, len(RAW), piece)]
    out = list(stream_structured(chunks, ADA))
    said = [(c.emotion, c.emotion_source) for c in out if c.sentence]
    assert len(said) == 3 and all(s == (EmotionState.of("happy", 0.6), "model") for s in said)
    assert (out[-1].final.emotion, out[-1].final.intensity) == (Emotion.HAPPY, 0.6)


def test_emotion_is_settled_with_the_first_sentence():
    # without a tag the first sentence's text decides; a tag written later cannot change what
    # was already spoken, so the final Reply keeps the settled emotion too
    out = list(stream_structured(["I am so sad for you. ", "Truly. ", "[happy 0.9]"], ADA, emotion_of=sad_of))
    sentences = [c for c in out if c.sentence]
    assert {(c.emotion.label, c.emotion_source) for c in sentences} == {(Emotion.SAD, "text")}
    assert (out[-1].final.emotion, out[-1].final.emotion_source) == (Emotion.SAD, "text")


def test_fallback_line_is_neutral_on_its_chunk_and_in_the_reply():
    out = list(stream_structured(["<|im_end|>"], ADA))
    assert out[0].sentence and out[0].emotion.label is Emotion.NEUTRAL and out[0].emotion_source == "fallback"
    assert out[-1].final.emotion is Emotion.NEUTRAL
    assert [(e.text, e.emotion) for e in out[-1].final.arc] == [(out[0].sentence, out[0].emotion)]


SAD_THEN_ASKING = "[sad 0.6]\nOh no, I am so sorry. That is disgusting. Do you want to talk about it?"


@pytest.mark.parametrize("piece", [1, 4, 1000])
def test_each_sentence_is_released_with_its_place_on_the_arc(piece):
    from emotion import recognize
    from emotion.arc import SOFTEN

    chunks = [SAD_THEN_ASKING[i:i + piece] for i in range(0, len(SAD_THEN_ASKING), piece)]
    out = list(stream_structured(chunks, ADA, emotion_of=recognize))
    said = [(c.sentence, c.emotion) for c in out if c.sentence]
    sad = EmotionState.of("sad", 0.6)
    # the first sentence: the settled tag; a clear related reading moves the label; a question softens
    assert [e for _, e in said] == [sad, EmotionState.of("disgusted", 0.6), sad.scaled(SOFTEN)]
    assert all(c.emotion_source == "model" for c in out if c.sentence)
    final = out[-1].final
    assert [(e.text, e.emotion) for e in final.arc] == said  # the record keeps what was released
    assert (final.emotion, final.intensity) == (Emotion.SAD, 0.6)


def test_without_a_recognizer_only_questions_soften():
    out = list(stream_structured([SAD_THEN_ASKING], ADA))
    assert [c.emotion.intensity for c in out if c.sentence] == pytest.approx([0.6, 0.6, 0.42])


def test_a_tag_contradicting_its_text_is_repaired_from_the_text():
    from dialogue.llm.structured import parse_reply

    happy = lambda t: EmotionState.of(Emotion.HAPPY, 0.6) if "great" in t else EmotionState.neutral()  # noqa: E731
    r = parse_reply("[sad 0.7] Oh, that's great news! How did you get it?", emotion_of=happy)
    assert r.emotion is Emotion.HAPPY and r.emotion_source == "text"
    # a tag the words do not clearly contradict stands
    r = parse_reply("[sad 0.7] Oh, I see. How did that happen?", emotion_of=happy)
    assert r.emotion is Emotion.SAD and r.emotion_source == "model" and r.intensity == 0.7
    r = parse_reply("[surprised 0.6] That's great news!", emotion_of=happy)  # not opposite valence
    assert r.emotion is Emotion.SURPRISED


# -- the person's feeling as the tag, and echoes ------------------------------------------------

@pytest.mark.parametrize("raw, shown", [
    ("[angry] That's so unfair! What did he say?", Emotion.SAD),  # anger is met with concern
    ("[fearful] Oh, that sounds scary. When is it?", Emotion.SAD),
    ("[disgusted] Eww, how gross! Did you complain?", Emotion.DISGUSTED),
    ("[happy] You did it! How do you feel?", Emotion.HAPPY),
    ("[neutral] Nice. What's next?", Emotion.NEUTRAL),
])
def test_person_tag_gives_the_empathic_answer_before_the_first_sentence(raw, shown):
    asm = ReplyAssembler(ADA, person_tag=True, companion=True)
    first = asm.feed(raw)
    assert first and asm.emotion is not None
    emotion, source = asm.emotion
    assert emotion.label is shown and source == "model" and emotion.intensity == pytest.approx(0.6)
    assert not any("[" in s for s in first)


def test_sentences_copied_from_the_prompt_are_dropped_short_ones_kept(caplog):
    avoid = ["Oh no! No way, right into the kitchen?", "What did you do?", "What kind of music do you like?"]
    asm = ReplyAssembler(ADA, avoid=avoid)
    with caplog.at_level(logging.WARNING):
        out = asm.feed("[surprised 0.5] Oh no! No way, right into the kitchen? What did you do? ")
        out += asm.feed("What kind of music do you like? I love jazz myself.")
        sentences, reply = asm.finish()
    assert out + sentences == ["Oh no!", "I love jazz myself."]
    assert "copied from the prompt" in caplog.text


def test_a_reply_made_only_of_copies_falls_back():
    asm = ReplyAssembler(ADA, avoid=["Hi there, lovely to see you. How has your day been so far?"])
    asm.feed("[neutral 0.4] How has your day been so far? Hi there, lovely to see you.")
    _, reply = asm.finish()
    assert reply.emotion_source == "fallback"


def test_a_clear_reading_of_the_person_decides_over_the_models_person_tag():
    grief = EmotionState.of(Emotion.SAD, 0.7)

    def shown(raw, heard):
        asm = ReplyAssembler(ADA, person_tag=True, heard=heard)
        asm.feed(raw)
        reply = asm.finish()[1]
        return reply.emotion, reply.emotion_source

    assert shown("[disgusted] Oh no, I'm so sorry about your cat.", grief) == (Emotion.SAD, "model")
    # a faint or neutral reading leaves the model's tag in charge
    for faint in (EmotionState.of(Emotion.SAD, 0.2), EmotionState.neutral()):
        assert shown("[angry] How rude! What did you say?", faint)[0] is Emotion.SAD  # anger is met with concern
        assert shown("[happy] You did it!", faint)[0] is Emotion.HAPPY


def test_a_clear_reading_of_the_person_is_not_overruled_by_cheering_words():
    def happy_of(text):
        return EmotionState.of(Emotion.HAPPY, 0.6)

    asm = ReplyAssembler(ADA, person_tag=True, heard=EmotionState.of(Emotion.FEARFUL, 0.7), emotion_of=happy_of)
    asm.feed("[happy] You should be more confident, you'll do great!")
    assert asm.finish()[1].emotion is Emotion.SAD
    asm = ReplyAssembler(ADA, person_tag=True, emotion_of=happy_of)  # the model's own tag: the words decide
    asm.feed("[sad] Oh, that's wonderful news!")
    assert asm.finish()[1].emotion is Emotion.HAPPY


@pytest.mark.parametrize("sentence, assistant", [
    ("Let me know if there's anything else you need help with.", True),
    ("Is there anything else you'd like to talk about?", True),
    ("It's important to seek professional help.", True),
    ("Let me know how it goes!", False),
    ("What else happened at the party?", False),
    # a coder model's instinct: code explained instead of a friend's answer
    ("To reverse a string in JavaScript, you can use the split(), reverse(), and join() methods together.", True),
    ("Here's an example:", True),
    ("To reverse a string in JavaScript, you can use the split method to convert it into an array.", True),
    ("I love coding with Python on rainy days!", False),
    ("Here is an idea for the weekend.", True),
    ("That sounds like a fun idea for the weekend (if the weather holds).", False),
])
def test_assistant_speak(sentence, assistant):
    from dialogue.llm.hygiene import is_assistant_speak

    assert is_assistant_speak(sentence) is assistant
