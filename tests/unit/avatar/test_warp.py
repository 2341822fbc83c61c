import numpy as np
import pytest

from avatar.face import landmarks as L
from avatar.face.landmarks import find_faces
from avatar.face.pose import estimate_pose
from avatar.render.demo import demo_motion, single_frame
from tests.unit.avatar.conftest import region_mask


def diff(a, b):
    return np.abs(a.astype(np.int16) - b.astype(np.int16)).max(-1)


def test_neutral_frame_reproduces_the_portrait(warp, portrait):
    out = warp.render_frame(single_frame(), 0)
    assert out.shape == (256, 256, 3) and out.dtype == np.uint8
    assert diff(out, portrait.image).mean() < 1.0


def test_jaw_open_changes_the_mouth_only(warp, portrait):
    out = warp.render_frame(single_frame({"jawOpen": 0.7}), 0)
    d = diff(out, portrait.image) > 12
    xy = portrait.landmarks.xy
    lower = region_mask(out.shape, xy[list(L.LIPS_OUTER) + [L.CHIN]], 0.15 * portrait.landmarks.eye_distance)
    eyes = region_mask(out.shape, xy[list(L.LEFT_EYE_UPPER + L.RIGHT_EYE_UPPER + L.LEFT_BROW + L.RIGHT_BROW)], 4)
    assert d[lower].mean() > 0.15                       # the mouth opened
    assert d[eyes].mean() < 0.01                        # the eyes did not move
    assert d[:, :20].mean() < 1e-3 and d[:20].mean() < 1e-3   # the background border stays put
    above_nose = int(xy[L.NOSE_TIP, 1])
    assert d[:above_nose].mean() < 0.002                # nothing above the nose tip moves


