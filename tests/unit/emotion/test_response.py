from emotion import Emotion, EmotionState
from emotion.response import respond_to


def test_grief_is_not_answered_with_joy():
    out = respond_to(EmotionState.of("sad", 0.8), EmotionState.of("happy", 0.7), mirroring=0.5)
    assert out.label is Emotion.SAD


def test_anger_is_met_with_concern_not_anger():
    out = respond_to(EmotionState.of("angry", 0.9), EmotionState.neutral(), mirroring=0.8)
    assert out.label is Emotion.SAD


def test_neutral_person_leaves_the_text_emotion():
    text = EmotionState.of("surprised", 0.6)
    assert respond_to(EmotionState.neutral(), text) == text


def test_low_mirroring_lets_a_strong_text_emotion_win():
    out = respond_to(EmotionState.of("sad", 0.3), EmotionState.of("happy", 0.9), mirroring=0.0)
    assert out.label is Emotion.HAPPY
    out = respond_to(EmotionState.of("sad", 0.3), EmotionState.of("happy", 0.9), mirroring=1.0)
    assert out.label is Emotion.SAD
