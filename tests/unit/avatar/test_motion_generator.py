import numpy as np
import pytest

from avatar.motion.base import MotionRequest
from avatar.motion.clip import MotionClip, Role
from avatar.motion.generator import (
    DEFAULT_CHECKPOINT, TeacherMotionGenerator, TransformerMotionGenerator, make_motion_generator,
)
from avatar.motion.metrics import seam_ratio
from avatar.settings import MotionSettings
from avatar.voice.base import SpeechClip
from emotion import EmotionState
from tests.unit.avatar.conftest import finite


@pytest.fixture(scope="module")
def gen(tiny_checkpoint):
    return TransformerMotionGenerator(tiny_checkpoint)


def _req(speech, profile, **kw):
    return MotionRequest(kw.pop("role", Role.SPEAKING), EmotionState.of("happy", 0.7), profile, speech=speech, **kw)


def test_generates_any_length_finite(gen, speech, profile):
    clip = gen.generate(_req(speech, profile, seed=0))
    assert clip.num_frames == int(np.ceil(speech.duration * 25 - 1e-9))
    assert finite(clip) and clip.expression.min() >= 0 and clip.expression.max() <= 1


def test_seeds(gen, speech, profile):
    a, b, c = (gen.generate(_req(speech, profile, seed=s)) for s in (1, 1, 2))
    np.testing.assert_array_equal(a.pose, b.pose)
    assert not np.allclose(a.expression, c.expression)


def test_previous_is_used(gen, speech, profile):
    prev = MotionClip.still(10)
    prev.pose[:, 0] = 0.4
    a = gen.generate(_req(speech, profile, seed=1))
    b = gen.generate(_req(speech, profile, seed=1, previous=prev))
    assert not np.allclose(a.pose[:5], b.pose[:5])


def test_bad_inputs(gen, profile):
    silence = SpeechClip(np.zeros(8000 * 3, np.float32), 8000)
    for req in (_req(silence, profile, seed=0),
                _req(None, profile, role=Role.LISTENING, duration_s=4.0, seed=0),
                _req(SpeechClip(np.zeros(0, np.float32), 44100), profile, duration_s=1.0)):
        assert finite(gen.generate(req))
    ten_minutes = gen.generate(_req(None, profile, role=Role.LISTENING, duration_s=600.0, seed=0))
    assert ten_minutes.num_frames == 15000 and finite(ten_minutes)
    with pytest.raises(FileNotFoundError):
        gen.generate(_req(silence, profile, style="nobody"))
    with pytest.raises(ValueError):
        gen.generate(_req(None, profile))


def test_factory(tiny_checkpoint):
    assert isinstance(make_motion_generator(MotionSettings(generator="teacher")), TeacherMotionGenerator)
    assert isinstance(make_motion_generator(MotionSettings(checkpoint=str(tiny_checkpoint))), TransformerMotionGenerator)
    with pytest.raises(ValueError):
        make_motion_generator(MotionSettings(generator="magic"))
    with pytest.raises(FileNotFoundError):
        TransformerMotionGenerator("/nonexistent/generator.pt")


@pytest.mark.skipif(not DEFAULT_CHECKPOINT.is_file(), reason="shipped checkpoint not built")
def test_shipped_checkpoint_windows_join_without_seams(speech, profile):
    g = TransformerMotionGenerator()
    clip = g.generate(_req(speech, profile, seed=3))
    joins, inside = seam_ratio(clip, g.config.window, slice(0, 3))  # head rotation
    assert joins < 3 * inside + 1e-3
    assert clip.coeff("jawOpen").max() > 0.15  # the mouth moves


def test_checkpoint_stores_its_label_names_and_refuses_others(tiny_checkpoint, tmp_path, speech, profile):
    import torch

    from emotion.labels import label_names

    assert torch.load(tiny_checkpoint, weights_only=True)["labels"] == list(label_names())
    assert DEFAULT_CHECKPOINT.is_file() and "labels" in torch.load(DEFAULT_CHECKPOINT, weights_only=True)
    # a model trained on fewer labels: the label it lacks is refused, by name, not mapped silently
    ckpt = torch.load(tiny_checkpoint, weights_only=True)
    ckpt["config"]["n_emotions"] = 6
    ckpt["model"]["emotion_emb.weight"] = ckpt["model"]["emotion_emb.weight"][:6]
    ckpt["labels"] = list(label_names())[:6]
    torch.save(ckpt, tmp_path / "six.pt")
    six = TransformerMotionGenerator(tmp_path / "six.pt")
    assert six.generate(_req(speech, profile, seed=0)).num_frames > 0
    with pytest.raises(ValueError, match=r"trained with the labels .* does not know 'disgusted'"):
        six.generate(MotionRequest(Role.SPEAKING, EmotionState.of("disgusted", 0.7), profile, speech=speech))


