"""A portrait photographed smiling keeps her own smile as far as a frame's face smiles: happy
shows the photo's mouth, a face whose upper lip is raised (angry, disgusted) the photo's teeth
with its smile relaxed, every other face the relaxed, closed-lipped one."""

from __future__ import annotations

import numpy as np
import pytest

from avatar.face import landmarks as L
from avatar.face.portrait import RestSmile, relax_portrait, resting_smile
from avatar.motion.clip import ARKIT_INDEX, ARKIT_NAMES, MotionClip
from emotion.labels import spec
from emotion.profile import shown_strength

STILL = np.array([0, 0, 0, 0, 0, 1], np.float32)
NO_GAZE = np.zeros(2, np.float32)


def face_of(label: str, intensity: float = 0.8) -> np.ndarray:
    """(52,) the label table's face for `label` at `intensity` (as the profile shows it)."""
    out = np.zeros(len(ARKIT_NAMES), np.float32)
    for name, w in spec(label).face.items():
        out[ARKIT_INDEX[name]] = w * shown_strength(intensity)
    return out


def smile(level: float) -> np.ndarray:
    out = np.zeros(len(ARKIT_NAMES), np.float32)
    out[[ARKIT_INDEX["mouthSmileLeft"], ARKIT_INDEX["mouthSmileRight"]]] = level
    return out


@pytest.fixture(scope="module")
def rest(portrait) -> RestSmile:
    r = resting_smile(portrait)
    assert r is not None and r.level > 0.5           # the astronaut smiles at rest
    return r


@pytest.fixture(scope="module")
def faces(portrait, rest):
    from avatar.render.rest import RestFaceRenderer
    from avatar.render.warp import WarpRenderer

    return RestFaceRenderer(WarpRenderer(portrait, rest_smile=rest), WarpRenderer(relax_portrait(portrait)))


def test_relax_share_counts_the_frame_smile_from_the_photo_s(rest):
    assert rest.relax_share(0.0) == 1.0
    assert rest.relax_share(rest.level) == 0.0 and rest.relax_share(1.0) == 0.0
    assert rest.relax_share(0.5 * rest.level) == pytest.approx(0.5)


def test_a_portrait_without_a_resting_smile_has_none(portrait):
    assert resting_smile(relax_portrait(portrait)) is None


def test_the_photo_s_own_smile_renders_the_photo_and_no_smile_relaxes_it(faces, portrait, rest):
    own = faces.own
    at_rest = own.render_pose_expression(STILL, smile(rest.level), NO_GAZE)
    assert np.abs(at_rest.astype(int) - portrait.image).mean() < 1.0
    coeffs = np.zeros(len(own.rig.names), np.float32)
    corners = [L.MOUTH_LEFT, L.MOUTH_RIGHT]
    kept = own.target_landmarks(STILL, coeffs, NO_GAZE, own.relax_share(smile(rest.level)))[corners]
    relaxed = own.target_landmarks(STILL, coeffs, NO_GAZE, own.relax_share(smile(0.0)))[corners]
    unit = portrait.landmarks.eye_distance
    assert np.all(relaxed[:, 1] - kept[:, 1] > 0.05 * unit)          # the corners come down
    assert np.all(np.abs(relaxed[:, 0] - 0.5 * relaxed[:, 0].sum()) < np.abs(kept[:, 0] - 0.5 * kept[:, 0].sum()))
    # a smile beyond the photo's adds only the excess through the rig
    more = own.render_pose_expression(STILL, smile(1.0), NO_GAZE)
    assert 0 < np.abs(more.astype(int) - portrait.image).mean() < np.abs(
        own.render_pose_expression(STILL, smile(0.0), NO_GAZE).astype(int) - portrait.image).mean()


@pytest.mark.parametrize("label", ["neutral", "sad", "surprised", "fearful"])
def test_faces_that_do_not_smile_show_the_relaxed_face(faces, label):
    e = face_of(label)
    assert faces.own_share(e) == 0.0
    assert np.array_equal(faces.render_pose_expression(STILL, e, NO_GAZE),
                          faces.relaxed.render_pose_expression(STILL, e, NO_GAZE))


