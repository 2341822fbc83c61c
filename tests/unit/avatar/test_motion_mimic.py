from dataclasses import dataclass

import numpy as np
import pytest
import torch

from avatar.motion.base import MotionRequest
from avatar.motion.clip import MotionClip, Role
from avatar.motion.generator import TransformerMotionGenerator
from avatar.motion.mimic import mimic
from avatar.motion.teacher import teacher_motion
from emotion import EmotionState
from tests.unit.avatar.conftest import finite


@dataclass
class FakeTracked:
    """Stand-in for avatar.face.tracking.TrackedVideo (same fields)."""

    motion: MotionClip
    audio: np.ndarray
    sample_rate: int
    face_found: np.ndarray


def _video(speech, profile, found=None):
    motion = teacher_motion(MotionRequest(Role.SPEAKING, EmotionState.of("happy"), profile, speech=speech, seed=5))
    # A person who nods twice as much as the teacher.
    motion = MotionClip(motion.pose * np.array([2, 2, 2, 1, 1, 1], np.float32), motion.gaze, motion.expression)
    if found is None:
        found = np.ones(motion.num_frames, bool)
    return FakeTracked(motion, speech.pcm, speech.sample_rate, found)


def test_mimic_saves_a_style_the_generator_loads(tmp_path, tiny_checkpoint, speech, profile):
    torch.manual_seed(0)
    found = np.ones(int(np.ceil(speech.duration * 25 - 1e-9)), bool)
    found[40:90] = False  # the face is lost mid-clip
    tracked = _video(speech, profile, found)
    tracked.motion.pose[40:90] = np.nan  # what a tracker without a face might leave
    res = mimic(tracked, "alice", tmp_path, tiny_checkpoint, steps=8, calibration_steps=0)
    assert res.path == tmp_path / "alice.pt" and res.path.stat().st_size < 100_000
    assert res.loss_after < res.loss_before
    gen = TransformerMotionGenerator(tiny_checkpoint, styles_dir=tmp_path)
    req = MotionRequest(Role.SPEAKING, EmotionState.neutral(), profile, speech=speech, seed=1)
    styled = gen.generate(MotionRequest(**{**{f: getattr(req, f) for f in req.__slots__}, "style": "alice"}))
    plain = gen.generate(req)
    assert finite(styled) and not np.allclose(styled.pose, plain.pose)


def test_no_face_is_a_clear_error(tmp_path, tiny_checkpoint, speech, profile):
    n = int(np.ceil(speech.duration * 25 - 1e-9))
    with pytest.raises(ValueError, match="no face"):
        mimic(_video(speech, profile, np.zeros(n, bool)), "bob", tmp_path, tiny_checkpoint, steps=2)
    with pytest.raises(ValueError, match="style name"):
        mimic(_video(speech, profile), "../evil", tmp_path, tiny_checkpoint, steps=2)


def test_calibration_brings_generated_spread_to_the_tracked_one(tmp_path, tiny_checkpoint, speech, profile):
    from avatar.motion.mimic import motion_stats, relative_to_median
    from avatar.motion.conditioning import motion_array

    torch.manual_seed(0)
    tracked = _video(speech, profile)
    res = mimic(tracked, "nodder", tmp_path, tiny_checkpoint, steps=4, calibration_steps=6)
    assert res.spread_error_after < 0.5 * res.spread_error_before
    gen = TransformerMotionGenerator(tiny_checkpoint, styles_dir=tmp_path)
    req = MotionRequest(Role.SPEAKING, EmotionState.neutral(), profile, speech=speech, style="nodder", seed=3)
    styled = motion_stats(relative_to_median(motion_array(gen.generate(req)))).spread
    target = motion_stats(relative_to_median(motion_array(tracked.motion))).spread
    plain = motion_stats(relative_to_median(motion_array(gen.generate(
        MotionRequest(Role.SPEAKING, EmotionState.neutral(), profile, speech=speech, seed=3))))).spread
    # head rotation: the styled generator is closer to the person than the plain one
    assert np.abs(np.log(styled[:3] / target[:3])).mean() < np.abs(np.log(plain[:3] / target[:3])).mean()


def test_anchors_and_stats_of_a_known_signal():
    from avatar.motion.mimic import chunks, motion_stats, relative_to_median

    t = np.arange(100)
    m = np.zeros((100, 60))
    m[:, 0] = 0.3 + 0.1 * np.sin(t)          # yaw around an offset
    m[:, 5] = 2.0                             # scale
    m[:, 8] = np.linspace(0, 1, 100)          # an expression ramp
    rel = relative_to_median(m)
    assert abs(np.median(rel[:, 0])) < 1e-9 and np.allclose(rel[:, 5], 1.0)
    st = motion_stats(m)
    assert abs(st.spread[0] - 0.1 / np.sqrt(2)) < 0.005 and abs(st.spread[8] - 0.9) < 0.01
    assert [len(c) for c in chunks(m, 30)] == [30, 30, 30]          # the 10-frame tail is dropped
