"""The trained reader of a person's feeling (emotion.learned): weights, probabilities, and where
the classifier decides instead of the lexicon."""

import numpy as np
import pytest

from emotion.learned import CONFIDENT, ClassifierError, MessageClassifier, read_feeling
from emotion.state import Emotion
from emotion.text import recognize

LABELS = (Emotion.NEUTRAL, Emotion.SAD, Emotion.SURPRISED)


def _classifier() -> MessageClassifier:
    # one embedding axis per label: an embedding along axis i reads as LABELS[i]
    return MessageClassifier(LABELS, np.eye(3, dtype=np.float32) * 8.0, np.zeros(3, np.float32))


def test_probabilities_follow_the_weights_and_sum_to_one():
    p = _classifier().probabilities(np.array([0.0, 1.0, 0.0]))
    assert max(p, key=p.get) is Emotion.SAD and p[Emotion.SAD] > 0.99
    assert sum(p.values()) == pytest.approx(1.0)


def test_weights_round_trip(tmp_path):
    clf = _classifier()
    clf.save(tmp_path / "w.npz")
    back = MessageClassifier.load(tmp_path / "w.npz")
    assert back.labels == LABELS and back.dims == 3
    assert np.allclose(back.weights, clf.weights)


def test_unusable_weights_are_refused_with_the_file_named(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not numpy")
    with pytest.raises(ClassifierError, match="bad.npz"):
        MessageClassifier.load(bad)
    np.savez(tmp_path / "label.npz", labels=np.array(["glee"]), weights=np.zeros((1, 3)), bias=np.zeros(1))
    with pytest.raises(ClassifierError, match="glee"):
        MessageClassifier.load(tmp_path / "label.npz")
    np.savez(tmp_path / "shape.npz", labels=np.array(["sad", "happy"]), weights=np.zeros((3, 3)), bias=np.zeros(2))
    with pytest.raises(ClassifierError, match="do not match"):
        MessageClassifier.load(tmp_path / "shape.npz")


def test_a_confident_reading_decides_what_the_lexicon_misses():
    text = "We had to put our old horse down this morning."
    assert recognize(text).label is not Emotion.SAD  # an event, not a feeling word
    read = read_feeling(text, {Emotion.NEUTRAL: 0.1, Emotion.SAD: 0.85, Emotion.SURPRISED: 0.05})
    assert read.label is Emotion.SAD
    assert read.intensity >= 0.35 and read.valence < 0  # heard clearly (dialogue.prompts.HEARD_MIN)


def test_an_unsure_reading_leaves_the_lexicon_to_decide():
    text = "I am so furious with my landlord!"
    unsure = {Emotion.NEUTRAL: 0.3, Emotion.SAD: CONFIDENT - 0.05, Emotion.SURPRISED: 0.15}
    assert read_feeling(text, unsure) == recognize(text)
    assert read_feeling(text, None) == recognize(text)  # no embedder: the lexicon alone


def test_agreeing_with_the_lexicon_keeps_its_reading():
    text = "I'm so sad, my cat died."
    assert recognize(text).label is Emotion.SAD
    assert read_feeling(text, {Emotion.SAD: 0.9, Emotion.NEUTRAL: 0.1}) == recognize(text)


def test_a_confident_neutral_reading_calms_a_weak_lexicon_hit():
    text = "What's the oldest tree in the world? I'm curious."
    read = read_feeling(text, {Emotion.NEUTRAL: 0.9, Emotion.SAD: 0.05, Emotion.SURPRISED: 0.05})
    assert read.label is Emotion.NEUTRAL
