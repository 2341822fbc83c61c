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
    from avatar.motion.calibration import motion_stats, relative_to_median
    from avatar.motion.conditioning import motion_array

    torch.manual_seed(0)
    tracked = _video(speech, profile)
    res = mimic(tracked, "nodder", tmp_path, tiny_checkpoint, steps=4, calibration_steps=6, calibration_seconds=240)
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
    from avatar.motion.calibration import chunks, motion_stats, relative_to_median

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


def test_calibrate_step_moves_each_kind_of_channel_its_own_way():
    from avatar.motion.clip import ARKIT_INDEX
    from avatar.motion.calibration import RawAnchors, calibrate_step

    jaw = 8 + ARKIT_INDEX["jawOpen"]
    fit = {"out_scale": torch.ones(60), "out_shift": torch.zeros(60), "head_gain": torch.ones(3)}
    raw = RawAnchors(center=np.full(60, 0.5), lo=np.full(60, -3.0), hi=np.full(60, -1.0))
    ratio = np.ones(60)
    ratio[0], ratio[3] = 2.0, 0.5                         # yaw twice the person's, x half of it
    t_lo, t_hi = np.full(52, -2.0), np.full(52, 1.0)      # the jaw's anchors should widen and rise
    calibrate_step(fit, raw, ratio, (t_lo, t_hi), np.array([0, 3, jaw]), damping=1.0)
    assert fit["head_gain"][0] == pytest.approx(2.0 ** -0.8) and fit["head_gain"][1] == 1.0
    assert fit["out_scale"][0] == 1.0 and fit["out_shift"][0] == 0.0   # rotation: the head gain, not the head
    assert fit["place_gain"][0] == pytest.approx(0.5 ** -0.8)           # x: the place gain, not the head
    assert fit["out_scale"][3] == 1.0 and fit["out_shift"][3] == 0.0
    assert torch.all(fit["place_gain"][1:] == 1.0)                       # y, scale, gaze: not calibrated here
    # the jaw's raw anchors (-3, -1) land on (-2, 1): u' = 1.5 u + 2.5
    assert fit["out_scale"][jaw] == pytest.approx(1.5) and fit["out_shift"][jaw] == pytest.approx(2.5)


def test_expression_targets_ask_the_rectified_channels_for_their_upper_span():
    from avatar.motion.clip import ARKIT_INDEX
    from avatar.motion.calibration import RECTIFIED, RECTIFIED_LEVEL, expression_targets, motion_stats

    brow, jaw = ARKIT_INDEX["browInnerUp"], ARKIT_INDEX["jawOpen"]
    assert 8 + brow in RECTIFIED and 8 + jaw not in RECTIFIED
    m = np.zeros((200, 60))
    smile = ARKIT_INDEX["mouthSmileLeft"]
    m[:, 8 + brow] = np.linspace(0.0, 0.3, 200)    # the person's brow: 5-95 % range 0.27
    m[:, 8 + smile] = np.linspace(0.0, 0.8 / 0.9, 200)   # a wide smile: 5-95 % range 0.8
    m[:, 8 + jaw] = np.linspace(0.1, 0.5, 200)
    st = motion_stats(m)
    gain = np.ones(52)
    gain[jaw] = 0.5
    lo, hi = expression_targets(st, m, gain)
    sig = lambda u: 1 / (1 + np.exp(-u))   # noqa: E731
    assert sig(lo[brow]) == pytest.approx(RECTIFIED_LEVEL, abs=1e-3)             # where small moves show
    assert sig(hi[brow]) - sig(lo[brow]) == pytest.approx(0.27, abs=2e-3)       # the whole range above it
    assert sig(lo[smile]) == pytest.approx(RECTIFIED_LEVEL, abs=1e-3)  # a wide range too: its gain is after
    assert sig(lo[jaw]) == pytest.approx(0.12, abs=1e-3)                        # the 5th percentile
    assert sig(hi[jaw]) - sig(lo[jaw]) == pytest.approx(0.5 * 0.36, abs=2e-3)


