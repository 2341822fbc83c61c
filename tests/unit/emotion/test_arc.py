"""The emotion arc rule: how a reply's later sentences move relative to its settled emotion."""

from __future__ import annotations

import pytest

from emotion import Emotion, EmotionState, recognize
from emotion.arc import SOFTEN, related, sentence_emotion

SAD = EmotionState.of("sad", 0.6)


def test_a_sad_reply_softens_on_a_warm_question():
    out = sentence_emotion(SAD, "Do you want to talk about it?", recognize("Do you want to talk about it?"))
    assert out.label is Emotion.SAD and out.intensity == pytest.approx(0.6 * SOFTEN)


def test_a_clearly_warm_sentence_softens_but_never_flips():
    warm = "I am glad you told me."
    out = sentence_emotion(SAD, warm, recognize(warm))
    assert recognize(warm).label is Emotion.HAPPY
    assert out.label is Emotion.SAD and out.intensity == pytest.approx(0.6 * SOFTEN)
    happy = EmotionState.of("happy", 0.8)
    assert sentence_emotion(happy, "How awful.", EmotionState.of("sad", 0.7)) == happy.scaled(SOFTEN)


def test_a_clear_strong_related_reading_moves_the_label_at_the_replys_intensity():
    out = sentence_emotion(SAD, "That is disgusting.", recognize("That is disgusting."))
    assert out == EmotionState.of("disgusted", 0.6)
    happy = EmotionState.of("happy", 0.5)
    assert sentence_emotion(happy, "Wow, really?", recognize("Wow, really?")) == EmotionState.of("surprised", 0.5)


def test_a_weak_or_unrelated_reading_keeps_the_replys_emotion():
    assert sentence_emotion(SAD, "I am here for you.", recognize("I am here for you.")) == SAD
    assert sentence_emotion(SAD, "Losing a pet is heartbreaking.", recognize("Losing a pet is heartbreaking.")) == SAD
    weak = EmotionState.of("disgusted", 0.4)
    assert sentence_emotion(SAD, "Hm.", weak) == SAD
    assert not related(Emotion.SAD, Emotion.FEARFUL)  # fear is not a nearby shade of sadness
    assert sentence_emotion(SAD, "That is terrifying.", EmotionState.of("fearful", 0.7)) == SAD
    assert sentence_emotion(SAD, "Hm.", None) == SAD


def test_a_question_in_a_pleasant_reply_keeps_it_and_a_neutral_reply_stays_neutral():
    happy = EmotionState.of("happy", 0.7)
    assert sentence_emotion(happy, "How did it go?", None) == happy
    neutral = EmotionState.of("neutral", 0.5)
    assert sentence_emotion(neutral, "That is wonderful news!", recognize("That is wonderful news!")) == neutral


@pytest.mark.parametrize("label", [e for e in Emotion if e is not Emotion.NEUTRAL], ids=lambda e: e.value)
@pytest.mark.parametrize("reading", list(Emotion), ids=lambda e: e.value)
def test_never_stronger_and_only_related_labels(label, reading):
    reply = EmotionState.of(label, 0.7)
    for sentence in ("Okay.", "Really?"):
        out = sentence_emotion(reply, sentence, EmotionState.of(reading, 0.9))
        assert out.intensity <= reply.intensity + 1e-9
        assert out.label is label or related(label, out.label)
        assert out.valence * reply.valence >= 0  # never the opposite
