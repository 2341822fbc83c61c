"""The drawn eyelid (avatar.render.composite.draw_eyelid): opaque at every closure, no edge."""

import numpy as np
import pytest

from avatar.render.composite import LID_SKIN, draw_eyelid

UNIT = 100.0                      # eye distance, px
SKIN = np.array([200, 120, 90], np.uint8)
EYE = np.array([20, 40, 250], np.uint8)   # blue: what must never show through a lid
LASH = np.array([10, 10, 10], np.uint8)


def close(a, b, tol=1):
    return int(np.abs(a.astype(int) - b).max()) <= tol


def eye_image():
    """A flat eye: skin above a lash line at row 40 (x 20..80), blue eye rows 41..70, skin below."""
    img = np.tile(SKIN, (90, 100, 1))
    img[41:71, 20:81] = EYE
    img[38:41, 20:81] = LASH
    xs = np.linspace(20, 80, 9)
    top = np.stack([xs, np.full(9, 40.0)], 1)
    bottom = np.stack([xs, np.full(9, 71.0)], 1)
    return img, top, bottom


@pytest.mark.parametrize("closure", [0.1, 0.2, 0.4, 0.7, 1.0])
def test_a_closing_lid_is_opaque_and_carries_the_lash_line_down(closure):
    img, top, bottom = eye_image()
    edge = top + closure * (bottom - top)
    out = img.copy()
    draw_eyelid(out, top, edge, closure, SKIN.astype(np.float32), UNIT)
    covered = out[41:int(edge[0, 1]) - 1, 30:71].astype(int)
    if covered.size:                                   # the lid hides the eye: no blue shows through
        assert (covered[..., 2] < 150).all()
    row = int(round(edge[0, 1])) - 1                   # the lash line moved down with the lid edge
    assert out[row, 45:56].mean() < 80
    below = out[int(edge[0, 1]) + 3:71, 30:71]
    if below.size:                                     # the open part of the eye is untouched
        assert close(below, img[int(edge[0, 1]) + 3:71, 30:71], 3)


def test_a_lid_barely_closing_changes_nothing_above_its_skin():
    img, top, bottom = eye_image()
    out = img.copy()
    draw_eyelid(out, top, top + 0.05 * (bottom - top), 0.05, SKIN.astype(np.float32), UNIT)
    y0 = int(40 - LID_SKIN * UNIT) - 1
    assert close(out[:y0], img[:y0])                   # the stretched skin starts where it was
    assert close(out[:, :18], img[:, :18]) and close(out[:, 83:], img[:, 83:])


def test_a_raised_lid_does_not_drag_the_rim_above_it_over_the_eye():
    img, top, bottom = eye_image()
    img[27:30, 10:90] = (30, 30, 30)                   # a spectacle rim above the lid (rows 27-29)
    raised = top - [0, 6.0]                            # wide eyes: the lid line 6 px higher, at row 34
    img[34:41, 20:81] = EYE                            # (the eye shows where the lid was)
    img[32:35, 20:81] = LASH
    out = img.copy()
    draw_eyelid(out, raised, raised + 0.8 * (bottom - raised), 0.8, SKIN.astype(np.float32), UNIT, raised=6.0)
    edge = int(34 + 0.8 * (71 - 34))
    lid = out[36:edge - 3, 30:71].astype(int)          # the lid's skin, above its lash line
    assert lid.mean(-1).min() > 100                    # no rim (nor eye) in it
    assert close(out[27:30], img[27:30])               # the rim stays where it is
