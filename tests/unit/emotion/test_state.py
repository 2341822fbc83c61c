"""Emotion maths: labels on the valence/arousal plane, blending, weighted mean, decay."""

import math

import pytest

from emotion.state import (
    NEUTRAL_RADIUS, PROTOTYPES, Emotion, EmotionState, blend, decay, label_for, parse_emotion,
    weighted_mean,
)

NON_NEUTRAL = [e for e in Emotion if e is not Emotion.NEUTRAL]


@pytest.mark.parametrize("emo", NON_NEUTRAL)
def test_prototype_maps_back_to_its_label(emo):
    assert label_for(*PROTOTYPES[emo]) is emo


@pytest.mark.parametrize("emo", NON_NEUTRAL)
@pytest.mark.parametrize("k", [1.0, 0.7, 0.5, 0.3])
def test_label_to_state_to_label_round_trip(emo, k):
    s = EmotionState.of(emo, k)
    assert s.label is emo
    assert s.intensity == pytest.approx(k)
    assert (s.valence, s.arousal) == pytest.approx((PROTOTYPES[emo][0] * k, PROTOTYPES[emo][1] * k))
    # a weaker version of an emotion is the same emotion (regression: weak anger read as disgust)
    assert label_for(s.valence, s.arousal) is emo
    assert EmotionState.at(s.valence, s.arousal).label is emo


def test_near_origin_is_neutral():
    assert label_for(0.0, 0.0) is Emotion.NEUTRAL
    assert label_for(NEUTRAL_RADIUS * 0.9, 0.0) is Emotion.NEUTRAL
    assert label_for(NEUTRAL_RADIUS * 1.5, 0.0) is Emotion.HAPPY


def test_quadrants_read_sensibly():
    assert label_for(0.9, 0.2) is Emotion.HAPPY
    assert label_for(-0.6, -0.6) is Emotion.SAD
    assert label_for(0.1, 0.95) is Emotion.SURPRISED
    assert label_for(-0.9, 0.1) is Emotion.DISGUSTED


def test_at_clips_and_measures_intensity():
    s = EmotionState.at(3.0, 0.0)
    assert (s.valence, s.arousal, s.intensity) == (1.0, 0.0, 1.0)
    s = EmotionState.at(0.3, 0.4)
    assert s.intensity == pytest.approx(0.5)


def test_of_neutral_sits_at_origin_and_clips_intensity():
    s = EmotionState.of("neutral", 0.9)
    assert (s.valence, s.arousal) == (0.0, 0.0)
    assert EmotionState.of("happy", 4.0).intensity == 1.0
    assert EmotionState.of("happy", -1.0).intensity == 0.0


def test_state_rejects_out_of_range_values():
    with pytest.raises(ValueError):
        EmotionState(label="happy", valence=1.5)
    with pytest.raises(ValueError):
        EmotionState(label="happy", intensity=-0.1)


def test_scaled_keeps_label_and_clips():
    s = EmotionState.of("angry", 0.8).scaled(0.5)
    assert s.label is Emotion.ANGRY and s.intensity == pytest.approx(0.4)
    assert EmotionState.of("angry", 0.8).scaled(5).intensity == 1.0


@pytest.mark.parametrize(
    "name, expected",
    [("HAPPY", Emotion.HAPPY), ("  joy ", Emotion.HAPPY), ("anger", Emotion.ANGRY),
     ("mad", Emotion.ANGRY), ("scared", Emotion.FEARFUL), ("disgust", Emotion.DISGUSTED),
     ("surprise", Emotion.SURPRISED), ("sadness", Emotion.SAD), ("calm", Emotion.NEUTRAL),
     ("", Emotion.NEUTRAL), (Emotion.SAD, Emotion.SAD)],
)
def test_parse_emotion_accepts_labels_and_synonyms(name, expected):
    assert parse_emotion(name) is expected


@pytest.mark.parametrize("name", ["hungry", "happyy", "ангry"])
def test_parse_emotion_rejects_unknown_names_listing_the_labels(name):
    with pytest.raises(ValueError, match="unknown emotion.*neutral, happy"):
        parse_emotion(name)


def test_state_label_field_accepts_synonyms():
    assert EmotionState(label="joy").label is Emotion.HAPPY


