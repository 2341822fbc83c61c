"""app.text_emotion with a fake embedder: the reader, its fallback, the training data and training."""

import logging

import numpy as np
import pytest

from app.text_emotion import FeelingReader, held_out_messages, train, training_messages
from emotion.learned import MessageClassifier
from emotion.state import Emotion
from emotion.text import recognize

AXES = {"grief": 0, "calm": 1, "shock": 2}


class FakeEmbedder:
    """An embedding along the axis of the first key word in the text (unit length)."""

    def __init__(self):
        self.loaded = 0

    def load(self):
        self.loaded += 1

    def embed(self, texts):
        out = np.zeros((len(texts), 3), np.float32)
        for i, t in enumerate(texts):
            out[i, next((a for w, a in AXES.items() if w in t), 1)] = 1.0
        return out


def _weights(tmp_path):
    path = tmp_path / "w.npz"
    MessageClassifier((Emotion.SAD, Emotion.NEUTRAL, Emotion.SURPRISED), np.eye(3, dtype=np.float32) * 8,
                      np.zeros(3, np.float32)).save(path)
    return path


def test_the_reader_reads_through_the_classifier(tmp_path):
    embedder = FakeEmbedder()
    reader = FeelingReader(_weights(tmp_path), embedder)
    assert reader("the grief of losing the farm").label is Emotion.SAD
    assert reader("a shock, the farm was sold").label is Emotion.SURPRISED
    assert reader("") == recognize("")
    assert embedder.loaded == 1  # loaded once, on first use


def test_without_weights_the_reader_says_why_once_and_uses_the_lexicon(tmp_path, caplog):
    reader = FeelingReader(tmp_path / "missing.npz", FakeEmbedder())
    with caplog.at_level(logging.WARNING, logger="app.text_emotion"):
        assert not reader.load()
        assert reader("the grief of losing the farm") == recognize("the grief of losing the farm")
        reader("I'm so happy!")
    assert len([r for r in caplog.records if "missing.npz" in r.getMessage()]) == 1


def test_training_messages_name_the_line_of_a_bad_entry(tmp_path):
    good = tmp_path / "m.txt"
    good.write_text("# comment\nsad|My dog died.\n\nhappy|I won!\n", encoding="utf-8")
    sentences = tmp_path / "s.csv"
    sentences.write_text("text,label,source,split\nHi there.,neutral,x,dev\nWhat?,surprised,x,test\n", encoding="utf-8")
    assert training_messages(good, sentences) == [(Emotion.NEUTRAL, "Hi there."), (Emotion.SAD, "My dog died."),
                                                  (Emotion.HAPPY, "I won!")]
    bad = tmp_path / "bad.txt"
    bad.write_text("sad|fine\nno separator here\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.txt:2"):
        training_messages(bad, sentences)


def test_the_shipped_training_data_spans_every_label_and_avoids_nothing_it_trains_on():
    messages = training_messages()
    assert {e for e, _ in messages} == set(Emotion)
    assert len(messages) >= 300
    held_out = set(held_out_messages())
    assert not held_out & {t for _, t in messages}


def test_training_drops_messages_close_to_held_out_ones():
    messages = [(Emotion.SAD, "grief one"), (Emotion.SAD, "grief two"), (Emotion.NEUTRAL, "calm one"),
                (Emotion.NEUTRAL, "calm two"), (Emotion.SURPRISED, "shock one"), (Emotion.SURPRISED, "shock two")]
    clf, dropped = train(messages, FakeEmbedder())
    assert dropped == 0
    p = clf.probabilities(FakeEmbedder().embed(["grief"])[0])
    assert max(p, key=p.get) is Emotion.SAD
    _, dropped = train(messages, FakeEmbedder(), avoid=["a shock"])
    assert dropped == 2
