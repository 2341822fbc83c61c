"""A change of emotion between sentences ramps over 0.2-0.5 s and never pops (shaping.ramp_from)."""

from __future__ import annotations

import numpy as np
import pytest

from avatar.motion.base import MotionRequest
from avatar.motion.clip import ARKIT_NAMES, FPS, MotionClip, Role
from avatar.motion.generator import DEFAULT_CHECKPOINT
from avatar.motion.procedural import expression_vector
from avatar.motion.shaping import _FADED_COLUMNS, emotion_face, ramp_from
from emotion import EmotionState
from emotion.builtin import get_profile

SAD, CALM = EmotionState.of("sad", 0.8), EmotionState.of("neutral", 0.5)
PROFILE = get_profile("warm")
SAD_FACE = expression_vector(PROFILE.expression(SAD, listening=False))
CALM_FACE = expression_vector(PROFILE.expression(CALM, listening=False))
# what the sad face moves (beyond the calm face's own level: warm's neutral presses its lips a little)
SAD_COLUMNS = [c for c in _FADED_COLUMNS if SAD_FACE[c] - CALM_FACE[c] >= 0.1]
# what it moves most (inner brows, the frown on both sides), blinks aside (a blink may fall in the ramp) and
# the lip stretch too (the next sentence's speech stretches the lips by up to about 0.4 itself)
STRONG_SAD = [c for c in SAD_COLUMNS if SAD_FACE[c] >= 0.3 and "Blink" not in ARKIT_NAMES[c]
              and "Stretch" not in ARKIT_NAMES[c]]


def _shaped(emotion: EmotionState, previous: MotionClip | None, n: int = 50) -> MotionClip:
    """A clip of a still model output with `emotion`'s face, joined to `previous` as the generator does."""
    req = MotionRequest(role=Role.SPEAKING, emotion=emotion, profile=PROFILE, duration_s=n / FPS, previous=previous)
    expr = emotion_face(np.zeros((n, 52), np.float32), req)
    clip = MotionClip(np.zeros((n, 6), np.float32), np.zeros((n, 2), np.float32), expr, role=Role.SPEAKING)
    return ramp_from(clip, previous)


def _join(first: MotionClip, second: MotionClip) -> tuple[np.ndarray, int]:
    return np.concatenate([first.expression, second.expression]), first.num_frames


def test_sad_to_neutral_eases_out_monotonically_in_small_steps():
    sad = _shaped(SAD, None)
    expr, j = _join(sad, _shaped(CALM, sad))
    assert len(SAD_COLUMNS) >= 5
    for c in SAD_COLUMNS:
        change = expr[j - 1, c] - expr[-1, c]
        steps = np.diff(expr[j - 1:, c])
        assert change > 0.1 and np.all(steps <= 1e-6), c          # monotone, down to the calm face
        assert -steps.min() <= 0.21 * change + 1e-6, c             # smoothstep over 0.3 s: <= 0.2 of it a frame
        left = (expr[j - 1:, c] - expr[-1, c]) / change
        assert left[int(0.2 * FPS)] > 0.1 and left[int(0.5 * FPS)] < 0.01, c   # lasts 0.2-0.5 s


def test_the_same_emotion_carries_across_the_join_without_a_dip():
    sad = _shaped(SAD, None)
    expr, j = _join(sad, _shaped(SAD, sad))
    np.testing.assert_allclose(expr[j - 1:, SAD_COLUMNS], np.broadcast_to(expr[j - 1, SAD_COLUMNS], (51, len(SAD_COLUMNS))),
                               atol=1e-5)


@pytest.mark.skipif(not DEFAULT_CHECKPOINT.is_file(), reason="shipped checkpoint not built")
def test_a_sad_then_neutral_reply_through_the_shipped_model_ramps_without_a_pop():
    from avatar.motion.generator import TransformerMotionGenerator
    from avatar.pipeline import AvatarPipeline, Continuity, Say
    from tests.fakes_render import EspeakTTS

    class Keep:
        def put(self, segment):
            return segment

    pipeline = AvatarPipeline(tts=EspeakTTS(), motion=TransformerMotionGenerator(), renderer=None, profile=PROFILE)
    assert len(STRONG_SAD) >= 3
    for seed in (0, 1, 2):
        first, second = pipeline.stream([Say("I am so sorry to hear that.", SAD, seed=seed),
                                         Say("How was the rest of your day?", CALM, seed=seed + 1)],
                                        Continuity(), Keep())
        expr, j = _join(first.motion, second.motion)
        window = expr[j - 1:j + int(0.5 * FPS)]
        for c in STRONG_SAD:
            change = window[0, c] - window[-1, c]
            steps = np.diff(window[:, c])
            assert change > 0.3, (seed, c)
            assert -steps.min() <= 0.25, (seed, c)   # no pop: at most a third of the change in a frame
            assert steps.max() <= 0.08, (seed, c)    # down all along (speech moves the lips a little)
