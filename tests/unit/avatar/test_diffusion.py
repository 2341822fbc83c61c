import numpy as np
import pytest

torch = pytest.importorskip("torch")

from avatar.render.diffusion import (DiffusionRenderer, RefinerConfig, RefinerPipeline, build_scheduler,  # noqa: E402
                                     build_unet, coarse_warp, ddim_timesteps, face_region, rasterize_masks,
                                     region_matrix)


def _perturbed_unet(cfg):
    """A fresh UNet whose (zero-initialised) output layer is given small random weights, so its
    output is not the warp's."""
    torch.manual_seed(0)
    unet = build_unet(cfg)
    with torch.no_grad():
        torch.nn.init.normal_(unet.conv_out.weight, std=0.05)
    return unet


def _inputs():
    g = torch.Generator().manual_seed(0)
    w = torch.rand(1, 3, 32, 32, generator=g) * 2 - 1
    r = torch.rand(1, 3, 32, 32, generator=g) * 2 - 1
    m = (torch.rand(1, 3, 32, 32, generator=g) > 0.5).float() * 2 - 1
    return w, r, m


def _tiny_output():
    cfg = RefinerConfig.tiny()
    pipe = RefinerPipeline(_perturbed_unet(cfg), build_scheduler(cfg))
    return pipe(*_inputs(), 2, torch.Generator().manual_seed(1))


def test_untrained_refiner_is_the_warp():
    cfg = RefinerConfig.tiny()
    pipe = RefinerPipeline(build_unet(cfg), build_scheduler(cfg))       # zero output layer
    w, r, m = _inputs()
    for strength in (1.0, 0.3):
        out = pipe(w, r, m, 3, torch.Generator().manual_seed(1), strength=strength)
        torch.testing.assert_close(out, w.clamp(-1, 1))


class _ConstantResidual(torch.nn.Module):
    """A stand-in UNet that always predicts the same residual (sample prediction)."""

    def __init__(self, value: torch.Tensor) -> None:
        super().__init__()
        self.value = value

    def forward(self, x, t):
        from types import SimpleNamespace

        return SimpleNamespace(sample=self.value.expand(x.shape[0], -1, -1, -1))


@pytest.mark.parametrize("steps,strength", [(1, 1.0), (4, 1.0), (2, 0.3)])
def test_ddim_ends_on_the_predicted_residual(steps, strength):
    cfg = RefinerConfig.tiny()
    w, r, m = _inputs()
    value = torch.full((1, 3, 32, 32), 0.1)
    out = RefinerPipeline(_ConstantResidual(value), build_scheduler(cfg))(
        w * 0.5, r, m, steps, torch.Generator().manual_seed(3), strength=strength)
    torch.testing.assert_close(out, (w * 0.5 + value).clamp(-1, 1), atol=1e-5, rtol=0)


def test_ddim_timesteps_start_at_the_noisiest_trained_step():
    assert ddim_timesteps(1000, 4) == [999, 749, 499, 249]
    assert ddim_timesteps(1000, 1) == [999]
    assert ddim_timesteps(1000, 2, strength=0.3) == [299, 149]
    assert ddim_timesteps(100, 2, strength=0.5) == [49, 24]


def test_ssim_map_is_one_for_equal_images_and_differentiable():
    from avatar.render.diffusion_train import ssim_map

    g = torch.Generator().manual_seed(0)
    a = torch.rand(2, 3, 24, 24, generator=g) * 2 - 1
    assert torch.allclose(ssim_map(a, a), torch.ones(2, 1, 24, 24), atol=1e-4)
    b = (a + 0.3 * torch.randn(a.shape, generator=g)).requires_grad_(True)
    s = ssim_map(b, a)
    assert s.shape == (2, 1, 24, 24) and float(s.detach().mean()) < 0.9
    (1 - s).mean().backward()
    assert b.grad is not None and float(b.grad.abs().sum()) > 0


def test_tiny_refiner_matches_stored_values():
    out = _tiny_output()
    assert out.shape == (1, 3, 32, 32)
    got = np.array([out[0, 0, 0, 1].item(), out[0, 1, 10, 10].item(), out[0, 1, 10, 12].item(), out.mean().item()])
    stored = np.array(STORED)
    np.testing.assert_allclose(got, stored, atol=1e-4)


def test_masks_mark_head_eyes_and_mouth(portrait):
    m = rasterize_masks(portrait.landmarks.xy, portrait.size)
    assert m.shape == (256, 256, 3)
    head, eyes, mouth = (m[..., k].sum() for k in range(3))
    assert head > 20 * eyes > 0 and mouth >= 0


def test_face_region_frames_the_face_oval(portrait):
    from avatar.face import landmarks as L

    cx, cy, side = face_region(portrait.landmarks.xy, 1.25)
    m = region_matrix((cx, cy, side), 64)
    oval = portrait.landmarks.xy[list(L.FACE_OVAL)] @ m[:, :2].T + m[:, 2]
    assert oval.min() > 0 and oval.max() < 64                     # the whole oval is inside
    assert oval.max(0).max() - oval.min(0).min() > 64 / 1.25 - 1   # and fills 1 / scale of it