def test_calibrate_step_shifts_a_saturated_channel_instead_of_scaling_it():
    from avatar.motion.clip import ARKIT_INDEX
    from avatar.motion.calibration import RawAnchors, calibrate_step

    pucker = 8 + ARKIT_INDEX["mouthPucker"]   # not an affect channel (those only shift their level)
    fit = {"out_scale": torch.full((60,), 2.0), "out_shift": torch.full((60,), 1.0), "head_gain": torch.ones(3)}
    raw = RawAnchors(center=np.zeros(60), lo=np.full(60, 6.9), hi=np.full(60, 6.9))   # stuck at 1
    calibrate_step(fit, raw, np.ones(60), (np.full(52, -1.0), np.full(52, 1.0)), np.array([pucker]))
    assert fit["out_scale"][pucker] == 2.0                           # not scaled (deeper into the tail)
    assert fit["out_shift"][pucker] == pytest.approx(1.0 - 6.9)      # moved onto the targets' middle


def test_fit_is_bounded_by_steps_and_seeded(tiny_checkpoint, speech, profile):
    from avatar.motion.style_fit import fit_style

    tracked = _video(speech, profile)
    fits = [fit_style(TransformerMotionGenerator(tiny_checkpoint), tracked, steps=3, seed=7) for _ in range(2)]
    assert all(int(f["steps"]) == 3 for f in fits)                       # exactly the steps asked, no time cut
    assert float(fits[0]["cpu_seconds"]) > 0 and float(fits[0]["seconds"]) > 0
    torch.testing.assert_close(fits[0]["style_vec"], fits[1]["style_vec"])     # same seed, same style
    torch.testing.assert_close(fits[0]["out_scale"], fits[1]["out_scale"])
    other = fit_style(TransformerMotionGenerator(tiny_checkpoint), tracked, steps=3, seed=8)
    assert not torch.allclose(other["style_vec"], fits[0]["style_vec"])
    with pytest.raises(ValueError, match="steps"):
        fit_style(TransformerMotionGenerator(tiny_checkpoint), tracked, steps=0)


def test_head_limits_make_room_for_the_persons_own_rotation():
    from avatar.motion.calibration import HARD_HEAD_LIMITS, head_limits
    from avatar.motion.shaping import MAX_PITCH, MAX_ROLL, MAX_YAW

    calm = np.zeros((50, 60))
    calm[:, :3] = 0.05 * np.sin(np.arange(50))[:, None]
    np.testing.assert_allclose(head_limits(calm), [MAX_YAW, MAX_PITCH, MAX_ROLL], rtol=1e-6)   # the layer's
    tilter = calm.copy()
    tilter[:, 2] = 0.4 * np.sin(np.arange(50) / 3)                     # a person who tilts up to 23 degrees
    lim = head_limits(tilter)
    assert lim[2] == pytest.approx(1.1 * np.abs(tilter[:, 2]).max(), rel=1e-5) and lim[2] > MAX_ROLL
    tilter[:, :3] = 2.0                                                # never beyond the hard limits
    np.testing.assert_allclose(head_limits(tilter), HARD_HEAD_LIMITS, rtol=1e-6)


def test_a_style_head_limit_lets_the_shown_roll_go_beyond_the_layers(tiny_checkpoint, tmp_path, speech, profile):
    from avatar.motion.shaping import MAX_ROLL

    gen = TransformerMotionGenerator(tiny_checkpoint, styles_dir=tmp_path)
    base = {"style_vec": gen.model.style_emb.weight[0].detach().clone()}
    torch.save({**base, "head_gain": torch.tensor([1.0, 1.0, 40.0])}, tmp_path / "capped.pt")
    torch.save({**base, "head_gain": torch.tensor([1.0, 1.0, 40.0]), "head_limit": torch.tensor([0.45, 0.3, 0.5])},
               tmp_path / "tilter.pt")
    roll = {}
    for name in ("capped", "tilter"):
        clip = gen.generate(MotionRequest(Role.SPEAKING, EmotionState.neutral(), profile, speech=speech, style=name, seed=2))
        roll[name] = np.abs(clip.pose[:, 2]).max()
    assert roll["capped"] <= MAX_ROLL + 1e-6 and MAX_ROLL + 0.05 < roll["tilter"] <= 0.5 + 1e-6
    assert gen.head_limit("capped") is None and gen.head_limit("tilter")[2] == pytest.approx(0.5)


