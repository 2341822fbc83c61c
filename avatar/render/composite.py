"""What a warp cannot show, drawn over the warped frame: the mouth interior and closing eyelids.

All drawing is antialiased (sub-pixel polygon fill + a small blur) and confined to a small ROI.
"""

from __future__ import annotations

import cv2
import numpy as np

_SHIFT = 4                      # cv2 sub-pixel bits for polygon fills
CAVITY = np.array([52, 20, 24], np.float32)
TEETH = np.array([236, 228, 214], np.float32)
TONGUE = np.array([158, 64, 70], np.float32)
LASH = np.array([45, 32, 30], np.float32)


def _roi(points: np.ndarray, pad: float, shape) -> tuple[int, int, int, int]:
    x0, y0 = np.floor(points.min(0) - pad).astype(int)
    x1, y1 = np.ceil(points.max(0) + pad).astype(int)
    h, w = shape[:2]
    return max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)


def _fill(shape_hw, polys, offset, blur: float) -> np.ndarray:
    """(h, w) float32 coverage of `polys` (list of (K, 2) px arrays) with soft edges."""
    m = np.zeros(shape_hw, np.uint8)
    pts = [np.round((p - offset) * (1 << _SHIFT)).astype(np.int32) for p in polys]
    cv2.fillPoly(m, pts, 255, cv2.LINE_AA, _SHIFT)
    m = m.astype(np.float32) * (1.0 / 255.0)
    if blur > 0:
        m = cv2.GaussianBlur(m, (0, 0), blur)
    return m


def _blend(dst: np.ndarray, alpha: np.ndarray, color) -> None:
    a = alpha[..., None]
    dst *= 1.0 - a
    dst += a * color


def draw_mouth(frame: np.ndarray, upper: np.ndarray, lower: np.ndarray, unit: float,
               interior: tuple[np.ndarray, tuple[int, int], np.ndarray] | None = None) -> None:
    """Cavity, teeth hint and tongue hint in the inner-lip polygon, in place.

    upper, lower: (K, 2) inner-lip curves corner to corner in output pixels; unit: eye distance px.
    interior: (layer, (x, y) of its top-left, lower curve) when the portrait's own mouth is open:
    the layer's pixels between `upper` and that curve (the portrait's real teeth, moved with the
    upper lip) are pasted back over the cavity, and no synthetic teeth are drawn.
    """
    opening = float(np.max(lower[:, 1] - upper[:, 1]))
    if opening < 0.6:
        return
    poly = np.vstack([upper, lower[::-1]])
    x0, y0, x1, y1 = _roi(poly, 4, frame.shape)
    if x1 <= x0 or y1 <= y0:
        return
    off = np.array([x0, y0], np.float32)
    roi = frame[y0:y1, x0:x1].astype(np.float32)
    blur = max(0.6, 0.006 * unit)
    inside = _fill(roi.shape[:2], [poly], off, blur) * min(1.0, opening / 3.0)
    # teeth: a band hanging from the upper lip, a tongue rising from the lower lip
    band = min(0.07 * unit, 0.4 * opening)
    half = max(1e-3, 0.5 * float(np.ptp(upper[:, 0])))
    dx = (upper[:, 0] - upper[:, 0].mean()) / half
    taper = np.sqrt(np.clip(1.0 - dx * dx, 0.0, 1.0))[:, None]          # thin at the corners
    teeth_poly = np.vstack([upper, (upper + taper * [0, band])[::-1]])
    mid = 0.5 * (upper + lower)
    tongue_poly = np.vstack([0.35 * mid + 0.65 * lower + [0, 0.15 * opening], lower[::-1]])
    teeth = _fill(roi.shape[:2], [teeth_poly[:, :2]], off, 2 * blur) * inside
    tongue = _fill(roi.shape[:2], [tongue_poly], off, 2 * blur) * inside * min(1.0, opening / (0.15 * unit))
    _blend(roi, inside, CAVITY)
    _blend(roi, 0.45 * tongue, TONGUE)
    if interior is None:
        # teeth shade darker towards their lower edge and the mouth corners
        ys = np.linspace(1.0, 0.8, roi.shape[0], dtype=np.float32)[:, None, None]
        _blend(roi, 0.9 * teeth, TEETH * ys)
    else:
        layer, (lx, ly), own_lower = interior
        keep = _fill(roi.shape[:2], [np.vstack([upper, own_lower[::-1]])], off, blur)
        src = layer[y0 - ly:y1 - ly, x0 - lx:x1 - lx].astype(np.float32)
        if src.shape == roi.shape:
            a = keep[..., None]
            roi = roi * (1 - a) + src * a
    frame[y0:y1, x0:x1] = np.clip(roi, 0, 255).astype(np.uint8)


def draw_eyelid(frame: np.ndarray, lid_top: np.ndarray, lid_edge: np.ndarray, closure: float,
                skin: np.ndarray, unit: float) -> None:
    """A closing upper eyelid from `lid_top` (current upper lid, outer->inner corner) down to
    `lid_edge` (where the lid edge is now), skin coloured, with a lash line; in place."""
    if closure < 0.04:
        return
    top = lid_top - [0, 0.012 * unit]                                   # hide the old lash line
    poly = np.vstack([top, lid_edge[::-1]])
    x0, y0, x1, y1 = _roi(poly, 4, frame.shape)
    if x1 <= x0 or y1 <= y0:
        return
    off = np.array([x0, y0], np.float32)
    roi = frame[y0:y1, x0:x1].astype(np.float32)
    blur = max(0.6, 0.008 * unit)
    lid = _fill(roi.shape[:2], [poly], off, blur) * min(1.0, closure / 0.25)
    # shade: the lid darkens slightly towards its edge
    ys = np.linspace(0.0, 1.0, roi.shape[0], dtype=np.float32)[:, None, None]
    shade = skin * (1.0 - 0.10 * ys)
    a = lid[..., None]
    roi = roi * (1 - a) + a * shade
    lash = np.zeros(roi.shape[:2], np.uint8)
    pts = np.round((lid_edge - off) * (1 << _SHIFT)).astype(np.int32)
    cv2.polylines(lash, [pts], False, 255, max(1, int(round(0.014 * unit))), cv2.LINE_AA, _SHIFT)
    lash_a = cv2.GaussianBlur(lash.astype(np.float32) / 255.0, (0, 0), blur) * 0.8 * min(1.0, closure) ** 3
    _blend(roi, lash_a, LASH)
    frame[y0:y1, x0:x1] = np.clip(roi, 0, 255).astype(np.uint8)