def test_happy_shows_her_own_smiling_mouth(faces, portrait):
    e = face_of("happy")
    assert faces.own_share(e) == 1.0
    frame = faces.render_pose_expression(STILL, e, NO_GAZE)
    assert np.array_equal(frame, faces.own.render_pose_expression(STILL, e, NO_GAZE))
    # her teeth between the lips: the mouth's middle is brighter than on the relaxed face
    x, y = np.round(portrait.landmarks.xy[13]).astype(int)
    rest = faces.relaxed.render_pose_expression(STILL, e, NO_GAZE)
    assert frame[y:y + 3, x - 3:x + 4].mean() > rest[y:y + 3, x - 3:x + 4].mean() + 20


def upper_lip(level: float) -> np.ndarray:
    out = np.zeros(len(ARKIT_NAMES), np.float32)
    out[[ARKIT_INDEX["mouthUpperUpLeft"], ARKIT_INDEX["mouthUpperUpRight"]]] = level
    return out


@pytest.mark.parametrize("label", ["angry", "disgusted"])
def test_a_raised_upper_lip_bares_her_own_teeth_without_her_smile(faces, portrait, label):
    e = face_of(label)
    assert faces.own_share(e) == 1.0
    frame = faces.render_pose_expression(STILL, e, NO_GAZE)
    assert np.array_equal(frame, faces.own.render_pose_expression(STILL, e, NO_GAZE))
    x, y = np.round(portrait.landmarks.xy[13]).astype(int)
    closed = faces.relaxed.render_pose_expression(STILL, e, NO_GAZE)
    assert frame[y:y + 3, x - 3:x + 4].mean() > closed[y:y + 3, x - 3:x + 4].mean() + 20   # teeth
    # ... and the smile is relaxed away: the corners sit lower than the photo's
    assert faces.own.relax_share(e) == 1.0


def test_the_upper_lip_s_share_ramps_and_speech_levels_keep_the_lips_closed(faces):
    from avatar.render.rest import BARE_FROM, BARE_FULL

    assert faces.own_share(upper_lip(0.08)) == 0.0          # what speech raises it by, at most
    shares = [faces.own_share(upper_lip(v)) for v in np.linspace(BARE_FROM, BARE_FULL, 11)]
    assert shares[0] == pytest.approx(0.0, abs=1e-6) and shares[-1] == pytest.approx(1.0)
    assert np.all(np.diff(shares) >= 0) and np.max(np.diff(shares)) < 0.2


def test_a_ramp_into_a_smile_cross_fades_never_pops(faces, rest):
    """Frames of a ramp from no smile to happy: each frame's change is a share of the whole."""
    steps = np.linspace(0.0, 0.92, 24)
    shares = [faces.own_share(smile(s)) for s in steps]
    assert shares[0] == 0.0 and shares[-1] == 1.0
    assert np.all(np.diff(shares) >= 0) and np.max(np.diff(shares)) < 0.35
    clip = MotionClip(np.tile(STILL, (len(steps), 1)), np.zeros((len(steps), 2), np.float32),
                      np.stack([smile(s) for s in steps]))
    frames = np.stack(list(faces.stream_frames(clip))).astype(int)
    jumps = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2, 3))
    assert jumps.max() < 0.4 * np.abs(frames[-1] - frames[0]).mean()


def test_make_renderer_keeps_the_astronaut_s_smile_and_leaves_hopper_alone():
    from avatar.render import make_renderer
    from avatar.render.rest import RestFaceRenderer
    from avatar.render.warp import WarpRenderer
    from avatar.settings import RenderSettings

    settings = RenderSettings(size=128)
    assert isinstance(make_renderer("astronaut", settings), RestFaceRenderer)
    hopper = make_renderer("hopper", settings)
    assert isinstance(hopper, WarpRenderer) and hopper.rest_smile is None