def test_blend_endpoints_return_the_inputs():
    a, b = EmotionState.of("happy", 0.1), EmotionState.of("sad", 0.7)
    assert blend(a, b, 0.0) == a  # a weak happy state stays happy (regression)
    assert blend(a, b, 1.0) == b
    assert blend(a, b, -3) == a and blend(a, b, 7) == b


def test_blend_midpoint_is_the_average():
    a, b = EmotionState.of("happy", 0.8), EmotionState.of("surprised", 0.6)
    m = blend(a, b, 0.5)
    assert m.valence == pytest.approx((a.valence + b.valence) / 2)
    assert m.arousal == pytest.approx((a.arousal + b.arousal) / 2)
    assert m.intensity == pytest.approx(0.7)
    assert m.label is label_for(m.valence, m.arousal)


def test_blend_of_one_label_keeps_it_and_opposites_cancel():
    assert blend(EmotionState.of("sad", 0.2), EmotionState.of("sad", 0.9), 0.5).label is Emotion.SAD
    m = blend(EmotionState.of("happy", 0.8), EmotionState.of("sad", 0.8), 0.5)
    assert math.hypot(m.valence, m.arousal) < 0.1
    assert m.label is Emotion.NEUTRAL


def test_blend_to_zero_intensity_is_neutral():
    m = blend(EmotionState.of("angry", 0.0), EmotionState.of("happy", 0.0), 0.5)
    assert m.label is Emotion.NEUTRAL


def test_weighted_mean_empty_or_zero_weights_is_neutral():
    assert weighted_mean([]) == EmotionState.neutral()
    assert weighted_mean([(EmotionState.of("angry", 1.0), 0.0)]).label is Emotion.NEUTRAL
    assert weighted_mean([(EmotionState.of("angry", 1.0), -2.0)]).label is Emotion.NEUTRAL


def test_weighted_mean_averages_the_plane_with_weights():
    h, s = EmotionState.of("happy", 1.0), EmotionState.of("sad", 1.0)
    m = weighted_mean([(h, 3.0), (s, 1.0)])
    assert m.valence == pytest.approx(0.75 * h.valence + 0.25 * s.valence)
    assert m.arousal == pytest.approx(0.75 * h.arousal + 0.25 * s.arousal)
    assert m.intensity == pytest.approx(1.0)
    assert m.label is Emotion.HAPPY


def test_weighted_mean_label_is_strongest_summed_label_not_the_averaged_point():
    # angry + surprised average to a point whose nearest label could be either; the heavier wins
    states = [(EmotionState.of("angry", 0.9), 1.0), (EmotionState.of("surprised", 0.9), 2.0)]
    assert weighted_mean(states).label is Emotion.SURPRISED
    # many weak neutral turns do not outvote one strong emotion
    states = [(EmotionState.neutral(), 1.0)] * 5 + [(EmotionState.of("fearful", 0.9), 1.0)]
    assert weighted_mean(states).label is Emotion.FEARFUL


def test_decay_after_one_half_life_is_half_way_to_baseline():
    start, base = EmotionState.of("angry", 0.8), EmotionState.of("happy", 0.2)
    d = decay(start, base, seconds=10.0, half_life_s=10.0)
    assert d.valence == pytest.approx((start.valence + base.valence) / 2)
    assert d.arousal == pytest.approx((start.arousal + base.arousal) / 2)
    assert d.intensity == pytest.approx(0.5)
    d2 = decay(start, base, seconds=20.0, half_life_s=10.0)
    assert d2.valence == pytest.approx(base.valence + 0.25 * (start.valence - base.valence))


def test_decay_towards_neutral_keeps_the_emotion_while_it_fades():
    start = EmotionState.of("angry", 0.9)
    d = decay(start, EmotionState.neutral(), seconds=5.0, half_life_s=5.0)
    assert d.label is Emotion.ANGRY  # regression: used to turn into disgust half way
    assert d.intensity == pytest.approx(0.45)
    assert decay(start, EmotionState.neutral(), 200.0, 5.0).label is Emotion.NEUTRAL


def test_decay_at_zero_seconds_is_unchanged():
    start = EmotionState.of("sad", 0.15)
    assert decay(start, EmotionState.neutral(), 0.0, 3.0) == start


@pytest.mark.parametrize("seconds, half_life", [(1.0, 0.0), (1.0, -2.0), (-1.0, 5.0)])
def test_decay_rejects_bad_times(seconds, half_life):
    with pytest.raises(ValueError):
        decay(EmotionState.of("sad"), EmotionState.neutral(), seconds, half_life)
