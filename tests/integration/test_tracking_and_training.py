"""Track a warp-rendered 'talking' video (no real talking-face video ships with the repo) and
train the tiny diffusion refiner on it."""

from __future__ import annotations

import numpy as np
import pytest

from avatar.motion.clip import FPS

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def rendered_video(tmp_path_factory):
    from avatar.face.portrait import load_image, load_portrait
    from avatar.render import AVATAR_DIR
    from avatar.render.demo import demo_motion
    from avatar.render.warp import WarpRenderer
    from avatar.video.encode import encode_mp4

    warp = WarpRenderer(load_portrait(load_image(AVATAR_DIR / "astronaut.png"), 256))
    motion = demo_motion(60, seed=3)
    frames = list(warp.stream_frames(motion))
    for k in (30, 31, 32):                                   # the face is lost for 3 frames
        frames[k] = np.full_like(frames[k], 128)
    sr = 16000
    audio = (0.1 * np.sin(np.arange(60 * sr // FPS) * 0.05)).astype(np.float32)
    path = tmp_path_factory.mktemp("video") / "talk.mp4"
    encode_mp4(frames, path, FPS, audio, sr, crf=18)
    return path, motion


def test_track_video_recovers_jaw_blinks_and_gaps(rendered_video):
    from avatar.face.tracking import track_video

    path, motion = rendered_video
    tracked = track_video(path)
    assert tracked.motion.num_frames == 60
    assert tracked.sample_rate == 16000 and abs(len(tracked.audio) / 16000 - 2.4) < 0.1
    assert not tracked.face_found[30:33].any() and tracked.face_found[:30].all()
    assert np.isfinite(tracked.motion.expression).all()
    ok = tracked.face_found
    jaw_true, jaw_est = motion.coeff("jawOpen")[ok], tracked.motion.coeff("jawOpen")[ok]
    assert np.corrcoef(jaw_true, jaw_est)[0, 1] > 0.8
    blink_true = motion.coeff("eyeBlinkLeft")[ok] > 0.7
    blink_est = tracked.motion.coeff("eyeBlinkLeft")[ok]
    if blink_true.any():
        assert blink_est[blink_true].mean() > blink_est[~blink_true].mean() + 0.3
    yaw_true, yaw_est = motion.pose[ok, 0], tracked.motion.pose[ok, 0]
    assert np.corrcoef(yaw_true, yaw_est)[0, 1] > 0.8


def test_no_face_video_is_rejected(tmp_path):
    from avatar.face.landmarks import PortraitError
    from avatar.face.tracking import track_video
    from avatar.video.encode import encode_mp4

    path = tmp_path / "empty.mp4"
    encode_mp4([np.full((64, 64, 3), 90, np.uint8)] * 5, path, FPS)
    with pytest.raises(PortraitError, match="no face"):
        track_video(path)


def test_tiny_refiner_trains_on_the_video_and_renders(rendered_video, tmp_path):
    from avatar.render import make_renderer
    from avatar.render.demo import single_frame
    from app.video_commands import train_renderer_main as main
    from avatar.settings import RenderSettings

    path, _ = rendered_video
    ckpt = tmp_path / "r.pt"
    assert main([str(path), "--tiny", "--steps", "4", "--batch", "2", "--out", str(ckpt),
                 "--device", "cpu"]) == 0
    assert ckpt.with_suffix(".png").is_file()                # the portrait frame it was trained with
    renderer = make_renderer("astronaut", RenderSettings(size=128, renderer="diffusion", device="cpu",
                                                         diffusion_checkpoint=str(ckpt), diffusion_steps=2))
    frame = renderer.render_frame(single_frame({"jawOpen": 0.5}), 0)
    assert frame.shape == (128, 128, 3) and frame.dtype == np.uint8
