import numpy as np
import pytest

from avatar.motion.base import MotionRequest
from avatar.motion.clip import MotionClip, Role
from avatar.motion.features import find_pauses
from avatar.motion.metrics import blink_stats, nods_answered, pause_mouth_level
from avatar.motion.teacher import teacher_motion
from avatar.voice.base import SpeechClip
from emotion import EmotionState
from tests.unit.avatar.conftest import finite


def _req(role, speech, profile, **kw):
    return MotionRequest(role, EmotionState.of("happy", 0.8), profile, speech=speech, seed=kw.pop("seed", 3), **kw)


def test_blinks_over_a_long_clip(profile):
    for role in (Role.SPEAKING, Role.LISTENING):
        clip = teacher_motion(MotionRequest(role, EmotionState.neutral(), profile, duration_s=300, seed=1))
        rate, dur = blink_stats(clip)
        assert 12 <= rate <= 25
        assert 0.1 <= np.median(dur) <= 0.4


def test_jaw_closed_in_silences_and_open_in_speech(speech, profile):
    clip = teacher_motion(_req(Role.SPEAKING, speech, profile))
    assert finite(clip)
    assert pause_mouth_level(clip, speech.pcm, speech.sample_rate) < 0.03
    assert clip.coeff("jawOpen").max() > 0.3
    assert clip.coeff("jawOpen")[-8:].max() < 0.03  # the final pause


def test_coarticulation_has_no_step_changes(speech, profile):
    clip = teacher_motion(_req(Role.SPEAKING, speech, profile))
    jaw = clip.coeff("jawOpen")
    # One pose per phoneme (no blending) for comparison: a piecewise-constant jaw track.
    from avatar.motion.visemes import TARGET_MATRIX, viseme_of
    steps = np.zeros_like(jaw)
    t = (np.arange(len(jaw)) + 0.5) / 25
    for ph in speech.phonemes:
        steps[(t >= ph.start) & (t < ph.end)] = TARGET_MATRIX[viseme_of(ph.symbol), 17]
    assert np.abs(np.diff(jaw)).max() < 0.35
    # Same targets blended by overlapping kernels: less total variation than one pose per phoneme.
    from avatar.motion.procedural import coarticulated_mouth
    blended = coarticulated_mouth(speech.phonemes, len(jaw))[0][:, 17]
    assert np.abs(np.diff(blended)).sum() < 0.8 * np.abs(np.diff(steps)).sum()


def test_listening_nods_near_partner_pauses(speech, profile):
    pauses = find_pauses(speech.words, None, speech.duration)
    assert len(pauses) >= 2
    hits = [nods_answered(teacher_motion(_req(Role.LISTENING, speech, profile, seed=s)), pauses) for s in range(6)]
    assert np.mean(hits) >= 0.6


def test_continues_from_previous(speech, profile):
    prev = MotionClip.still(5)
    prev.pose[:, 0] = 0.3
    clip = teacher_motion(_req(Role.SPEAKING, speech, profile, previous=prev))
    assert abs(clip.pose[0, 0] - 0.3) < 0.03
    assert abs(clip.pose[20, 0]) < 0.2


def test_seeded(speech, profile):
    a, b = (teacher_motion(_req(Role.SPEAKING, speech, profile, seed=s)) for s in (1, 1))
    c = teacher_motion(_req(Role.SPEAKING, speech, profile, seed=2))
    np.testing.assert_array_equal(a.pose, b.pose)
    assert not np.allclose(a.pose, c.pose)


@pytest.mark.parametrize("pcm,sr", [(np.zeros(16000, np.float32), 16000),
                                    (np.full(8000, np.nan, np.float32), 8000),
                                    (np.zeros(0, np.float32), 22050)])
def test_bad_audio_gives_finite_motion(pcm, sr, profile):
    clip = teacher_motion(MotionRequest(Role.LISTENING, EmotionState.neutral(), profile,
                                        speech=SpeechClip(pcm, sr), duration_s=2.0, seed=0))
    assert finite(clip) and clip.num_frames == 50


def test_request_without_duration_is_an_error(profile):
    with pytest.raises(ValueError):
        teacher_motion(MotionRequest(Role.LISTENING, EmotionState.neutral(), profile))


def test_unknown_emotion_label_is_rejected_at_the_edge():
    with pytest.raises(ValueError, match="unknown emotion"):
        EmotionState.of("bogus")
