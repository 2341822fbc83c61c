import numpy as np
import pytest

torch = pytest.importorskip("torch")

from avatar.render.diffusion import (DiffusionRenderer, RefinerConfig, RefinerPipeline, build_scheduler,  # noqa: E402
                                     build_unet, coarse_warp, face_region, rasterize_masks, region_matrix)


def _tiny_output():
    cfg = RefinerConfig.tiny()
    torch.manual_seed(0)
    pipe = RefinerPipeline(build_unet(cfg), build_scheduler(cfg))
    g = torch.Generator().manual_seed(0)
    w = torch.rand(1, 3, 32, 32, generator=g) * 2 - 1
    r = torch.rand(1, 3, 32, 32, generator=g) * 2 - 1
    m = (torch.rand(1, 3, 32, 32, generator=g) > 0.5).float() * 2 - 1
    return pipe(w, r, m, 2, torch.Generator().manual_seed(1))


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


def test_untrained_refiner_changes_only_the_face_region(warp):
    from avatar.render.demo import single_frame

    cfg = RefinerConfig.tiny()
    torch.manual_seed(0)
    renderer = DiffusionRenderer(warp, RefinerPipeline(build_unet(cfg), build_scheduler(cfg)), cfg, steps=2)
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


STORED = [0.7691043615341187, 0.1542573869228363, -0.6119405031204224, -0.027721010148525238]
