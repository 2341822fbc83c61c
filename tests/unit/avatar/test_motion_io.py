import numpy as np
import pytest

from avatar.motion.clip import MotionClip, Role
from avatar.motion.io import CSV_HEADER, concat, from_json, slice_clip, slice_seconds, to_csv, to_json


def _clip(n=30):
    rng = np.random.default_rng(0)
    c = MotionClip.still(n, role=Role.SPEAKING)
    return MotionClip(c.pose + rng.normal(0, 0.01, c.pose.shape).astype(np.float32), c.gaze,
                      rng.uniform(0, 1, c.expression.shape).astype(np.float32), role=Role.SPEAKING)


def test_csv_header_is_live_link_face():
    text = to_csv(_clip(3))
    header = text.splitlines()[0].split(",")
    assert header[:4] == ["Timecode", "BlendShapeCount", "EyeBlinkLeft", "EyeLookDownLeft"]
    assert header[2 + 51] == "TongueOut"
    assert header[-9:] == ["HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
                           "RightEyeYaw", "RightEyePitch", "RightEyeRoll"]
    assert len(header) == len(CSV_HEADER) == 2 + 52 + 9
    row = text.splitlines()[2].split(",")
    assert row[0] == "00:00:00:01.000" and row[1] == "61"


def test_json_round_trip_and_errors():
    clip = _clip()
    back = from_json(to_json(clip))
    assert back.role is Role.SPEAKING
    np.testing.assert_allclose(back.expression, clip.expression, atol=1e-5)
    with pytest.raises(ValueError):
        from_json("{}")
    with pytest.raises(ValueError):
        from_json(to_json(clip).replace("0.", "NaN, 0.", 1))


def test_concat_and_slice():
    a, b = _clip(10), _clip(15)
    c = concat([a, b])
    assert c.num_frames == 25
    np.testing.assert_array_equal(slice_clip(c, 10).pose, b.pose)
    assert slice_seconds(c, 0.2, 0.6).num_frames == 10
    with pytest.raises(ValueError):
        concat([])
