"""Built-in emotion profiles and user overrides."""

import json

import numpy as np
import pytest

from avatar.motion.clip import ARKIT_NAMES
from emotion.builtin import builtin_profiles_dir, get_profile, list_profiles
from emotion.profile import EmotionProfile, ProfileError
from emotion.state import Emotion, EmotionState

REQUIRED = {"warm", "calm", "cheerful", "reserved"}


def test_builtin_dir_holds_the_required_profiles_and_a_licence_note():
    folder = builtin_profiles_dir()
    assert REQUIRED <= {p.stem for p in folder.glob("*.json")}
    assert (folder / "README.md").is_file()
    assert "CC0" in (folder / "README.md").read_text()


@pytest.fixture(scope="module")
def builtins():
    return list_profiles(None)


def test_every_builtin_loads_with_arkit_names_and_takes_faces_from_the_label_table(builtins):
    from emotion.labels import spec

    assert REQUIRED <= builtins.keys()
    for name, p in builtins.items():
        assert p.name == name
        for emo in Emotion:  # every label has a face: the profile's own or the table's
            face = p.expression(EmotionState.of(emo, 1.0), listening=False)
            if emo not in p.speaker:
                assert face == pytest.approx({k: min(v * p.expressiveness, 1.0) for k, v in spec(emo).face.items()})
        for table in (p.speaker, p.listener):
            for emo, coeffs in table.items():
                unknown = set(coeffs) - set(ARKIT_NAMES)
                assert not unknown, f"{name}.{emo.value}: not ARKit names: {unknown}"


def test_every_non_neutral_emotion_moves_the_face_and_a_listener_keeps_its_mouth_quiet(builtins):
    for name, p in builtins.items():
        for emo in Emotion:
            if emo is Emotion.NEUTRAL:
                continue
            speak = p.expression(EmotionState.of(emo, 1.0), listening=False)
            listen = p.expression(EmotionState.of(emo, 1.0), listening=True)
            assert max(speak.values()) > 0.1, f"{name}.{emo.value}"
            assert max(listen.values()) > 0.05, f"{name}.{emo.value}"               # mirrored: it shows
            # a listener's mouth is closed or slightly parted (the jaw well below a speaker's open vowels)
            assert listen.get("jawOpen", 0.0) <= 0.6 * p.expressiveness, f"{name}.{emo.value}"


def test_expected_action_units_per_emotion(builtins):
    face = {e: builtins["warm"].expression(EmotionState.of(e, 1.0), listening=False) for e in Emotion}
    assert face[Emotion.HAPPY]["mouthSmileLeft"] > 0.3
    assert face[Emotion.SAD]["mouthFrownLeft"] > 0.2
    assert face[Emotion.ANGRY]["browDownLeft"] > 0.3
    assert face[Emotion.SURPRISED]["browOuterUpLeft"] > 0.3 and face[Emotion.SURPRISED]["jawOpen"] > 0.3
    assert face[Emotion.FEARFUL]["browInnerUp"] > 0.3
    assert face[Emotion.DISGUSTED]["noseSneerLeft"] > 0.3


def test_profiles_differ_in_temperament(builtins):
    assert builtins["reserved"].expressiveness < builtins["warm"].expressiveness < builtins["cheerful"].expressiveness
    assert builtins["cheerful"].baseline.label is Emotion.HAPPY
    assert builtins["calm"].baseline.label is Emotion.NEUTRAL


def _write(folder, name, **overrides):
    data = json.loads((builtin_profiles_dir() / "warm.json").read_text())
    data.update(name=name, **overrides)
    (folder / f"{name}.json").write_text(json.dumps(data))


def test_user_profiles_override_and_extend_builtins(tmp_path):
    _write(tmp_path, "warm", mirroring=0.05)
    _write(tmp_path, "mine", expressiveness=0.3)
    profiles = list_profiles(tmp_path)
    assert profiles["warm"].mirroring == 0.05
    assert profiles["mine"].expressiveness == 0.3
    assert REQUIRED <= profiles.keys()
    assert get_profile("warm", tmp_path).mirroring == 0.05
    assert get_profile("warm").mirroring != 0.05
    assert get_profile("calm", tmp_path).name == "calm"


def test_missing_user_dir_gives_the_builtins(tmp_path):
    assert list_profiles(tmp_path / "absent").keys() == list_profiles(None).keys()


def test_malformed_user_file_names_file_and_field(tmp_path):
    _write(tmp_path, "broken", speaker={"happy": {"mouthSmileLeft": 2.0}})
    with pytest.raises(ProfileError, match=r"broken\.json: field speaker.*happy\.mouthSmileLeft = 2\.0"):
        list_profiles(tmp_path)
    with pytest.raises(ProfileError, match=r"broken\.json"):
        get_profile("broken", tmp_path)


def test_unknown_profile_lists_known_names(tmp_path):
    with pytest.raises(ProfileError, match="unknown emotion profile 'grumpy'.*calm.*warm"):
        get_profile("grumpy", tmp_path)


def test_a_clear_feeling_shows_most_of_its_face_and_a_faint_one_stays_faint():
    from emotion.profile import shown_strength

    xs = np.linspace(0.0, 1.0, 11)
    ys = [shown_strength(x) for x in xs]
    assert ys[0] == 0.0 and ys[-1] == pytest.approx(1.0)
    assert all(b > a for a, b in zip(ys, ys[1:]))                      # stronger feeling, stronger face
    assert shown_strength(0.6) > 0.7 and shown_strength(0.2) < 0.35
    prof = EmotionProfile(name="p", speaker={Emotion.SAD: {"mouthFrownLeft": 0.8}})
    face = prof.expression(EmotionState.of("sad", 0.6), listening=False)
    assert face["mouthFrownLeft"] == pytest.approx(0.8 * shown_strength(0.6))