def test_blink_changes_the_eye_region_only(warp, portrait):
    out = warp.render_frame(single_frame({"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0}), 0)
    d = diff(out, portrait.image) > 12
    xy = portrait.landmarks.xy
    eyes = region_mask(out.shape, xy[list(L.LEFT_EYE_UPPER + L.LEFT_EYE_LOWER + L.RIGHT_EYE_UPPER
                                          + L.RIGHT_EYE_LOWER)], 0.12 * portrait.landmarks.eye_distance)
    assert d[eyes].mean() > 0.1
    assert d[~eyes].mean() < 0.002


def test_yaw_turns_the_head_the_documented_way(warp, portrait):
    out = warp.render_frame(single_frame({}, pose=(0.3, 0, 0, 0, 0, 1)), 0)
    faces = find_faces(out)
    assert faces
    nose_shift = faces[0].xy[L.NOSE_TIP, 0] - portrait.landmarks.xy[L.NOSE_TIP, 0]
    assert nose_shift > 0.05 * portrait.landmarks.eye_distance
    assert estimate_pose(faces[0]).yaw > estimate_pose(portrait.landmarks).yaw + 0.1


@pytest.mark.parametrize("pose", [(0.35, 0.25, 0.2, 0.05, 0.05, 1.05), (-0.35, -0.25, -0.2, -0.05, 0, 0.95)])
def test_extreme_poses_render_without_holes(warp, pose):
    out = warp.render_frame(single_frame({"jawOpen": 1.0, "eyeBlinkLeft": 1.0, "mouthSmileRight": 1.0}, pose), 0)
    assert out.shape == (256, 256, 3)
    # no tears: neighbouring pixels never jump by more than the photo itself does
    grad = np.abs(np.diff(out.astype(np.int16), axis=0)).max()
    assert grad < 255


def test_stream_frames_is_lazy_and_complete(warp):
    motion = demo_motion(12, seed=1)
    frames = warp.stream_frames(motion)
    assert not isinstance(frames, list)
    out = list(frames)
    assert len(out) == 12 and all(f.shape == (256, 256, 3) for f in out)
    assert not np.array_equal(out[0], out[6])


def _fold_pixels(warp, pose, values):
    from avatar.render.demo import expression_vector

    m = warp.source_map(np.array(pose, np.float32), expression_vector(values), np.zeros(2, np.float32))
    gx, gy = np.gradient(m[..., 0]), np.gradient(m[..., 1])
    return (gx[1] * gy[0] - gx[0] * gy[1]) <= 0                             # the map folds over


@pytest.mark.parametrize("pose", [(0.35, 0.25, 0.2, 0, 0, 1), (-0.35, 0.25, -0.2, 0, 0, 1),
                                  (0.35, -0.25, 0.2, 0.1, 0.1, 1.1), (-0.35, -0.25, -0.2, -0.1, 0, 0.9)])
def test_head_pose_never_folds_the_warp(warp, pose):
    assert not _fold_pixels(warp, pose, {}).any()


def test_jaw_folds_stay_inside_the_mouth_region(warp, portrait):
    folds = _fold_pixels(warp, (0.2, 0.1, 0.1, 0, 0, 1), {"jawOpen": 1.0, "mouthSmileLeft": 1.0})
    tgt = warp.target_landmarks(np.array([0.2, 0.1, 0.1, 0, 0, 1], np.float32),
                                np.zeros(len(warp.rig.names), np.float32), np.zeros(2, np.float32))
    mouth = region_mask(folds.shape, tgt[list(L.LIPS_OUTER)], 0.3 * portrait.landmarks.eye_distance)
    assert not folds[~mouth].any()


def test_the_sample_map_of_a_region_matches_the_whole_frame_map(warp):
    import cv2

    rng = np.random.default_rng(0)
    back = (rng.standard_normal((warp.cells, warp.cells, 2)) * 3).astype(np.float32)
    full = warp._ident - cv2.resize(back, (warp.size, warp.size), interpolation=cv2.INTER_LINEAR)
    for x0, y0, x1, y1 in ((60, 70, 190, 130), (0, 0, 9, 5), (warp.size - 7, warp.size - 3, warp.size, warp.size),
                           (3, 3, 4, 4), (0, 0, warp.size, warp.size)):
        np.testing.assert_allclose(warp._sample_map(back, (x0, y0, x1, y1)), full[y0:y1, x0:x1], atol=2e-4)


def test_the_banded_four_channel_remap_matches_a_plain_remap_of_the_same_field(warp, portrait):
    import cv2

    rng = np.random.default_rng(1)
    back = cv2.GaussianBlur((rng.standard_normal((warp.cells, warp.cells, 2)) * 4).astype(np.float32), (0, 0), 2)
    ours = warp._remap(back)
    m = warp._ident - cv2.resize(back, (warp.size, warp.size), interpolation=cv2.INTER_LINEAR)
    ref = cv2.remap(portrait.image, m, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    assert ours.shape == ref.shape and ours.dtype == np.uint8
    d = np.abs(ours.astype(int) - ref.astype(int))
    assert d.max() <= 1 and d.mean() < 0.01
    roi = warp._remap(back, (40, 50, 200, 120))
    assert np.abs(roi.astype(int) - ours[50:120, 40:200].astype(int)).max() == 0


def _rendered_share(warp, name: str) -> float:
    """How much of a coefficient's commanded landmark displacement the warp shows: at each
    strongly moved landmark's target, where the output samples the portrait (least-squares
    share of the commanded displacement, on the landmarks moved by over half the most)."""
    import cv2

    from avatar.motion.clip import ARKIT_INDEX

    e = np.zeros(52, np.float32)
    e[ARKIT_INDEX[name]] = 1.0
    sm = warp.source_map(np.array([0, 0, 0, 0, 0, 1], np.float32), e, np.zeros(2, np.float32))
    cmd = warp.rig.displacement[list(warp.rig.names).index(name)].astype(np.float64)
    mag = np.linalg.norm(cmd, axis=1)
    sel = mag > 0.5 * mag.max()
    tgt = (warp.portrait.landmarks.xy[sel] + cmd[sel]).astype(np.float32)
    src = np.stack([cv2.remap(sm[..., k], tgt[None, :, 0], tgt[None, :, 1], cv2.INTER_LINEAR)[0] for k in range(2)], 1)
    return float(((tgt - src) * cmd[sel]).sum() / (cmd[sel] ** 2).sum())


@pytest.mark.parametrize("name,share", [("browDownLeft", 0.55), ("browDownRight", 0.55), ("eyeSquintLeft", 0.25),
                                        ("eyeSquintRight", 0.25), ("eyeWideLeft", 0.6), ("browInnerUp", 0.85),
                                        ("browOuterUpLeft", 0.85), ("mouthSmileLeft", 0.9), ("jawOpen", 0.9)])
def test_the_warp_shows_what_the_rig_commands_at_brows_eyes_and_mouth(warp, name, share):
    # a lowered brow used to fold against the pinned lid skin (0.4 shown) and a squint's lower lid
    # moved alone against the skin under it (0.07 shown)
    assert _rendered_share(warp, name) >= share
