"""The landmark rig: how far each ARKit coefficient moves each of the 478 landmarks.

Displacements are authored in a face frame (x along the eye line towards the subject's left eye,
y down, unit = outer eye-corner distance) and spread from anchor landmarks with a Gaussian falloff
in the distance to the anchor region, restricted to the landmarks the movement may reach (the jaw
never drags the upper lip). `build_rig` turns them into pixel displacements for one portrait.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avatar.face import landmarks as L
from avatar.motion.clip import ARKIT_INDEX

# Coefficients whose movement separates the lower lip from the upper lip: the warp renders them
# in a second layer below the lip seam (see avatar/render/warp.py).
JAW_GROUP = ("jawOpen", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthClose")
JAW_DROP = 0.32           # jawOpen = 1 lowers the chin by this many eye distances
GAZE_SHIFT = (0.075, 0.05)  # iris shift in eye distances for gaze = 1 (x, y)
JAW_LIP_SHAPE = 0.8       # the lower lip's drop across the mouth: (1 - x^2) ** this (0.5: an ellipse, higher: more pointed)
JAW_RAMP = 0.5            # below the corners the jaw's drop reaches full this many eye distances down
BROW_DOWN = 0.085         # browDown = 1 lowers the brow by this many eye distances ...
BROW_DOWN_LID = 0.02      # ... and the upper lid by this much


@dataclass(frozen=True, slots=True)
class FaceFrame:
    """origin (2,) px, ex/ey (2,) unit axes, unit = eye distance in px."""

    origin: np.ndarray
    ex: np.ndarray
    ey: np.ndarray
    unit: float

    def to_face(self, xy: np.ndarray) -> np.ndarray:
        d = (np.asarray(xy, np.float64) - self.origin) / self.unit
        return np.stack([d @ self.ex, d @ self.ey], axis=-1)

    def vec_to_px(self, v: np.ndarray) -> np.ndarray:
        return self.unit * (v[..., :1] * self.ex + v[..., 1:2] * self.ey)


def face_frame(lm: L.FaceLandmarks) -> FaceFrame:
    r, l = lm.xy[L.RIGHT_EYE_OUTER].astype(np.float64), lm.xy[L.LEFT_EYE_OUTER].astype(np.float64)
    unit = float(np.linalg.norm(l - r))
    ex = (l - r) / unit
    return FaceFrame(0.5 * (l + r), ex, np.array([-ex[1], ex[0]]), unit)


@dataclass(frozen=True, slots=True)
class Rig:
    """Per-portrait rig.

    names: rigged coefficient names; columns: their ARKIT_INDEX columns (C,).
    displacement: (C, 478, 2) float32 pixels at coefficient 1.
    jaw: (C,) bool, coefficients in JAW_GROUP. lower_face: (478,) bool, landmarks below the lip seam.
    gaze: (2, 478, 2) float32 pixels for gaze x = 1 and gaze y = 1.
    """

    names: tuple[str, ...]
    columns: np.ndarray
    displacement: np.ndarray
    jaw: np.ndarray
    lower_face: np.ndarray
    gaze: np.ndarray


def _mask(n: int, idx) -> np.ndarray:
    m = np.zeros(n, bool)
    m[list(idx)] = True
    return m


def _spread(q: np.ndarray, anchors, vec, sigma: float, allowed: np.ndarray | None = None) -> np.ndarray:
    """(N, 2): `vec` (2,) or per-anchor (A, 2) at the anchors, Gaussian falloff with the distance
    to the nearest anchor (face units), zero where not `allowed`."""
    anchors = np.asarray(anchors)
    d2 = ((q[:, None, :] - q[None, anchors, :]) ** 2).sum(-1)           # (N, A)
    nearest = d2.argmin(1)
    w = np.exp(-d2[np.arange(len(q)), nearest] / (2 * sigma * sigma))
    v = np.broadcast_to(np.asarray(vec, np.float64), (len(anchors), 2))[nearest]
    out = w[:, None] * v
    if allowed is not None:
        out[~allowed] = 0.0
    return out


def _lower_face(q: np.ndarray) -> np.ndarray:
    """Landmarks below the lip seam (seam = mean of inner upper and lower lip, extended flat)."""
    seam = 0.5 * (q[list(L.UPPER_INNER)] + q[list(L.LOWER_INNER)])
    order = np.argsort(seam[:, 0])
    seam_y = np.interp(q[:, 0], seam[order, 0], seam[order, 1])
    lower = q[:, 1] > seam_y + 0.015
    lower[list(L.UPPER_INNER) + list(L.UPPER_OUTER)] = False
    lower[list(L.LOWER_INNER[1:-1]) + list(L.LOWER_OUTER[1:-1])] = True
    return lower


def _entries(q: np.ndarray, lower: np.ndarray) -> dict[str, np.ndarray]:
    """Face-unit displacement (N, 2) per coefficient name at coefficient 1."""
    n = len(q)
    upper = ~lower
    mouth_c = 0.5 * (q[L.MOUTH_RIGHT] + q[L.MOUTH_LEFT])
    half_w = 0.5 * abs(q[L.MOUTH_LEFT, 0] - q[L.MOUTH_RIGHT, 0])
    e: dict[str, np.ndarray] = {}

    # jaw: lower face drops, most at the chin, fading towards the jaw angles; the corners drop a little
    lat = np.exp(-((q[:, 0] - mouth_c[0]) ** 2) / (2 * 0.55 ** 2))
    jaw = np.zeros((n, 2))
    # the lower lip opens as an arc: full drop at its middle, little at the corners; below and
    # beside the corners the skin's drop grows with the distance below them, full at the chin
    # (a drop that jumped from a pinned corner to the full drop just under it sheared the skin there)
    dx = (q[:, 0] - mouth_c[0]) / half_w
    arc = np.clip(1.0 - dx * dx, 0.0, 1.0) ** JAW_LIP_SHAPE
    t = np.clip((q[:, 1] - mouth_c[1]) / JAW_RAMP, 0.0, 1.0)
    jaw[:, 1] = JAW_DROP * lat * lower * (0.05 + 0.95 * np.maximum(arc, t * t * (3.0 - 2.0 * t)))
    for c in (L.MOUTH_RIGHT, L.MOUTH_LEFT, 78, 308, 62, 292, 76, 306):
        # the corners drop a little and do not come in (the upper lip beside them, in the other
        # layer, would not follow: drawn in, they cut a notch)
        jaw[c] = (0.0, 0.15 * JAW_DROP * lat[c])
    e["jawOpen"] = jaw
    lower_lip = list(L.LOWER_INNER[1:-1]) + list(L.LOWER_OUTER[1:-1])
    e["mouthClose"] = _spread(q, lower_lip, (0.0, -0.5 * JAW_DROP), 0.06, lower)
    upper_lip = list(L.UPPER_INNER[1:-1]) + list(L.UPPER_OUTER[1:-1])

    for side, corner, sgn in (("Left", L.MOUTH_LEFT, 1.0), ("Right", L.MOUTH_RIGHT, -1.0)):
        near = np.abs(q[:, 0] - q[corner, 0]) < half_w * 1.1       # this half of the mouth
        e[f"mouthSmile{side}"] = _spread(q, [corner], (sgn * 0.12, -0.13), 0.20)
        e[f"mouthFrown{side}"] = _spread(q, [corner], (sgn * 0.02, 0.13), 0.15)
        e[f"mouthStretch{side}"] = _spread(q, [corner], (sgn * 0.13, 0.04), 0.17)
        e[f"mouthDimple{side}"] = _spread(q, [corner], (sgn * 0.05, 0.0), 0.12)
        side_upper = [i for i in upper_lip if near[i]]
        side_lower = [i for i in lower_lip if near[i]]
        e[f"mouthPress{side}"] = (_spread(q, side_upper, (0.0, 0.025), 0.06, upper)
                                  + _spread(q, side_lower, (0.0, -0.03), 0.06, lower))
        e[f"mouthUpperUp{side}"] = _spread(q, side_upper, (0.0, -0.10), 0.09, upper)
        e[f"mouthLowerDown{side}"] = _spread(q, side_lower, (0.0, 0.10), 0.10, lower)
        e[f"cheekSquint{side}"] = _spread(q, [117 if sgn < 0 else 346, 118 if sgn < 0 else 347,
                                             50 if sgn < 0 else 280], (0.0, -0.06), 0.14)
        e[f"noseSneer{side}"] = _spread(q, [129 if sgn < 0 else 358, 98 if sgn < 0 else 327,
                                           64 if sgn < 0 else 294], (sgn * 0.01, -0.06), 0.09)

    # a rounded mouth narrows about its centre: every lip point comes in by its share of the
    # half width (the corners alone moving in left the lips' sides behind them as flaps)
    lip_pts = sorted(set(L.LIPS_OUTER) | set(L.UPPER_INNER) | set(L.LOWER_INNER))
    narrow = np.stack([-np.clip((q[lip_pts, 0] - mouth_c[0]) / half_w, -1.0, 1.0), np.zeros(len(lip_pts))], 1)
    e["mouthFunnel"] = (_spread(q, lip_pts, 0.10 * narrow, 0.10)
                        + _spread(q, [13, 0], (0.0, -0.04), 0.08, upper)
                        + _spread(q, [14, 17], (0.0, 0.07), 0.08, lower))
    e["mouthPucker"] = _spread(q, lip_pts, 0.15 * narrow, 0.12)
    e["mouthLeft"] = _spread(q, list(L.LIPS_OUTER), (0.10, 0.0), 0.10)
    e["mouthRight"] = _spread(q, list(L.LIPS_OUTER), (-0.10, 0.0), 0.10)
    e["jawLeft"] = np.where(lower[:, None], (0.08, 0.0), 0.0) * lat[:, None]
    e["jawRight"] = np.where(lower[:, None], (-0.08, 0.0), 0.0) * lat[:, None]

    inner_r, inner_l = [107, 66, 55, 65], [336, 296, 285, 295]
    outer_r, outer_l = [70, 63, 46, 53], [300, 293, 276, 283]
    brow_r, brow_l = list(L.RIGHT_BROW), list(L.LEFT_BROW)
    eye_pts = _mask(n, L.RIGHT_EYE_UPPER + L.RIGHT_EYE_LOWER + L.LEFT_EYE_UPPER + L.LEFT_EYE_LOWER
                    + L.RIGHT_IRIS + L.LEFT_IRIS)
    not_eye = ~eye_pts
    # brows move the forehead skin, fading to nothing at the upper lid so the eye keeps its shape
    lid_top = min(q[list(L.LEFT_EYE_UPPER), 1].min(), q[list(L.RIGHT_EYE_UPPER), 1].min()) - 0.03
    brow_y = float(np.mean(q[brow_r + brow_l, 1]))
    ramp = np.clip((lid_top - q[:, 1]) / max(lid_top - brow_y, 1e-3), 0.0, 1.0)[:, None]
    e["browInnerUp"] = ramp * (_spread(q, inner_r, (-0.02, -0.14), 0.15, not_eye)
                               + _spread(q, inner_l, (0.02, -0.14), 0.15, not_eye))
    # a lowered brow pushes the lid skin down with it (down to the lid's top, and the lid a
    # little): with the skin pinned above the lid the warp folds there and shows a third of it
    lid_y = min(q[list(L.LEFT_EYE_UPPER), 1].min(), q[list(L.RIGHT_EYE_UPPER), 1].min())
    down = np.clip((lid_y - q[:, 1]) / max(lid_y - brow_y, 1e-3), 0.0, 1.0)[:, None]
    for side, brow, inner, lid_pts, sgn in (("Left", brow_l, inner_l, L.LEFT_EYE_UPPER, -1.0),
                                            ("Right", brow_r, inner_r, L.RIGHT_EYE_UPPER, 1.0)):
        lid = _mask(n, lid_pts[1:-1])
        e[f"browDown{side}"] = (down * (_spread(q, brow, (sgn * 0.03, BROW_DOWN), 0.13, not_eye)
                                        + _spread(q, inner, (sgn * 0.04, 0.03), 0.08, not_eye))   # drawn together
                                + _spread(q, list(lid_pts[1:-1]), (0.0, BROW_DOWN_LID), 0.05, lid))
    e["browOuterUpLeft"] = ramp * _spread(q, outer_l, (0.0, -0.14), 0.15, not_eye)
    e["browOuterUpRight"] = ramp * _spread(q, outer_r, (0.0, -0.14), 0.15, not_eye)

    for side, up, lo, iris in (("Left", L.LEFT_EYE_UPPER, L.LEFT_EYE_LOWER, L.LEFT_IRIS),
                               ("Right", L.RIGHT_EYE_UPPER, L.RIGHT_EYE_LOWER, L.RIGHT_IRIS)):
        lid = list(up[1:-1])
        gap = q[list(lo[1:-1])] - q[lid]                                # (7, 2) lid -> lower lid
        lower_lid = _mask(n, lo) | _mask(n, iris)
        above = ~lower_lid & (q[:, 1] < q[list(lo)][:, 1].max())
        # no eyeBlink entry: the renderer draws the closing lid (composite.draw_eyelid, from the
        # lid the frame shows); warped, a lid line a few pixels tall moves inexactly, and the
        # drawn lid, meeting it where it was not, showed the eye through itself
        # the lower lid rises with the skin below it (moved alone, a lid line 2-3 px from pinned
        # skin, the coarse warp showed none of it)
        below = ~above & ~_mask(n, iris)
        e[f"eyeSquint{side}"] = (_spread(q, list(lo[1:-1]), (0.0, -0.045), 0.07, below)
                                 + _spread(q, lid, 0.2 * gap, 0.06, above))
        e[f"eyeWide{side}"] = _spread(q, lid, (0.0, -0.05), 0.08, above)
        e["cheekPuff"] = e.get("cheekPuff", np.zeros((n, 2)))
    for side, pts, sgn in (("Left", [280, 425, 411], 1.0), ("Right", [50, 205, 187], -1.0)):
        e["cheekPuff"] = e["cheekPuff"] + _spread(q, pts, (sgn * 0.07, 0.0), 0.15)
    return e


def build_rig(lm: L.FaceLandmarks) -> Rig:
    """The rig of one portrait, in that portrait's pixels."""
    frame = face_frame(lm)
    q = frame.to_face(lm.xy)
    lower = _lower_face(q)
    entries = _entries(q, lower)
    names = tuple(sorted(entries, key=lambda k: ARKIT_INDEX[k]))
    disp = np.stack([frame.vec_to_px(entries[k]) for k in names]).astype(np.float32)
    n = len(q)
    gaze = np.zeros((2, n, 2))
    iris = _mask(n, L.RIGHT_IRIS + L.LEFT_IRIS)
    for axis in range(2):
        v = np.zeros(2)
        v[axis] = GAZE_SHIFT[axis]
        gaze[axis] = frame.vec_to_px(np.where(iris[:, None], v, 0.0))
    return Rig(names, np.array([ARKIT_INDEX[k] for k in names]), disp,
               np.array([k in JAW_GROUP for k in names]), lower, gaze.astype(np.float32))