def test_head_gain_may_grow_past_four_for_a_person_who_moves_much_more():
    from avatar.motion.calibration import MAX_HEAD_GAIN, RawAnchors, calibrate_step

    fit = {"out_scale": torch.ones(60), "out_shift": torch.zeros(60), "head_gain": torch.full((3,), 4.0)}
    raw = RawAnchors(center=np.zeros(60), lo=np.zeros(60), hi=np.zeros(60))
    ratio = np.ones(60)
    ratio[2] = 0.7                                        # roll still 0.7 of hers at a gain of 4
    calibrate_step(fit, raw, ratio, (np.zeros(52), np.zeros(52)), np.array([2]), damping=1.0)
    assert float(fit["head_gain"][2]) == pytest.approx(4.0 * 0.7 ** -0.8, rel=1e-5) and 4.0 * 0.7 ** -0.8 > 4.0
    fit["head_gain"][2], ratio[2] = 9.0, 0.1
    calibrate_step(fit, raw, ratio, (np.zeros(52), np.zeros(52)), np.array([2]), damping=1.0)
    assert float(fit["head_gain"][2]) == pytest.approx(MAX_HEAD_GAIN)


def test_place_gain_is_bounded_and_kept_between_rounds():
    from avatar.motion.calibration import MAX_PLACE_GAIN, RawAnchors, calibrate_step

    fit = {"out_scale": torch.ones(60), "out_shift": torch.zeros(60), "head_gain": torch.ones(3),
           "place_gain": torch.tensor([1.0, 0.75 * MAX_PLACE_GAIN, 1.0, 1.0, 1.0])}
    raw = RawAnchors(center=np.zeros(60), lo=np.zeros(60), hi=np.ones(60))
    ratio = np.ones(60)
    ratio[4], ratio[5], ratio[6] = 0.1, 1.5, 0.0      # y a tenth of the person's, scale 1.5x, gaze x flat
    calibrate_step(fit, raw, ratio, (np.zeros(52), np.ones(52)), np.array([3, 4, 5, 6]))
    assert float(fit["place_gain"][1]) == pytest.approx(MAX_PLACE_GAIN)            # 2x a round at most, capped
    assert float(fit["place_gain"][2]) == pytest.approx(1.5 ** -0.8, rel=1e-5)
    assert float(fit["place_gain"][0]) == pytest.approx(1.0)                       # x on target
    assert float(fit["place_gain"][3]) == pytest.approx(1.0)                       # flat: left alone
    fit["place_gain"][1], ratio[4] = 1.0, 0.1
    calibrate_step(fit, raw, ratio, (np.zeros(52), np.ones(52)), np.array([4]))
    assert float(fit["place_gain"][1]) == pytest.approx(2.0)
    torch.testing.assert_close(fit["out_scale"], torch.ones(60))                   # the loop is left alone


def test_calibrate_step_moves_an_affect_channels_level_in_the_loop_and_its_span_after_it():
    from avatar.motion.clip import ARKIT_INDEX
    from avatar.motion.calibration import MAX_EXPRESSION_GAIN, RECTIFIED, RawAnchors, calibrate_step

    brow, jaw = 8 + ARKIT_INDEX["browInnerUp"], 8 + ARKIT_INDEX["jawOpen"]
    assert brow in RECTIFIED and jaw not in RECTIFIED
    fit = {"out_scale": torch.full((60,), 1.5), "out_shift": torch.zeros(60), "head_gain": torch.ones(3)}
    raw = RawAnchors(center=np.zeros(60), lo=np.full(60, -3.0), hi=np.full(60, -2.0))
    ratio = np.ones(60)
    ratio[brow] = 0.25                                      # the brows show a quarter of the person's range
    t_lo, t_hi = np.full(52, -1.0), np.full(52, 1.0)
    calibrate_step(fit, raw, ratio, (t_lo, t_hi), np.array([brow, jaw]), damping=0.5)
    assert float(fit["out_scale"][brow]) == pytest.approx(1.5)                  # no gain in the loop
    assert float(fit["out_shift"][brow]) == pytest.approx(0.5 * (-1.0 + 3.0))   # the level half-way up
    assert float(fit["expression_gain"][brow - 8]) == pytest.approx(2.0)        # 0.25^-0.8, at most 2x a round
    assert float(fit["expression_gain"][jaw - 8]) == 1.0                        # the jaw: the affine, as before
    assert float(fit["out_scale"][jaw]) != pytest.approx(1.5)
    for _ in range(10):
        calibrate_step(fit, raw, ratio, (t_lo, t_hi), np.array([brow]), damping=0.5)
    assert float(fit["expression_gain"][brow - 8]) == pytest.approx(MAX_EXPRESSION_GAIN)
