"""The face shows the feeling: the portrait's resting smile is relaxed, folds are shaded where the
warp cannot show them, the mouth is drawn in the portrait's colours, and motion is shaped from
the emotion (profile face, ramps between sentences, a livelier head)."""

from __future__ import annotations

import numpy as np
import pytest

from avatar.face import landmarks as L
from avatar.face.rig import rest_expression
from avatar.motion.base import MotionRequest
from avatar.motion.clip import ARKIT_INDEX, MotionClip, Role
from avatar.motion.shaping import emotion_face, head_motion, ramp_from
from avatar.render.composite import mouth_palette
from avatar.render.shading import shade_expression
from emotion import EmotionState
from emotion.labels import spec
from emotion.profile import EmotionProfile


def test_smiling_portrait_is_relaxed_with_closed_lips(portrait):
    from avatar.face.portrait import relax_portrait

    rest = rest_expression(portrait.landmarks)
    assert rest["smile"] > 0.5 and rest["gap"] > 0.05          # the astronaut smiles, teeth showing
    relaxed = relax_portrait(portrait)
    after = rest_expression(relaxed.landmarks)
    assert after["smile"] < 0.35 * rest["smile"] and after["gap"] < 0.01
    # the teeth between the lips are gone: the mouth's middle is no brighter than the lips around it
    xy = relaxed.landmarks.xy
    x, y = np.round(xy[13]).astype(int)
    grey = relaxed.image.mean(-1)
    assert grey[y - 1:y + 2, x - 3:x + 4].mean() < grey[int(xy[0, 1]), x] + 25
    # the rest of the picture is untouched
    assert np.abs(relaxed.image[:40].astype(int) - portrait.image[:40]).mean() < 1.0


def test_a_portrait_at_rest_is_left_alone(portrait):
    from avatar.face.portrait import Portrait, relax_portrait

    closed = relax_portrait(portrait)
    again = relax_portrait(Portrait(closed.image, closed.landmarks, closed.pose))
    assert rest_expression(again.landmarks)["smile"] < 0.35


def test_folds_darken_where_the_expression_creases_and_nowhere_at_rest(portrait):
    xy = portrait.landmarks.xy
    frame = portrait.image.copy()
    shade_expression(frame, xy, {})
    assert np.array_equal(frame, portrait.image)
    shade_expression(frame, xy, {"browDownLeft": 1.0, "browDownRight": 1.0})
    glabella = np.round(0.5 * (xy[55] + xy[285]) - [0, 0.06 * portrait.landmarks.eye_distance]).astype(int)
    x, y = glabella
    before, after = portrait.image[y - 3:y + 4, x - 8:x + 9].mean(), frame[y - 3:y + 4, x - 8:x + 9].mean()
    assert after < before - 2
    chin = int(xy[L.CHIN, 1])
    assert np.array_equal(frame[chin:], portrait.image[chin:])   # nothing below the chin


def test_mouth_colours_come_from_the_portrait(portrait):
    pal = mouth_palette(portrait.image, portrait.landmarks.xy)
    luma = np.array([0.3, 0.59, 0.11])
    assert pal.teeth @ luma > 2.5 * (pal.cavity @ luma)
    assert pal.teeth[0] >= pal.teeth[2]                # warm, never a blue-grey slab
    assert pal.cavity[0] > pal.cavity[2]


def _speaking_clip(n=100):
    rng = np.random.default_rng(0)
    pose = np.zeros((n, 6), np.float32)
    pose[:, 5] = 1
    pose[:, 0] = 0.02 * np.sin(np.arange(n) / 6)
    expr = np.clip(rng.normal(0.1, 0.05, (n, 52)), 0, 1).astype(np.float32)
    return pose, expr


@pytest.mark.parametrize("role", [Role.SPEAKING, Role.LISTENING])
def test_emotion_face_is_the_profiles(role):
    prof = EmotionProfile(name="bare", mirroring=0.5)
    _, expr = _speaking_clip()
    req = MotionRequest(role=role, emotion=EmotionState.of("sad", 0.8), profile=prof)
    out = emotion_face(expr, req)
    want = prof.expression(req.emotion, listening=role is Role.LISTENING)["mouthFrownLeft"]
    want *= prof.mirroring if role is Role.LISTENING else 1.0
    late = out[-20:, ARKIT_INDEX["mouthFrownLeft"]]
    assert late.min() >= want - 1e-6 and late.mean() < want + 0.1
    assert out[0, ARKIT_INDEX["mouthFrownLeft"]] < want   # ramped in, not popped


def test_head_layer_is_livelier_deterministic_and_shaped_by_emotion():
    pose, _ = _speaking_clip(250)
    prof = EmotionProfile(name="bare")

    def run(label, seed=1, role=Role.SPEAKING):
        req = MotionRequest(role=role, emotion=EmotionState.of(label, 0.9), profile=prof)
        return head_motion(pose, req, seed)

    happy, sad = run("happy"), run("sad")
    assert np.degrees(happy[:, 0].std()) > 2.0 > np.degrees(pose[:, 0].std())
    np.testing.assert_array_equal(run("happy"), happy)
    assert happy[:, :3].std(axis=0).sum() > 1.3 * sad[:, :3].std(axis=0).sum()
    assert sad[:, 1].mean() > happy[:, 1].mean() + 0.5 * spec("sad").head.pitch   # sad looks down
    assert np.abs(happy[:, 0]).max() <= 0.45


def test_ramp_from_joins_clips_without_a_pop():
    pose, expr = _speaking_clip(50)
    prev = MotionClip(pose + 0.1, np.zeros((50, 2), np.float32), np.clip(expr + 0.3, 0, 1))
    clip = MotionClip(pose, np.zeros((50, 2), np.float32), expr)
    out = ramp_from(clip, prev)
    col = ARKIT_INDEX["browInnerUp"]
    assert abs(out.pose[0, 0] - prev.pose[-1, 0]) < 0.02
    assert abs(out.expression[0, col] - prev.expression[-1, col]) < 0.05
    np.testing.assert_allclose(out.pose[10:], clip.pose[10:], atol=1e-6)   # 0.3 s later: its own


def test_the_mouth_moves_a_little_in_the_speakers_pauses_only(speech):
    from avatar.motion.shaping import resting_mouth
    from avatar.motion.teacher import num_frames_of

    req = MotionRequest(role=Role.SPEAKING, emotion=EmotionState.neutral(), profile=EmotionProfile(name="b"),
                        speech=speech)
    n = num_frames_of(req)
    still = np.zeros((n, 52), np.float32)
    out = resting_mouth(still, req, seed=3)
    jaw = out[:, ARKIT_INDEX["jawOpen"]]
    from avatar.motion.features import rms_energy, speech_activity

    silent = ~speech_activity(rms_energy(speech.pcm, speech.sample_rate, n))
    assert silent.sum() > 20                                  # the fixture has 1.4 s of pauses
    assert jaw[silent].mean() > 0.01 and jaw[silent].std() > 0.005 and jaw.max() <= 0.2
    assert np.abs(jaw[~silent]).mean() < jaw[silent].mean()   # speech keeps its own mouth
    assert np.array_equal(resting_mouth(still, req, seed=3), out)
    listening = MotionRequest(role=Role.LISTENING, emotion=EmotionState.neutral(), profile=EmotionProfile(name="b"))
    assert np.array_equal(resting_mouth(still, listening, seed=3), still)
