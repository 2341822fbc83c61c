"""Text emotion recognition (emotion.text) and the labelled sentence set."""

import csv
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from emotion import text as text_mod
from emotion.state import Emotion, EmotionState
from emotion.text import MAX_CHARS, cue_scores, recognize, tokenize

DATA = Path(__file__).resolve().parents[2] / "data" / "emotion_sentences.csv"


@pytest.mark.parametrize("text", ["", "   ", "\n\t", None])
def test_empty_text_is_neutral(text):
    assert recognize(text) == EmotionState.neutral()


@pytest.mark.parametrize(
    "text, label",
    # fresh sentences, not in the labelled set
    [("I'm so happy for you!", Emotion.HAPPY),
     ("I feel really sad and lonely tonight.", Emotion.SAD),
     ("I am furious with that stupid company.", Emotion.ANGRY),
     ("Whoa, I did not expect that at all!", Emotion.SURPRISED),
     ("I'm terrified of the exam results.", Emotion.FEARFUL),
     ("Ew, the bin smells rotten.", Emotion.DISGUSTED),
     ("The meeting is at three in room four.", Emotion.NEUTRAL)],
)
def test_clear_sentences(text, label):
    assert recognize(text).label is label


def test_negation_flips_or_drops_cues():
    assert recognize("I'm not happy about this.").label is Emotion.SAD
    assert recognize("I'm not scared of it.").label is not Emotion.FEARFUL
    # "can't stop" / "can't wait" intensify instead of negating
    assert recognize("I can't stop laughing.").label is Emotion.HAPPY
    assert recognize("I can't wait to see you.").label is Emotion.HAPPY


def test_phrases_and_elongated_interjections():
    assert recognize("Ewwww.").label is Emotion.DISGUSTED
    assert recognize("Yaaaay").label is Emotion.HAPPY
    assert recognize("No way, you're kidding").label is Emotion.SURPRISED
    assert recognize("Wait what?!").label is Emotion.SURPRISED
    assert recognize("What if I fall?").label is Emotion.FEARFUL


def test_emoji_carry_emotion():
    assert recognize("😡😡").label is Emotion.ANGRY
    assert recognize("🤢").label is Emotion.DISGUSTED


def test_valence_and_arousal_follow_the_label():
    happy, sad = recognize("I love this, it's wonderful!"), recognize("I feel so miserable and alone.")
    assert happy.valence > 0.2 and sad.valence < -0.2
    assert recognize("I'm terrified!").arousal > sad.arousal


def test_intensity_grows_with_emphasis():
    calm = recognize("I'm annoyed.")
    loud = recognize("I'm SO ANNOYED and furious!!!")
    assert calm.label is loud.label is Emotion.ANGRY
    assert loud.intensity > calm.intensity
    assert 0 < calm.intensity <= loud.intensity <= 1


def test_painting_is_not_pain():
    assert cue_scores(tokenize("we are painting the kitchen"))[Emotion.SAD] == 0


@pytest.mark.parametrize(
    "junk",
    ["日本語のテキストです", "Привет, как дела?", "asdf qwer zxcv!!!", "\x00\x01\x02", "?!?!?!", "😀" * 50,
     "'''", "a" * 5000, "I'm\u2019 ok", "don't"],
)
def test_junk_does_not_crash(junk):
    s = recognize(junk)
    assert isinstance(s, EmotionState)
    assert 0 <= s.intensity <= 1


def test_non_english_words_read_neutral():
    assert recognize("日本語のテキストです").label is Emotion.NEUTRAL


def test_very_long_text_is_bounded_in_time_and_read_from_its_end():
    long = "The weather report said nothing much. " * 20000 + "I am so scared right now."
    t0 = time.perf_counter()
    s = recognize(long)
    assert time.perf_counter() - t0 < 0.5
    assert s.label is Emotion.FEARFUL
    assert len(long) > MAX_CHARS


def test_fast_enough_per_sentence():
    sentences = ["I can't believe you did that!", "I'm a bit worried about tomorrow.", "Pass the salt."] * 30
    recognize("warm up")
    t0 = time.perf_counter()
    for s in sentences:
        recognize(s)
    assert (time.perf_counter() - t0) / len(sentences) < 0.005


def test_missing_vader_names_the_pip_command(monkeypatch):
    text_mod._vader.cache_clear()
    monkeypatch.setitem(sys.modules, "vaderSentiment.vaderSentiment", None)
    try:
        with pytest.raises(ImportError, match="pip install vaderSentiment"):
            recognize("hello there")
    finally:
        text_mod._vader.cache_clear()


def test_emotion_package_does_not_import_torch_or_vader_at_import():
    import subprocess

    code = "import sys, emotion; assert 'torch' not in sys.modules; assert 'vaderSentiment' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[3])


def _rows():
    with open(DATA, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_labelled_set_is_balanced_and_split():
    rows = _rows()
    assert len(rows) >= 175
    labels = Counter(r["label"] for r in rows)
    assert set(labels) == {e.value for e in Emotion}
    assert min(labels.values()) >= 25
    assert {r["split"] for r in rows} == {"dev", "test"}
    for split in ("dev", "test"):
        assert min(Counter(r["label"] for r in rows if r["split"] == split).values()) >= 12
    assert len({r["text"] for r in rows}) == len(rows)


def test_accuracy_floor_on_test_split():
    """Regression guard, not the figure to report (see bench.text_emotion)."""
    test = [r for r in _rows() if r["split"] == "test"]
    correct = sum(recognize(r["text"]).label.value == r["label"] for r in test)
    assert correct / len(test) >= 0.75