def test_coarse_warp_moves_the_mouth_to_the_target(portrait):
    from avatar.face import landmarks as L

    src = portrait.landmarks.xy
    dst = src.copy()
    lower = list(L.LOWER_INNER[1:-1]) + list(L.LOWER_OUTER[1:-1])
    dst[lower, 1] += 6                                             # open the mouth by 6 px
    out = coarse_warp(portrait.image, src, dst)
    assert out.shape == portrait.image.shape
    diff = np.abs(out.astype(int) - portrait.image.astype(int)).sum(-1)
    x0, y0 = src[list(L.LIPS_OUTER)].min(0).astype(int)
    x1, y1 = src[list(L.LIPS_OUTER)].max(0).astype(int)
    assert diff[y0:y1 + 8, x0:x1].mean() > 5 * max(diff[:40, :40].mean(), 0.1)   # the mouth moved, not the corner


def test_refiner_changes_only_the_face_region(warp):
    from avatar.render.demo import single_frame

    cfg = RefinerConfig.tiny()
    renderer = DiffusionRenderer(warp, RefinerPipeline(_perturbed_unet(cfg), build_scheduler(cfg)), cfg, steps=2)
    motion = single_frame({"jawOpen": 0.4})
    frame = renderer.render_frame(motion, 0)
    assert frame.shape == (warp.size, warp.size, 3) and frame.dtype == np.uint8
    pts = warp.target_landmarks(motion.pose[0], np.clip(motion.expression[0][warp.rig.columns], 0, 1), motion.gaze[0])
    coarse = coarse_warp(warp.portrait.image, warp.portrait.landmarks.xy, pts)
    changed = np.abs(frame.astype(int) - coarse.astype(int)).sum(-1) > 0
    cx, cy, side = face_region(warp.portrait.landmarks.xy, cfg.region_scale)
    ys, xs = np.nonzero(changed)
    assert changed.any()
    assert (np.abs(xs - cx) <= side / 2 + 1).all() and (np.abs(ys - cy) <= side / 2 + 1).all()


STORED = [0.6700583100318909, 0.09182800352573395, -0.5036747455596924, -0.03111605904996395]


def test_pipeline_renders_with_a_diffusion_checkpoint(tmp_path):
    """render.renderer = "diffusion" through make_renderer and avatar/pipeline.py: speaking and
    listening segments render refined frames (a tiny checkpoint whose output is not the warp's)."""
    from avatar.pipeline import AvatarPipeline, Continuity, Listen, Say
    from avatar.render import make_renderer
    from avatar.render.diffusion import save_checkpoint
    from avatar.settings import RenderSettings
    from emotion import EmotionState
    from tests.unit.avatar.test_pipeline import FakeTTS, ListSink, RecordingMotion

    cfg = RefinerConfig.tiny()
    ckpt = tmp_path / "me.refiner.pt"
    save_checkpoint(ckpt, cfg, _perturbed_unet(cfg))
    save_checkpoint(tmp_path / "untrained.pt", cfg, build_unet(cfg))      # zero output: the coarse warp
    settings = dict(size=64, device="cpu", renderer="diffusion", diffusion_steps=1)
    refined = make_renderer("astronaut", RenderSettings(diffusion_checkpoint=str(ckpt), **settings))
    plain = make_renderer("astronaut", RenderSettings(diffusion_checkpoint=str(tmp_path / "untrained.pt"), **settings))
    assert isinstance(refined, DiffusionRenderer)
    pipe = AvatarPipeline(tts=FakeTTS(), motion=RecordingMotion(), renderer=refined)
    segments = list(pipe.stream([Say("hi", EmotionState.of("happy", 0.8)), Listen(0.4, EmotionState.of("sad", 0.6))],
                                Continuity(), ListSink()))
    for seg in segments:
        frames = list(pipe.frames(seg))
        assert len(frames) == seg.motion.num_frames and frames[0].shape == (64, 64, 3)
        warp_frame = next(iter(plain.stream_frames(seg.motion)))
        assert np.abs(frames[0].astype(int) - warp_frame.astype(int)).max() > 0   # refined, not the warp


def _fake_pairs(n=6, size=32):
    from avatar.render.diffusion_train import PairSet

    g = torch.Generator().manual_seed(0)
    r = lambda c: torch.rand((n, c, size, size), generator=g) * 2 - 1  # noqa: E731
    return PairSet(r(3), r(3), r(3), r(3), torch.ones(n, 1, size, size))


