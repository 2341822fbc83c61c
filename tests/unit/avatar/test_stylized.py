import numpy as np

from avatar.motion.clip import ARKIT_NAMES, MotionClip
from avatar.render import list_builtin_avatars, make_renderer
from avatar.render.demo import EMOTION_EXPRESSIONS, demo_motion, single_frame
from avatar.render.stylized import StylizedRenderer
from avatar.settings import RenderSettings


def test_stylized_renders_all_motions_finite():
    r = StylizedRenderer(128)
    rng = np.random.default_rng(0)
    t = 20
    pose = np.column_stack([rng.uniform(-0.35, 0.35, t), rng.uniform(-0.25, 0.25, t), rng.uniform(-0.2, 0.2, t),
                            rng.uniform(-0.1, 0.1, t), rng.uniform(-0.1, 0.1, t), rng.uniform(0.9, 1.1, t)])
    clip = MotionClip(pose=pose.astype(np.float32), gaze=rng.uniform(-1, 1, (t, 2)).astype(np.float32),
                      expression=rng.uniform(0, 1, (t, len(ARKIT_NAMES))).astype(np.float32))
    frames = list(r.stream_frames(clip))
    assert len(frames) == t
    assert all(f.shape == (128, 128, 3) and f.dtype == np.uint8 for f in frames)
    for name in EMOTION_EXPRESSIONS:
        assert r.render_frame(demo_motion(3, emotion=name), 1).shape == (128, 128, 3)


def test_stylized_blink_and_jaw_change_the_face():
    r = StylizedRenderer(128)
    neutral = r.render_frame(single_frame(), 0)
    blink = r.render_frame(single_frame({"eyeBlinkLeft": 1, "eyeBlinkRight": 1}), 0)
    jaw = r.render_frame(single_frame({"jawOpen": 0.8}), 0)
    d_blink = np.abs(blink.astype(int) - neutral).max(-1) > 0
    d_jaw = np.abs(jaw.astype(int) - neutral).max(-1) > 0
    ys_blink, ys_jaw = np.nonzero(d_blink)[0], np.nonzero(d_jaw)[0]
    assert len(ys_blink) and len(ys_jaw) and ys_blink.mean() < ys_jaw.mean()   # eyes above the mouth


def test_make_renderer_knows_the_builtin_avatars():
    assert {"astronaut", "hopper", "stylized"} <= set(list_builtin_avatars())
    r = make_renderer("stylized", RenderSettings(size=128))
    assert r.size == 128


def test_make_renderer_sizes_opencv_s_thread_pool_as_the_settings_say():
    import cv2

    before = cv2.getNumThreads()
    try:
        make_renderer("stylized", RenderSettings(size=64, opencv_threads=3))
        assert cv2.getNumThreads() == 3
        make_renderer("stylized", RenderSettings(size=64))  # the default: one thread (a warp frame is small work)
        assert cv2.getNumThreads() == 1
        make_renderer("stylized", RenderSettings(size=64, opencv_threads=0))  # 0: left as it is
        assert cv2.getNumThreads() == 1
    finally:
        cv2.setNumThreads(before)
