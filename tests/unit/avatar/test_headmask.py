import numpy as np
import pytest

from avatar.motion.clip import ARKIT_INDEX, MotionClip
from avatar.motion.headmask import MASK_CHANNELS, head_masks


def test_masks_follow_motion():
    clip = MotionClip.still(3)
    clip.expression[1, ARKIT_INDEX["jawOpen"]] = 0.9
    clip.expression[2, ARKIT_INDEX["eyeBlinkLeft"]] = 1.0
    clip.expression[2, ARKIT_INDEX["eyeBlinkRight"]] = 1.0
    m = head_masks(clip, 128)
    assert m.shape == (3, len(MASK_CHANNELS), 128, 128) and m.dtype == np.uint8
    area = (m > 0).sum(axis=(2, 3))
    assert area[1, 3] > 2 * area[0, 3]  # mouth opens
    assert area[2, 1] < 0.5 * area[0, 1]  # eyes close
    assert area[0, 0] > 0.2 * 128 * 128


def test_pose_moves_the_head():
    clip = MotionClip.still(2)
    clip.pose[1, 3] = 0.3  # x translation
    m = head_masks(clip, 64)
    cx = [np.nonzero(m[t, 0])[1].mean() for t in range(2)]
    assert cx[1] > cx[0] + 3
    with pytest.raises(ValueError):
        head_masks(clip, 4)