def test_a_style_head_gain_scales_the_shown_head_rotation(tiny_checkpoint, tmp_path, speech, profile):
    import torch

    gen = TransformerMotionGenerator(tiny_checkpoint, styles_dir=tmp_path)
    base = {"style_vec": gen.model.style_emb.weight[0].detach(), "out_scale": torch.ones(60), "out_shift": torch.zeros(60)}
    torch.save(base, tmp_path / "plain.pt")
    torch.save({**base, "head_gain": torch.tensor([0.5, 1.0, 0.0])}, tmp_path / "calm.pt")
    req = dict(role=Role.SPEAKING, emotion=EmotionState.neutral(), profile=profile, speech=speech, seed=4)
    plain = gen.generate(MotionRequest(**req, style="plain")).pose
    calm = gen.generate(MotionRequest(**req, style="calm")).pose
    dev = lambda p: p[:, :3] - p[:, :3].mean(0)   # noqa: E731
    np.testing.assert_allclose(dev(calm)[:, 0], 0.5 * dev(plain)[:, 0], atol=1e-5)   # yaw halved
    np.testing.assert_allclose(dev(calm)[:, 1], dev(plain)[:, 1], atol=1e-5)         # pitch kept
    assert np.abs(dev(calm)[:, 2]).max() < 1e-6 < np.abs(dev(plain)[:, 2]).max()     # roll still
    np.testing.assert_array_equal(calm[:, 3:], plain[:, 3:])                         # position untouched
    assert gen.head_gain("plain") is None and gen.head_gain(None) is None


def test_a_style_place_gain_scales_the_shown_position_scale_and_gaze(tiny_checkpoint, tmp_path, speech, profile):
    import torch

    gen = TransformerMotionGenerator(tiny_checkpoint, styles_dir=tmp_path)
    base = {"style_vec": gen.model.style_emb.weight[0].detach(), "out_scale": torch.ones(60), "out_shift": torch.zeros(60)}
    torch.save(base, tmp_path / "plain.pt")
    torch.save({**base, "place_gain": torch.tensor([1.0, 0.5, 1.0, 0.0, 1.0])}, tmp_path / "placed.pt")
    req = dict(role=Role.SPEAKING, emotion=EmotionState.neutral(), profile=profile, speech=speech, seed=4)
    plain = gen.generate(MotionRequest(**req, style="plain"))
    placed = gen.generate(MotionRequest(**req, style="placed"))
    dev = lambda v: v - v.mean(0)   # noqa: E731
    np.testing.assert_allclose(dev(placed.pose[:, 3]), dev(plain.pose[:, 3]), atol=1e-5)          # x kept
    np.testing.assert_allclose(dev(placed.pose[:, 4]), 0.5 * dev(plain.pose[:, 4]), atol=1e-5)    # y halved
    np.testing.assert_allclose(placed.pose[:, 5], plain.pose[:, 5], atol=1e-6)                    # scale kept
    assert np.abs(dev(placed.gaze[:, 0])).max() < 1e-6 < np.abs(dev(plain.gaze[:, 0])).max()      # gaze x still
    np.testing.assert_allclose(placed.gaze[:, 1], plain.gaze[:, 1], atol=1e-6)
    np.testing.assert_array_equal(placed.pose[:, :3], plain.pose[:, :3])                          # rotation untouched
    assert gen.place_gain("plain") is None and gen.place_gain(None) is None


def test_style_place_scales_movement_about_the_clip_mean():
    from avatar.motion.generator import style_place

    t = np.linspace(0, 1, 50, dtype=np.float32)
    pose = np.zeros((50, 6), np.float32)
    pose[:, 3], pose[:, 4], pose[:, 5] = t, 0.1 + t, 1.0 + 0.1 * t
    gaze = np.stack([t, -t], 1)
    p, g = style_place(pose, gaze, np.array([2.0, 0.0, 3.0, 1.0, 0.5]))
    np.testing.assert_allclose(p[:, 3] - p[:, 3].mean(), 2.0 * (t - t.mean()), atol=1e-6)
    np.testing.assert_allclose(p[:, 4], 0.1 + t.mean(), atol=1e-6)                 # y held at its mean
    np.testing.assert_allclose(p[:, 5] - 1.0 - 0.1 * t.mean(), 0.3 * (t - t.mean()), atol=1e-6)
    np.testing.assert_allclose(g[:, 1] - g[:, 1].mean(), -0.5 * (t - t.mean()), atol=1e-6)
    np.testing.assert_array_equal(p[:, :3], pose[:, :3])
    same = style_place(pose, gaze, None)
    assert same[0] is pose and same[1] is gaze


def test_a_style_expression_gain_reaches_the_shown_face(tiny_checkpoint, tmp_path, speech, profile):
    import torch

    from avatar.motion.clip import ARKIT_INDEX

    gen = TransformerMotionGenerator(tiny_checkpoint, styles_dir=tmp_path)
    base = {"style_vec": gen.model.style_emb.weight[0].detach(), "out_scale": torch.ones(60), "out_shift": torch.zeros(60)}
    gain = torch.ones(52)
    gain[ARKIT_INDEX["browInnerUp"]] = 0.0
    torch.save(base, tmp_path / "plain.pt")
    torch.save({**base, "expression_gain": gain}, tmp_path / "still_brows.pt")
    req = dict(role=Role.SPEAKING, emotion=EmotionState.neutral(), profile=profile, speech=speech, seed=4)
    plain = gen.generate(MotionRequest(**req, style="plain")).expression
    still = gen.generate(MotionRequest(**req, style="still_brows")).expression
    b = ARKIT_INDEX["browInnerUp"]
    assert np.ptp(still[:, b]) < 1e-6 < np.ptp(plain[:, b])                 # its movement gone
    others = [c for c in range(52) if c != b]
    np.testing.assert_array_equal(still[:, others], plain[:, others])
    assert gen.expression_gain("plain") is None
