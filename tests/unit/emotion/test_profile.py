"""EmotionProfile validation, expression scaling and load_profile errors."""

import json

import pytest
from pydantic import ValidationError

from emotion.profile import LISTENER_EXPONENT, EmotionProfile, ProfileError, load_profile, shown_strength
from emotion.state import Emotion, EmotionState

SMILE = {"mouthSmileLeft": 0.6, "mouthSmileRight": 0.4}


def make(**kw) -> EmotionProfile:
    return EmotionProfile(name="t", speaker={"happy": SMILE}, listener={"happy": {"mouthSmileLeft": 0.2}}, **kw)


def test_defaults_and_emotion_keys_parsed():
    p = make()
    assert p.baseline.label is Emotion.NEUTRAL
    assert set(p.speaker) == {Emotion.HAPPY}


@pytest.mark.parametrize(
    "field, value",
    [("expressiveness", -0.1), ("expressiveness", 1.6), ("mirroring", 1.2), ("decay_half_life_s", 0.0),
     ("name", ""), ("unknown_field", 1)],
)
def test_rejects_out_of_range_fields(field, value):
    kw = {"name": "t", field: value}
    with pytest.raises(ValidationError):
        EmotionProfile(**kw)


@pytest.mark.parametrize("w", [-0.01, 1.01, float("nan")])
def test_rejects_coefficients_outside_unit_range(w):
    with pytest.raises(ValidationError, match="outside"):
        EmotionProfile(name="t", speaker={"happy": {"mouthSmileLeft": w}})


def test_rejects_unknown_emotion_key():
    with pytest.raises(ValidationError):
        EmotionProfile(name="t", speaker={"elated": SMILE})


def test_expression_scales_by_intensity_and_expressiveness():
    p = make(expressiveness=0.5)
    e = p.expression(EmotionState.of("happy", 0.8), listening=False)
    k = shown_strength(0.8) * 0.5
    assert e == pytest.approx({"mouthSmileLeft": 0.6 * k, "mouthSmileRight": 0.4 * k})


def test_expression_is_clipped_to_one():
    p = EmotionProfile(name="t", expressiveness=1.5, speaker={"happy": {"mouthSmileLeft": 0.9}})
    assert p.expression(EmotionState.of("happy", 1.0), listening=False)["mouthSmileLeft"] == 1.0


def test_listening_shows_the_listener_table_at_the_mirrored_strength_and_falls_back_to_the_label_table():
    from emotion.labels import spec

    p = make(mirroring=0.6)
    k = p.listener_strength(EmotionState.of("happy", 0.8))
    assert k == pytest.approx(shown_strength(0.48, LISTENER_EXPONENT)) and k > 0.75   # 0.6 x 0.8 reads clearly
    assert p.expression(EmotionState.of("happy", 0.8), listening=True) == pytest.approx({"mouthSmileLeft": 0.2 * k})
    # a label the profile's listener table lacks: the label table's listener face, not the speaker's
    sad = p.expression(EmotionState.of("sad", 0.8), listening=True)
    assert sad == pytest.approx({n: w * k for n, w in spec("sad").listener.items()})
    assert make(mirroring=0.0).expression(EmotionState.of("sad", 0.8), listening=True) == \
        pytest.approx(dict.fromkeys(sad, 0.0))                                      # no mirroring, no face
    weak = make(mirroring=0.2).listener_strength(EmotionState.of("sad", 0.8))
    assert 0.2 < weak < k                                                            # a reserved listener: a trace


def test_expression_of_missing_label_is_the_tables_default_face_and_zero_intensity_zero():
    from emotion.labels import spec

    p = make()
    assert p.expression(EmotionState.of("sad", 1.0), listening=False) == pytest.approx(dict(spec("sad").face))
    assert p.expression(EmotionState.of("neutral", 1.0), listening=False) == {}
    assert all(v == 0 for v in p.expression(EmotionState.of("happy", 0.0), listening=False).values())


def test_load_profile_round_trip(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(make(mirroring=0.9).model_dump_json())
    p = load_profile(path)
    assert p.mirroring == 0.9 and p.speaker[Emotion.HAPPY] == SMILE


def test_load_profile_errors_name_file_and_field(tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(ProfileError, match="nope.json"):
        load_profile(missing)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    with pytest.raises(ProfileError, match=r"bad.json: not valid JSON \(line 1"):
        load_profile(bad_json)
    bad_field = tmp_path / "field.json"
    bad_field.write_text(json.dumps({"name": "x", "mirroring": 3}))
    with pytest.raises(ProfileError, match="field.json: field mirroring"):
        load_profile(bad_field)
