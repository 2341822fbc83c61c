import numpy as np

from avatar.motion.clip import MotionClip
from avatar.motion.metrics import (
    blink_stats, kmeans, assign, lip_sync_signals, nods, nods_answered, seam_ratio, shannon_index,
)
from avatar.motion.procedural import bump, gaussian_smooth


def _energy(n=500, seed=0):
    rng = np.random.default_rng(seed)
    e = gaussian_smooth((rng.random(n) < 0.15).astype(np.float32), 1.5)
    e[200:260] = 0  # a pause
    return e + 1e-3


def test_lip_sync_identical_and_known_offset():
    e = _energy()
    same = lip_sync_signals(e, e)
    assert same.mad < 1e-9 and same.offset_frames == 0
    shifted = np.concatenate([np.zeros(3), e[:-3]])  # the mouth 3 frames late
    res = lip_sync_signals(shifted, e)
    assert res.offset_frames == 3 and res.mad > same.mad
    early = lip_sync_signals(np.concatenate([e[2:], np.zeros(2)]), e)
    assert early.offset_frames == -2


def test_lip_sync_without_speech_is_nan():
    assert np.isnan(lip_sync_signals(np.zeros(50), np.zeros(50)).mad)


def test_blink_stats():
    clip = MotionClip.still(25 * 60)
    for start in range(0, 25 * 60, 100):  # 15 blinks of 5 frames
        clip.expression[start + 10:start + 15, [0, 7]] = 1.0
    rate, dur = blink_stats(clip)
    assert rate == 15 and np.allclose(dur, 0.2)


def test_shannon_index():
    assert abs(shannon_index(np.arange(8).repeat(10), 8) - np.log(8)) < 1e-9
    assert shannon_index(np.zeros(20, int), 8) == 0.0
    x = np.concatenate([np.zeros((20, 2)), np.ones((20, 2)) * 5])
    assert len(set(assign(x, kmeans(x, 2)))) == 2


def test_nods_answered():
    clip = MotionClip.still(250)
    clip.pose[:, 1] += 0.06 * bump(250, 3.4, 0.12)
    assert len(nods(clip)) == 1
    assert nods_answered(clip, [(3.0, 3.5), (7.0, 8.0)]) == 0.5


def test_seam_ratio():
    clip = MotionClip.still(100)
    clip.pose[:, 0] = np.repeat(np.arange(4), 25) * 0.1  # steps at the joins only
    joins, inside = seam_ratio(clip, 25)
    assert joins > 0.09 and inside == 0.0


def test_mouth_shape_error_sees_missing_visemes():
    from avatar.motion.clip import ARKIT_INDEX, MotionClip
    from avatar.motion.metrics import mouth_shape_error

    ref = MotionClip.still(50)
    ref.expression[:, ARKIT_INDEX["mouthPucker"]] = 0.5
    jaw_only = MotionClip.still(50)
    assert mouth_shape_error(ref, ref) == 0.0
    assert mouth_shape_error(jaw_only, ref) > 0.03