# --- the portrait's own resting expression ------------------------------------------------------

# A relaxed face's mouth corners sit about level with the lip centre (measured on hopper: 0.002
# eye distances); a smile lifts them by about 0.11 at mouthSmile = 1.
_NEUTRAL_CORNER_LIFT = 0.01
_SMILE_LIFT = 0.11
RELAX_SMILE = 0.85   # share of the estimated resting smile removed (a trace stays: it is her face)


def rest_expression(lm: L.FaceLandmarks) -> dict[str, float]:
    """The portrait's own expression, estimated from its landmarks (face units, see face_frame):

    smile: mouthSmile level in [0, 1] from how far the mouth corners sit above the lip centre;
    gap: the inner-lip gap (eye distances) of a mouth photographed open (teeth showing).
    """
    q = face_frame(lm).to_face(lm.xy)
    mid_y = 0.5 * (q[13, 1] + q[14, 1])
    lift = mid_y - 0.5 * (q[L.MOUTH_LEFT, 1] + q[L.MOUTH_RIGHT, 1])
    gap = float(np.max(q[list(L.LOWER_INNER), 1] - q[list(L.UPPER_INNER), 1]))
    return {"smile": float(np.clip((lift - _NEUTRAL_CORNER_LIFT) / _SMILE_LIFT, 0.0, 1.0)),
            "gap": max(gap, 0.0)}


def relax_displacement(lm: L.FaceLandmarks, rest: dict[str, float]) -> np.ndarray:
    """(478, 2) pixel displacement that undoes RELAX_SMILE of the resting smile `rest["smile"]`:
    the mouth corners come down level with the lip centre and in (a local falloff, so the lip
    centre stays), and the raised cheeks settle a little."""
    frame = face_frame(lm)
    q = frame.to_face(lm.xy)
    k = RELAX_SMILE * rest.get("smile", 0.0)
    d = np.zeros_like(q)
    for corner, sgn, cheek in ((L.MOUTH_LEFT, 1.0, (280, 346, 347)), (L.MOUTH_RIGHT, -1.0, (50, 117, 118))):
        d += _spread(q, [corner], (-sgn * 0.10 * k, 0.15 * k), 0.11)
        d += _spread(q, list(cheek), (0.0, 0.06 * k), 0.14)
    return frame.vec_to_px(d).astype(np.float32)