def test_refiner_training_is_bounded_by_steps_and_seeded():
    from avatar.render.diffusion_train import train

    torch.set_num_threads(1)
    cfg = RefinerConfig.tiny()
    pairs = _fake_pairs()
    runs = [train(pairs, cfg, steps=4, batch=2, seed=3) for _ in range(2)]
    (unet_a, stats_a), (unet_b, stats_b) = runs
    assert stats_a.steps == 4 and len(stats_a.losses) == 4                  # exactly the steps asked
    assert stats_a.cpu_seconds > 0 and stats_a.wall_seconds > 0
    assert stats_a.cpu_seconds_per_step == pytest.approx(stats_a.cpu_seconds / 4)
    assert stats_a.losses == stats_b.losses                                  # same seed, same run
    for (k, a), b in zip(unet_a.state_dict().items(), unet_b.state_dict().values()):
        torch.testing.assert_close(a, b, msg=k)
    with pytest.raises(ValueError, match="steps"):
        train(pairs, cfg, steps=0)


def test_learning_rate_follows_steps_only():
    from avatar.render.diffusion_train import lr_schedule

    assert lr_schedule(0, 100, 1.0, warmup=10) == pytest.approx(0.1)        # warm-up
    assert lr_schedule(9, 100, 1.0, warmup=10) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * 0.09)))
    assert lr_schedule(100, 100, 1.0, warmup=10) == pytest.approx(0.1)      # the cosine ends at a tenth
    assert lr_schedule(50, 100, 1.0, warmup=10) > lr_schedule(80, 100, 1.0, warmup=10)


def test_validation_slice_sits_between_training_and_the_held_out_tail():
    from avatar.render.diffusion_train import split_frames

    assert split_frames(100, 0.2, 0.1) == (70, 80)
    assert split_frames(472, 0.2, 0.1) == (330, 378)      # WolfgangLanger: held-out from frame 378 as before
    assert split_frames(50, 0.2, 0.0) == (40, 40)         # no validation slice
    for bad in ((0.6, 0.4), (-0.1, 0.1), (0.2, 1.0)):
        with pytest.raises(ValueError, match="holdout"):
            split_frames(100, *bad)


def test_sampling_strength_is_chosen_on_the_sweep_it_is_given():
    from bench.refiner import choose_strength

    def figs(face, mouth, eyes):
        return {"ssim": {"face": face, "mouth": mouth, "eyes": eyes}, "psnr": {}}

    sweep = {"warp_only": figs(0.70, 0.66, 0.68), "0.1": figs(0.72, 0.69, 0.70), "0.2": figs(0.73, 0.70, 0.69),
             "0.6": figs(0.76, 0.80, 0.67)}
    assert choose_strength(sweep) == 0.1                  # every region gains most at its worst; never warp-only
    assert choose_strength(sweep, "mean_ssim") == 0.6     # the mean trades the eyes for the mouth
    with pytest.raises(ValueError, match="criterion"):
        choose_strength(sweep, "psnr")


def test_roll_augmentation_rolls_a_share_of_the_batch_about_the_centre():
    from avatar.render.diffusion_train import random_similarity, rolled

    theta = random_similarity(64, torch.Generator().manual_seed(0), roll_degrees=30, scale_jitter=0.1, share=0.5)
    linear = theta[:, :, :2]
    identity = torch.isclose(linear, torch.eye(2).expand_as(linear)).all(dim=(1, 2))
    assert 16 < int(identity.sum()) < 48                                     # about half the batch is kept as is
    angles = torch.rad2deg(torch.atan2(linear[:, 1, 0], linear[:, 0, 0]))
    assert float(angles.abs().max()) <= 30.0 and float(angles.abs().max()) > 15.0
    assert torch.all(theta[:, :, 2] == 0)                                    # about the centre: no shift
    assert torch.all(random_similarity(8, torch.Generator().manual_seed(0), share=0.0) == torch.eye(2, 3))

    img = torch.full((1, 1, 33, 33), -1.0)
    img[0, 0, 16, 26] = 1.0                                                  # a dot right of the centre
    quarter = torch.tensor([[[0.0, -1.0, 0.0], [1.0, 0.0, 0.0]]])           # a 90 deg roll
    (out,) = rolled(quarter, img)
    y, x = np.unravel_index(int(out[0, 0].argmax()), (33, 33))
    assert (y, x) in {(26, 16), (6, 16)} and abs(int(y) - 16) == 10          # the dot turned about the centre
    (same,) = rolled(torch.eye(2, 3)[None], img)
    torch.testing.assert_close(same, img, atol=1e-5, rtol=0)


def test_roll_augmentation_changes_training_and_stays_seeded():
    from avatar.render.diffusion_train import train

    torch.set_num_threads(1)
    cfg, pairs = RefinerConfig.tiny(), _fake_pairs()
    plain = train(pairs, cfg, steps=3, batch=2, seed=3, roll_degrees=0)[1].losses
    rolled_a = train(pairs, cfg, steps=3, batch=2, seed=3, roll_degrees=30)[1].losses
    rolled_b = train(pairs, cfg, steps=3, batch=2, seed=3, roll_degrees=30)[1].losses
    assert rolled_a == rolled_b and rolled_a != plain
