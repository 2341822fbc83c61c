"""Expression texture: the creases and shadows a warp cannot make, shaded over the warped frame.

Moving landmarks changes a face's shape, not its skin: a frown also furrows the brow, a smile
deepens the nasolabial folds and raises the cheeks, disgust wrinkles the nose (TexTalker and
FACS both treat these as part of the expression). Each fold here is a soft stroke placed from the
frame's own landmarks, at a strength set by the expression coefficients, and applied as a
multiplicative shadow (the skin's colour and grain stay the photo's), with a faint highlight on
the bulge beside it. Pure numpy/OpenCV, confined to the face's box, one blur per frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

import cv2
import numpy as np

from avatar.face import landmarks as L

_SHIFT = 4

# strongest darkening of a fold at coefficient 1 (multiplicative), and of a highlight (towards white)
FOLD_DARK = 0.26
BULGE_LIGHT = 0.10


@dataclass(frozen=True, slots=True)
class Fold:
    """One stroke: points (K, 2) in face units relative to the frame's face frame, a width in
    face units and a strength in [0, 1] (0 = not drawn); light: a highlight instead of a shadow."""

    points: np.ndarray
    width: float
    strength: float
    light: bool = False


def broad_blur(mask: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of a float mask with a wide `sigma` (pixels), computed at a half or a quarter
    of the resolution when sigma is large (the result is smooth at that scale anyway; 3-6x cheaper)."""
    h, w = mask.shape
    k = 4 if sigma >= 6 else 2 if sigma >= 3 else 1
    if k == 1 or min(h, w) < 4 * k:
        return cv2.GaussianBlur(mask, (0, 0), sigma)
    small = cv2.resize(mask, (-(-w // k), -(-h // k)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / k)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _c(coeffs: dict[str, float], *names: str) -> float:
    return sum(coeffs.get(n, 0.0) for n in names) / len(names)


_T9 = np.linspace(0.0, 1.0, 9)[:, None]
_BEZIER9 = ((1 - _T9) ** 2, 2 * (1 - _T9) * _T9, _T9 * _T9)  # quadratic Bezier weights at 9 points


def _bezier(a, b, c) -> np.ndarray:
    wa, wb, wc = _BEZIER9
    return wa * np.asarray(a) + wb * np.asarray(b) + wc * np.asarray(c)


def expression_folds(q: np.ndarray, coeffs: dict[str, float]) -> list[Fold]:
    """The folds of one frame: q (478, 2) landmarks in face units (x towards the subject's left
    eye, y down, unit = eye-corner distance), coeffs = ARKit name -> weight in [0, 1]."""
    folds: list[Fold] = []
    down = _c(coeffs, "browDownLeft", "browDownRight")
    inner_up = coeffs.get("browInnerUp", 0.0)
    outer_up = _c(coeffs, "browOuterUpLeft", "browOuterUpRight")
    smile = _c(coeffs, "mouthSmileLeft", "mouthSmileRight")
    sneer = _c(coeffs, "noseSneerLeft", "noseSneerRight")
    upper_up = _c(coeffs, "mouthUpperUpLeft", "mouthUpperUpRight")
    cheek = _c(coeffs, "cheekSquintLeft", "cheekSquintRight")
    frown = _c(coeffs, "mouthFrownLeft", "mouthFrownRight")
    stretch = _c(coeffs, "mouthStretchLeft", "mouthStretchRight")
    squint = _c(coeffs, "eyeSquintLeft", "eyeSquintRight")
    press = _c(coeffs, "mouthPressLeft", "mouthPressRight")
    shrug = coeffs.get("mouthShrugLower", 0.0)

    brow_in_r, brow_in_l = q[55], q[285]                     # inner brow heads (lower edge)
    mid = 0.5 * (brow_in_r + brow_in_l)
    gap = abs(brow_in_l[0] - brow_in_r[0])
    # glabella: vertical furrows between lowered brows (corrugator), a shadow over the nose root
    if down > 0.05:
        for sgn in (-1.0, 1.0):
            x = mid[0] + sgn * 0.16 * gap
            folds.append(Fold(np.array([[x - sgn * 0.01, mid[1] + 0.01], [x, mid[1] - 0.06], [x + sgn * 0.015, mid[1] - 0.11]]),
                              0.03, 0.8 * down))
            folds.append(Fold(np.array([[x + sgn * 0.035, mid[1]], [x + sgn * 0.04, mid[1] - 0.1]]), 0.04,
                              0.5 * down, light=True))
        folds.append(Fold(np.array([[mid[0] - 0.1, mid[1] + 0.03], [mid[0] + 0.1, mid[1] + 0.03]]), 0.07, 0.5 * down))
        # the lowered brow shades the upper lid
        for up_idx in (L.RIGHT_EYE_UPPER, L.LEFT_EYE_UPPER):
            lid = q[list(up_idx[1:-1])]
            folds.append(Fold(lid - [0.0, 0.035], 0.06, 0.55 * down))
    # forehead: horizontal lines when the brows rise (frontalis); inner-only rise: lines in the middle
    rise = max(inner_up, outer_up)
    if rise > 0.05:
        top = min(q[list(L.RIGHT_BROW), 1].min(), q[list(L.LEFT_BROW), 1].min())
        span = 0.55 if outer_up > 0.5 * inner_up else 0.28
        for k, dy in enumerate((0.10, 0.19, 0.28)):
            xs = np.linspace(mid[0] - span, mid[0] + span, 9)
            bend = 0.03 if outer_up > 0.5 * inner_up else -0.04      # grief lines bow up in the middle
            ys = top - dy + bend * ((xs - mid[0]) / span) ** 2
            folds.append(Fold(np.stack([xs, ys], 1), 0.03, 0.7 * rise * (1.0 - 0.25 * k)))
    # nasolabial folds: from beside the nose wing round the mouth corner (smile, sneer, raised lip)
    naso = max(smile, 0.9 * sneer, 0.8 * upper_up, 0.7 * cheek)
    if naso > 0.05:
        for ala, corner, sgn in ((129, L.MOUTH_RIGHT, -1.0), (358, L.MOUTH_LEFT, 1.0)):
            a = q[ala] + [sgn * 0.03, 0.0]
            c = q[corner] + [sgn * (0.07 + 0.04 * smile), 0.06]
            b = 0.5 * (a + c) + [sgn * 0.07, -0.02]
            folds.append(Fold(_bezier(a, b, c), 0.035, naso))
            folds.append(Fold(_bezier(a, b, c) + [sgn * 0.06, -0.03], 0.07, 0.6 * max(smile, cheek), light=True))
    # nose wrinkles across the bridge (disgust)
    if sneer > 0.05:
        for k, t in enumerate((0.25, 0.45, 0.62)):
            p = q[168] + t * (q[4] - q[168])
            folds.append(Fold(np.array([p - [0.09, -0.01], p, p + [0.09, 0.01]]), 0.022, sneer * (1 - 0.2 * k)))
    # lower lids pushed up by a squint or a cheek raise
    lid_push = max(squint, cheek)
    if lid_push > 0.05:
        for lo_idx in (L.RIGHT_EYE_LOWER, L.LEFT_EYE_LOWER):
            lid = q[list(lo_idx[1:-1])]
            folds.append(Fold(lid + [0.0, 0.05], 0.03, 0.7 * lid_push))
    # mouth corners pulled down: the depressor's lines below the corners; a pressed or shrugged
    # mouth puckers the chin
    if frown > 0.05 or stretch > 0.05:
        for corner, sgn in ((L.MOUTH_RIGHT, -1.0), (L.MOUTH_LEFT, 1.0)):
            c = q[corner]
            folds.append(Fold(np.array([c + [sgn * 0.02, 0.02], c + [sgn * 0.05, 0.10], c + [sgn * 0.06, 0.18]]),
                              0.03, max(frown, 0.6 * stretch)))
    chin = max(press, shrug)
    if chin > 0.05:
        lip = q[17]
        folds.append(Fold(np.array([lip + [-0.12, 0.07], lip + [0.0, 0.09], lip + [0.12, 0.07]]), 0.04, 0.6 * chin))
    return folds


def shade_expression(frame: np.ndarray, landmarks_xy: np.ndarray, coeffs: dict[str, float]) -> None:
    """Shade the expression's folds onto `frame` (H, W, 3) uint8 RGB, in place.

    landmarks_xy: (478, 2) the frame's landmark positions in pixels (the warp's targets);
    coeffs: ARKit name -> weight in [0, 1]. Does nothing when no fold is strong enough.
    """
    xy = np.asarray(landmarks_xy, np.float64)
    r, l = xy[L.RIGHT_EYE_OUTER], xy[L.LEFT_EYE_OUTER]
    unit = float(np.linalg.norm(l - r))
    if unit < 4:
        return
    ex = (l - r) / unit
    ey = np.array([-ex[1], ex[0]])
    origin = 0.5 * (l + r)
    q = np.stack([(xy - origin) @ ex, (xy - origin) @ ey], 1) / unit
    folds = sorted((f for f in expression_folds(q, coeffs) if f.strength > 0.02), key=_draw_order)
    if not folds:
        return
    # every fold's points to pixels at once, then split back per fold
    fq = np.concatenate([f.points for f in folds])
    allp = origin + unit * (fq[:, :1] * ex + fq[:, 1:2] * ey)
    pad = 0.15 * unit
    h, w = frame.shape[:2]
    x0, y0 = np.maximum(np.floor(allp.min(0) - pad).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(allp.max(0) + pad).astype(int), [w, h])
    if x1 <= x0 or y1 <= y0:
        return
    fixed = np.round((allp - [x0, y0]) * (1 << _SHIFT)).astype(np.int32)
    polys = np.split(fixed, np.cumsum([len(f.points) for f in folds])[:-1])
    dark = np.zeros((y1 - y0, x1 - x0), np.float32)
    light = np.zeros_like(dark) if folds[-1].light else None
    # weakest first: a stronger stroke drawn over a weaker one wins where they overlap (the
    # antialiased rim blends the two); strokes of the same kind, width and strength in one call
    for (is_light, strength, width), group in groupby(zip(folds, polys), key=lambda fp: _draw_order(fp[0])):
        cv2.polylines(light if is_light else dark, [p for _, p in group], False, min(strength, 1.0),
                      max(1, int(round(width * unit))), cv2.LINE_AA, _SHIFT)
    sigma = max(0.8, 0.018 * unit)
    # a shadow scales the skin: v * (1 - FOLD_DARK * dark); a highlight then takes it towards white:
    # v + BULGE_LIGHT * light * (255 - v). Both as one scale and offset per pixel (in [0, 255]).
    scale = 1.0 - FOLD_DARK * cv2.GaussianBlur(dark, (0, 0), sigma)
    # per channel with OpenCV's own operations (numpy broadcasting a (h, w, 1) array over the
    # three channels costs twice as long); the float result rounds to nearest on the way back
    if light is not None:
        light = BULGE_LIGHT * broad_blur(light, 2.5 * sigma)
        scale *= 1.0 - light
    roi = cv2.multiply(frame[y0:y1, x0:x1], cv2.merge((scale, scale, scale)), dtype=cv2.CV_32F)
    if light is not None:
        light *= 255.0
        cv2.add(roi, cv2.merge((light, light, light)), dst=roi)
    frame[y0:y1, x0:x1] = cv2.convertScaleAbs(roi)


def _draw_order(f: Fold) -> tuple[bool, float, float]:
    """Shadows before highlights, each weakest first (then by width, so equal strokes group)."""
    return f.light, f.strength, f.width
