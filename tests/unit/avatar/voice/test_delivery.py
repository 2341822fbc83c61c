import pytest

from avatar.voice import Delivery, VoiceSettings, delivery_for
from emotion import EmotionState

VOICE = VoiceSettings()


def test_neutral_and_zero_intensity_are_unchanged():
    assert delivery_for(EmotionState.neutral(), VOICE) == Delivery(1.0, 1.0, 1.0)
    assert delivery_for(EmotionState.of("sad", 0.0), VOICE) == Delivery(1.0, 1.0, 1.0)


def test_sad_is_slower_lower_softer():
    d = delivery_for(EmotionState.of("sad", 0.8), VOICE)
    assert d.rate < 1 and d.pitch < 1 and d.gain < 1


@pytest.mark.parametrize("label", ["happy", "surprised", "angry"])
def test_aroused_positive_or_angry_is_faster_and_higher_or_louder(label):
    d = delivery_for(EmotionState.of(label, 0.8), VOICE)
    assert d.rate > 1 and (d.pitch > 1 or d.gain > 1)


def test_fearful_is_faster_and_higher():
    d = delivery_for(EmotionState.of("fearful", 0.8), VOICE)
    assert d.rate > 1 and d.pitch > 1


def test_intensity_scales_the_effect_and_voice_multiplies():
    weak = delivery_for(EmotionState.of("happy", 0.3), VOICE)
    strong = delivery_for(EmotionState.of("happy", 1.0), VOICE)
    assert 1 < weak.rate < strong.rate and 1 < weak.pitch < strong.pitch
    slow_voice = delivery_for(EmotionState.of("happy", 1.0), VoiceSettings(rate=0.5, pitch=0.5))
    assert slow_voice.rate == pytest.approx(strong.rate * 0.5)
    assert slow_voice.pitch == pytest.approx(0.6)  # clipped to the safe range
