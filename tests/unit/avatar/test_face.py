import cv2
import numpy as np
import pytest

from avatar.face import landmarks as L
from avatar.face.landmarks import PortraitError, detect_landmarks, mouth_aperture
from avatar.face.pose import estimate_pose
from avatar.face.rig import JAW_GROUP, build_rig, face_frame

REQUIRED = ["jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthSmileLeft", "mouthSmileRight",
            "mouthFrownLeft", "mouthFrownRight", "mouthStretchLeft", "mouthStretchRight", "mouthPressLeft",
            "mouthPressRight", "mouthUpperUpLeft", "mouthUpperUpRight", "mouthLowerDownLeft",
            "mouthLowerDownRight", "browInnerUp", "browDownLeft", "browDownRight", "browOuterUpLeft",
            "browOuterUpRight", "eyeSquintLeft", "eyeSquintRight",
            "eyeWideLeft", "eyeWideRight", "cheekSquintLeft", "cheekSquintRight", "noseSneerLeft",
            "noseSneerRight"]


def test_detects_478_landmarks_on_a_frontal_portrait(astronaut):
    lm = detect_landmarks(astronaut)
    assert lm.points.shape == (478, 3)
    assert lm.face_height > 80
    pose = estimate_pose(lm)
    assert abs(pose.yaw) < 0.2 and abs(pose.roll) < 0.2
    assert 0.0 <= mouth_aperture(lm) < 0.3


def test_no_face_is_rejected():
    gradient = np.tile(np.linspace(0, 255, 400, dtype=np.uint8)[None, :, None], (400, 1, 3))
    with pytest.raises(PortraitError, match="no face"):
        detect_landmarks(gradient)


def test_several_faces_are_rejected(astronaut):
    with pytest.raises(PortraitError, match="2 faces"):
        detect_landmarks(np.hstack([astronaut, astronaut]))


def test_tiny_face_is_rejected(astronaut):
    canvas = np.full((600, 600, 3), 200, np.uint8)
    canvas[270:330, 270:330] = cv2.resize(astronaut[60:300, 130:370], (60, 60), interpolation=cv2.INTER_AREA)
    with pytest.raises(PortraitError, match="too small"):
        detect_landmarks(canvas)


def test_portrait_crop_is_square_and_centred(portrait):
    assert portrait.image.shape == (256, 256, 3)
    c = 0.5 * (portrait.landmarks.xy[L.FOREHEAD] + portrait.landmarks.xy[L.CHIN])
    assert abs(c[0] - 128) < 10 and 60 < c[1] < 128


def test_rig_covers_the_required_coefficients_and_jaw_spares_the_upper_lip(portrait):
    rig = build_rig(portrait.landmarks)
    assert set(REQUIRED) <= set(rig.names)
    disp = dict(zip(rig.names, rig.displacement))
    unit = face_frame(portrait.landmarks).unit
    for name in REQUIRED:
        assert np.abs(disp[name]).max() > 0.02 * unit, name
    jaw = disp["jawOpen"]
    assert np.abs(jaw[list(L.UPPER_INNER[1:-1])]).max() == 0.0
    assert jaw[14, 1] > 0.2 * unit                       # lower lip goes down
    assert np.abs(jaw[list(L.LEFT_EYE_UPPER)]).max() == 0.0
    assert "eyeBlinkLeft" not in disp and "eyeBlinkRight" not in disp   # lids are drawn, not warped
    assert all(n in rig.names for n in JAW_GROUP)


def test_profile_is_rejected(astronaut, monkeypatch):
    from avatar.face import pose as pose_mod

    monkeypatch.setattr(pose_mod, "estimate_pose", lambda lm: pose_mod.HeadPose(yaw=1.0, pitch=0.0, roll=0.0))
    with pytest.raises(PortraitError, match="profile"):
        detect_landmarks(astronaut)


def test_portrait_cache_skips_detection_the_second_time(astronaut, tmp_path, monkeypatch):
    from avatar.face import portrait as portrait_mod

    first = portrait_mod.load_portrait(astronaut, 128, tmp_path)
    monkeypatch.setattr(portrait_mod, "detect_landmarks", lambda img: (_ for _ in ()).throw(AssertionError))
    second = portrait_mod.load_portrait(astronaut, 128, tmp_path)
    np.testing.assert_array_equal(first.image, second.image)
    np.testing.assert_allclose(first.landmarks.points, second.landmarks.points)


def test_user_portrait_errors_are_portrait_errors(tmp_path):
    from avatar.render import make_renderer
    from avatar.settings import RenderSettings

    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((200, 200, 3), 128, np.uint8))
    with pytest.raises(PortraitError, match="no face"):
        make_renderer(blank, RenderSettings(size=128))
    with pytest.raises(PortraitError, match="unknown avatar"):
        make_renderer(tmp_path / "missing.png", RenderSettings(size=128))


def _mouth_frame(portrait):
    """(q face-unit landmarks, dx across the mouth in half widths, dy below the corners)."""
    q = face_frame(portrait.landmarks).to_face(portrait.landmarks.xy)
    centre = 0.5 * (q[L.MOUTH_LEFT] + q[L.MOUTH_RIGHT])
    half_w = 0.5 * abs(q[L.MOUTH_LEFT, 0] - q[L.MOUTH_RIGHT, 0])
    return q, (q[:, 0] - centre[0]) / half_w, q[:, 1] - centre[1]


def _moved(portrait, disp):
    frame = face_frame(portrait.landmarks)
    return frame.to_face(portrait.landmarks.xy + disp) - frame.to_face(portrait.landmarks.xy)


def test_an_open_jaw_rounds_the_lower_lip_and_stretches_the_skin_beside_the_corners_gradually(portrait):
    rig = build_rig(portrait.landmarks)
    jaw = _moved(portrait, dict(zip(rig.names, rig.displacement))["jawOpen"])
    _, dx, dy = _mouth_frame(portrait)
    chin = jaw[L.CHIN, 1]
    # skin just beside a corner, at the corner's height, hardly drops (a full drop there, next
    # to a corner that stays, sheared the cheek into folds)
    beside = rig.lower_face & (np.abs(dx) > 1.0) & (np.abs(dx) < 1.6) & (dy < 0.1)
    assert beside.any()
    assert jaw[beside, 1].max() < 0.3 * chin
    # the lower lip drops as an arc, not a V: half way to a corner it is well down
    lip = [i for i in L.LOWER_INNER if 0.4 < abs(dx[i]) < 0.7]
    assert lip and jaw[lip, 1].min() > 0.55 * jaw[list(L.LOWER_INNER), 1].max()


def test_a_rounded_mouth_narrows_every_lip_point_not_only_the_corners(portrait):
    rig = build_rig(portrait.landmarks)
    disp = dict(zip(rig.names, rig.displacement))
    _, dx, _ = _mouth_frame(portrait)
    for name, full in (("mouthFunnel", 0.10), ("mouthPucker", 0.15)):
        moved = _moved(portrait, disp[name])
        for i in L.LIPS_OUTER:
            if abs(dx[i]) > 0.2:
                assert -np.sign(dx[i]) * moved[i, 0] > 0.5 * full * min(abs(dx[i]), 1.0), (name, i)
