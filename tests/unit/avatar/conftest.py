"""Shared fixtures for the avatar tests: the astronaut portrait and warp renderer (rendering),
espeak-ng speech and a tiny seeded checkpoint (motion)."""

from __future__ import annotations

import numpy as np
import pytest

from avatar.motion.corpus import EspeakSpeaker, join_speech
from emotion.profile import EmotionProfile

TINY = dict(n_layer=2, n_head=2, n_embd=32, n_enc_layer=1, window=20, context=5, latent_dim=4,
            latent_stride=5, dropout=0.0)


# --- rendering -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    from avatar.face.portrait import load_image
    from avatar.render import AVATAR_DIR

    return load_image(AVATAR_DIR / "astronaut.png")


@pytest.fixture(scope="session")
def portrait(astronaut):
    from avatar.face.portrait import load_portrait

    return load_portrait(astronaut, 256)


@pytest.fixture(scope="session")
def warp(portrait):
    from avatar.render.warp import WarpRenderer

    return WarpRenderer(portrait)


def region_mask(shape, points, pad) -> np.ndarray:
    """bool mask of the padded bounding box of `points`."""
    m = np.zeros(shape[:2], bool)
    x0, y0 = np.floor(points.min(0) - pad).astype(int)
    x1, y1 = np.ceil(points.max(0) + pad).astype(int)
    m[max(y0, 0):y1, max(x0, 0):x1] = True
    return m


# --- motion --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def speech():
    """~6 s of espeak-ng speech: two sentences with a 0.8 s pause between and 0.6 s after."""
    spk = EspeakSpeaker()
    return join_speech([spk("Hello there, how are you doing today?"),
                        spk("I was thinking about the garden behind the house.")], [0.8, 0.6])


@pytest.fixture(scope="session")
def profile():
    return EmotionProfile(name="test", speaker={"happy": {"mouthSmileLeft": 0.6, "mouthSmileRight": 0.6}},
                          listener={"happy": {"mouthSmileLeft": 0.4, "mouthSmileRight": 0.4}}, mirroring=0.5)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    import torch

    from avatar.motion.model import MotionConfig, MotionModel
    from avatar.motion.train import save_checkpoint

    torch.manual_seed(0)
    model = MotionModel(MotionConfig(**TINY))
    path = tmp_path_factory.mktemp("motion") / "tiny.pt"
    save_checkpoint(model, path, {"note": "untrained tiny test model"})
    return path


def finite(clip) -> bool:
    return all(np.isfinite(a).all() for a in (clip.pose, clip.gaze, clip.expression))
