import cv2
import numpy as np
import pytest


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
