"""What a warp cannot show, drawn over the warped frame: the mouth interior and closing eyelids.

All drawing is antialiased (sub-pixel polygon fill + a small blur) and confined to a small ROI.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

_SHIFT = 4                      # cv2 sub-pixel bits for polygon fills
CAVITY = np.array([72, 26, 20], np.float32)      # warm: cool darks read blue next to skin
TEETH = np.array([236, 218, 180], np.float32)   # warm: neutral grey reads blue next to skin
TONGUE = np.array([158, 64, 70], np.float32)
LASH = np.array([45, 32, 30], np.float32)


@dataclass(frozen=True, slots=True)
class MouthPalette:
    """RGB float32 (3,) colours of the mouth interior, taken from one portrait (mouth_palette)."""

    cavity: np.ndarray
    teeth: np.ndarray
    tongue: np.ndarray


DEFAULT_PALETTE = MouthPalette(CAVITY, TEETH, TONGUE)


def mouth_palette(image: np.ndarray, xy: np.ndarray) -> MouthPalette:
    """The mouth colours of a portrait, from its own light: teeth are the whites of its eyes
    (the brightest half of the eye opening, slightly dimmed and warmed: teeth sit in the mouth's
    shade), the cavity and tongue are its lip colour darkened. Falls back to DEFAULT_PALETTE parts
    where a region is too small to sample.

    image: (S, S, 3) uint8 RGB; xy: (478, 2) its landmarks in pixels.
    """
    from avatar.face import landmarks as L

    def inside(idx) -> np.ndarray:
        m = np.zeros(image.shape[:2], np.uint8)
        cv2.fillPoly(m, [np.round(xy[list(idx)]).astype(np.int32)], 1)
        return image[m > 0].reshape(-1, 3).astype(np.float32)

    # the scene's light: the skin of the cheeks and nose sets how bright the teeth can be
    skin = inside((50, 101, 36, 205, 187, 123, 116, 117, 118, 119, 100, 142, 203, 206, 216, 192))
    skin_c = np.median(skin, 0) if len(skin) >= 20 else np.array([200, 160, 140], np.float32)
    light = float(np.clip((skin_c @ np.array([0.3, 0.59, 0.11], np.float32)) / 165.0, 0.7, 1.15))
    teeth = light * (0.8 * np.array([236, 228, 212], np.float32) + 0.2 * skin_c)
    eyes = np.concatenate([inside(L.RIGHT_EYE_UPPER + L.RIGHT_EYE_LOWER[::-1]),
                           inside(L.LEFT_EYE_UPPER + L.LEFT_EYE_LOWER[::-1])])
    if len(eyes) >= 20:  # where the whites of the eyes are visible and white, they set the colour
        luma = eyes @ np.array([0.3, 0.59, 0.11], np.float32)
        white = np.median(eyes[luma >= np.percentile(luma, 70)], 0)
        if white.min() > 0.72 * white.max() and white.mean() > 130:
            teeth = white * np.array([0.98, 0.95, 0.88], np.float32)
    # ivory with a blush of the lips' light (a yellow-brown tooth reads khaki, a grey one blue,
    # next to skin), at the brightness found above, with a share of the photo's colour cast
    ivory = IVORY * float(teeth @ np.array([0.3, 0.59, 0.11], np.float32)) / float(IVORY @ np.array([0.3, 0.59, 0.11]))
    teeth = cast_like(ivory, skin_c)
    # enamel lit from the front is never darker than the skin beside it (eye whites, in the
    # lids' shade, often are): dim teeth read as a grey slab in the mouth
    y = np.array([0.3, 0.59, 0.11], np.float32)
    floor = TEETH_OVER_SKIN * float(skin_c @ y)
    teeth = np.clip(teeth * max(1.0, floor / max(float(teeth @ y), 1.0)), 0, 255)
    lips = inside(L.LIPS_OUTER)
    if len(lips) >= 20:
        lip = np.median(lips, 0)
        # the cavity is the lips' colour in deep shade (dark red-brown, not black: a black slot
        # reads as a shout or bared teeth to an expression judge, bench/expression.py)
        return MouthPalette(cavity=lip * np.array([0.45, 0.21, 0.2], np.float32),
                            teeth=teeth.astype(np.float32), tongue=(lip * 0.82).astype(np.float32))
    return MouthPalette(CAVITY, teeth.astype(np.float32), TONGUE)


# Teeth take this share of the skin's colour cast (its chroma): in a warm photo they are ivory
# beside the skin, never a grey slab that reads blue-green next to it.
TEETH_CAST = 0.3
IVORY = np.array([1.0, 0.93, 0.86], np.float32)   # the teeth's own chroma (R, G, B)
TEETH_OVER_SKIN = 1.0  # the lit teeth's brightness (luma) at least, of the skin's
# The teeth's brightness in a talking (unsmiling) mouth, of their lit colour: once it is open
# GAP_OPEN eye distances (0.72 there made a dull band that read as a grey slab beside warm
# skin), and in a slit of a mouth (a narrow gap lets in little light)
TEETH_SHADE = 1.0
GAP_OPEN = 0.12  # eye distances of opening from which the mouth's gap is fully lit (cavity and teeth)
TEETH_SLIT = 0.72
TEETH_SMILE_LIT = 1.2  # ... and in a full smile (turned to the light; a dull band reads as no smile)
LOW_TEETH = 0.16     # a broad smile's lower teeth: their band's height, of the opening at full smile
LOW_SPAN = 0.5       # ... and its half width, of the mouth's
TONGUE_ALPHA = 0.8   # the tongue's opacity over the cavity in a mouth open wide
TONGUE_RISE = 0.3    # its hump's height over the lower lip, of the opening
TONGUE_SPAN = 0.7    # its half width, of the mouth's
SLIT_DARK = 0.4        # the cavity's brightness in a slit of a mouth, of its colour when open wide


def cast_like(colour: np.ndarray, skin: np.ndarray, share: float = TEETH_CAST) -> np.ndarray:
    """`colour` (3,) RGB at its own brightness (luma) with `share` of `skin`'s chroma: each channel
    x (skin channel / skin luma) ** share, renormalised to `colour`'s luma."""
    w = np.array([0.3, 0.59, 0.11], np.float32)
    c = np.asarray(colour, np.float32)
    s = np.maximum(np.asarray(skin, np.float32), 1.0)
    tint = (s / max(float(s @ w), 1.0)) ** share
    out = c * tint
    return out * (float(c @ w) / max(float(out @ w), 1e-3))


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


def _band(curve: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """The polygon between `curve` (K, 2 px) and the curve moved down by `depth` (K, 1 px; up
    where negative), over the stretch where depth is not zero (with one point of zero depth at each
    end): where the band has tapered to nothing it is left out, not kept as a zero-width sliver
    that an antialiased fill draws as a line along the lip."""
    on = np.flatnonzero(np.abs(depth[:, 0]) > 1e-3)
    if len(on) == 0:
        return curve[:1]
    a, b = max(on[0] - 1, 0), min(on[-1] + 2, len(curve))
    part, d = curve[a:b], depth[a:b]
    return np.vstack([part, (part + d * np.array([[0.0, 1.0]], np.float32))[::-1]])


def _unit_clip(x: float) -> float:
    """A scalar clipped to [0, 1] (np.clip costs microseconds a call on scalars)."""
    return min(max(float(x), 0.0), 1.0)


def _blend(dst: np.ndarray, alpha: np.ndarray, color) -> None:
    a = alpha[..., None]
    dst *= 1.0 - a
    dst += a * color


def draw_mouth(frame: np.ndarray, upper: np.ndarray, lower: np.ndarray, unit: float,
               interior: tuple[np.ndarray, tuple[int, int], np.ndarray] | None = None,
               palette: MouthPalette = DEFAULT_PALETTE, smile: float = 0.0) -> None:
    """Cavity, teeth and tongue in the inner-lip polygon, in the portrait's colours, in place.

    upper, lower: (K, 2) inner-lip curves corner to corner in output pixels; unit: eye distance px.
    interior: (layer, (x, y) of its top-left, lower curve) when the portrait's own mouth is open:
    the layer's pixels between `upper` and that curve (the portrait's real teeth, moved with the
    upper lip) are pasted back over the cavity, and no synthetic teeth are drawn.
    smile: in [0, 1]; a smile shows more of the upper teeth and the tops of the lower ones.
    """
    opening = float(np.max(lower[:, 1] - upper[:, 1]))
    if opening < 0.6:
        draw_lip_seam(frame, upper, lower, unit, palette)
        return
    poly = np.vstack([upper, lower[::-1]])
    x0, y0, x1, y1 = _roi(poly, 4, frame.shape)
    if x1 <= x0 or y1 <= y0:
        return
    off = np.array([x0, y0], np.float32)
    roi = frame[y0:y1, x0:x1].astype(np.float32)
    blur = max(0.6, 0.006 * unit)
    inside = _fill(roi.shape[:2], [poly], off, blur) * min(1.0, opening / 3.0)
    # teeth: the upper incisors and canines hang from the upper lip (the middle 70 % of the mouth's
    # width, thinner towards the corners); a tongue rises from the lower lip when wide open
    smile = _unit_clip(smile)
    band = min((0.055 + 0.015 * smile) * unit, (0.4 + 0.1 * smile) * opening)
    half = max(1e-3, 0.5 * float(np.ptp(upper[:, 0])))
    cx = float(upper[:, 0].mean())
    dx = (upper[:, 0] - cx) / (0.72 * half)
    taper = np.sqrt(np.clip(1.0 - dx * dx, 0.0, 1.0))[:, None]
    teeth_poly = _band(upper, taper * band)
    mid = 0.5 * (upper + lower)
    # the tongue: a hump resting on the lower teeth, highest in the middle
    dxt = (lower[:, 0] - cx) / (TONGUE_SPAN * half)
    tongue_poly = _band(lower, -TONGUE_RISE * opening * np.sqrt(np.clip(1.0 - dxt * dxt, 0.0, 1.0))[:, None])
    polys = [teeth_poly[:, :2]]
    low_h = LOW_TEETH * smile * opening
    if smile > 0.5 and low_h >= 3.0:  # the lower teeth's edges show above the lower lip in a broad
        # smile (a thinner band would read as a grey rim round the cavity, not as teeth)
        dxl = (lower[:, 0] - cx) / (LOW_SPAN * half)
        low_band = low_h * np.sqrt(np.clip(1.0 - dxl * dxl, 0.0, 1.0))[:, None]
        polys.append(_band(lower, -low_band))
    teeth = _fill(roi.shape[:2], polys, off, 1.5 * blur) * inside
    tongue = _fill(roi.shape[:2], [tongue_poly], off, 3 * blur) * inside * _unit_clip((opening / unit - 0.08) / 0.1)
    # the cavity: darkest at its centre and deep inside, lit a little near the lips
    ys = np.arange(y0, y1, dtype=np.float32)[:, None]
    depth = np.clip(1.0 - np.abs(ys - float(mid[:, 1].mean())) / max(0.5 * opening, 1.0), 0.0, 1.0)
    # a narrow gap lets in little light: the cavity is darker the less the mouth is open
    gap_light = _unit_clip(opening / (GAP_OPEN * unit))
    _blend(roi, inside, palette.cavity * (SLIT_DARK + (1.0 - SLIT_DARK) * gap_light))
    roi *= (1.0 - 0.35 * inside * depth)[..., None]
    _blend(roi, TONGUE_ALPHA * tongue, palette.tongue)
    if interior is None:
        # teeth: lit from the front, in shade towards the mouth corners and along their lower edge;
        # faint gaps between the incisors
        xs = np.arange(x0, x1, dtype=np.float32)
        lateral = np.clip(1.0 - np.abs(xs - cx) / (0.75 * half), 0.0, 1.0)
        light = (0.72 + 0.28 * np.sqrt(lateral))[None, :]
        tooth_w = max(0.07 * unit, 2.0)
        gaps = 1.0 - 0.07 * np.exp(-0.5 * ((((xs - cx) / tooth_w + 0.5) % 1.0 - 0.5) / 0.08) ** 2)
        edge = np.clip((ys - float(upper[:, 1].min())) / max(band, 1.0), 0.0, 1.0)
        # teeth behind talking lips are in the mouth's shade; a smile turns them to the light
        # and a narrow gap lets in little light: a slit's teeth are in shade
        talk = TEETH_SLIT + (TEETH_SHADE - TEETH_SLIT) * gap_light
        lit = talk + (TEETH_SMILE_LIT - talk) * smile
        shade = (lit * light * gaps[None, :] * (1.0 - 0.18 * edge))[..., None]
        # a barely open mouth shows shadow, not teeth
        show = _unit_clip((opening / unit - 0.02) / 0.05)
        _blend(roi, show * teeth, 0.0)
        roi += (show * teeth)[..., None] * palette.teeth * shade
    else:
        layer, (lx, ly), own_lower = interior
        keep = _fill(roi.shape[:2], [np.vstack([upper, own_lower[::-1]])], off, blur)
        src = layer[y0 - ly:y1 - ly, x0 - lx:x1 - lx].astype(np.float32)
        if src.shape == roi.shape:
            a = keep[..., None]
            roi = roi * (1 - a) + src * a
    frame[y0:y1, x0:x1] = np.clip(roi, 0, 255).astype(np.uint8)


SEAM_DARK = 0.45  # how much of the light the line where closed lips meet takes away, at its darkest


def draw_lip_seam(frame: np.ndarray, upper: np.ndarray, lower: np.ndarray, unit: float,
                  palette: MouthPalette = DEFAULT_PALETTE) -> None:
    """The shadow line where closed lips meet, in place: a thin line between the inner-lip curves
    (K, 2 px, corner to corner), darkened towards the cavity's colour. Without it a portrait whose
    lips were closed by a warp (portrait.close_lips) shows a seam too faint for a face tracker,
    which then reads the closed lips of an m, b or p as parted."""
    seam = 0.5 * (upper + lower)
    x0, y0, x1, y1 = _roi(seam, 4, frame.shape)
    if x1 <= x0 or y1 <= y0:
        return
    off = np.array([x0, y0], np.float32)
    roi = frame[y0:y1, x0:x1].astype(np.float32)
    line = np.zeros(roi.shape[:2], np.uint8)
    pts = np.round((seam - off) * (1 << _SHIFT)).astype(np.int32)
    cv2.polylines(line, [pts], False, 255, max(1, int(round(0.012 * unit))), cv2.LINE_AA, _SHIFT)
    a = cv2.GaussianBlur(line.astype(np.float32) * (1.0 / 255.0), (0, 0), max(0.5, 0.004 * unit))
    _blend(roi, SEAM_DARK * a, palette.cavity * SLIT_DARK)
    frame[y0:y1, x0:x1] = np.clip(roi, 0, 255).astype(np.uint8)


LID_SKIN = 0.08   # eye distances of skin above the lid line that slides down with a closing lid
LID_MARGIN = 0.035  # eye distances of the lid margin (the lash line) above the lid line, moved unscaled


def draw_eyelid(frame: np.ndarray, lid_top: np.ndarray, lid_edge: np.ndarray, closure: float,
                skin: np.ndarray, unit: float, raised: float = 0.0) -> None:
    """A closing upper eyelid: the lid as the frame shows it (`lid_top`, the upper lid line outer
    -> inner corner) slid down to `lid_edge` (where its edge is now), in place.

    Per column, the lid margin (the lash line, LID_MARGIN above the lid line) moves down
    unscaled to the new edge, and the skin above it (LID_SKIN) stretches down behind it, so the
    lid is the photo's own lid, opaque at every closure. The map is the identity where the lid has
    not moved (at the corners, at the top of the stretched skin, and everywhere at closure 0), so
    no edge shows there and nothing fades in: a lid is never half transparent. `skin` (the lid's
    sampled colour) tints the stretched skin a little and a lash line darkens a lid nearly shut.
    raised: how far (px) the lid line was raised above its resting place (wide eyes): the
    stretched skin still starts LID_SKIN above the resting lid, so a brow or a spectacle rim
    above it is not dragged over the eye.
    """
    if closure < 0.02:
        return
    margin = LID_MARGIN * unit
    skin_h = max(LID_SKIN * unit - max(raised, 0.0), margin + 1.0)
    pts = np.vstack([lid_top, lid_edge])
    h, w = frame.shape[:2]
    x0, x1 = max(0, int(np.floor(pts[:, 0].min())) - 2), min(w, int(np.ceil(pts[:, 0].max())) + 3)
    y0 = max(0, int(np.floor(lid_top[:, 1].min() - skin_h)) - 2)
    y1 = min(h, int(np.ceil(lid_edge[:, 1].max())) + 3)
    if x1 <= x0 or y1 <= y0:
        return
    off = np.array([x0, y0], np.float32)
    src = frame[y0:y1, x0:x1].astype(np.float32)
    order = np.argsort(lid_top[:, 0])
    xs = np.arange(x0, x1, dtype=np.float32)
    top = np.interp(xs, lid_top[order, 0], lid_top[order, 1]) - y0             # (w,) lid line now
    edge = np.interp(xs, lid_edge[order, 0], lid_edge[order, 1]) - y0          # (w,) its new place
    inside = (xs >= lid_top[:, 0].min()) & (xs <= lid_top[:, 0].max())
    drop = np.where(inside, np.maximum(edge - top, 0.0), 0.0)[None, :]          # (1, w)
    top = top[None, :]
    ys = np.arange(y1 - y0, dtype=np.float32)[:, None]                          # (h, 1)
    start = top - skin_h                                                        # the skin band's top: fixed
    # rows [start, top - margin + drop] sample [start, top - margin] (skin stretched); rows
    # below, to top + drop, sample the margin shifted by drop; below that the eye
    knee = top - margin + drop
    stretch = (ys - start) * (skin_h - margin) / np.maximum(knee - start, 1e-3) + start
    map_y = np.where(ys < start, ys, np.where(ys < knee, stretch, ys - drop))
    end = top + drop                                                            # the lid's lower edge
    map_x = np.broadcast_to((xs - x0)[None, :], map_y.shape)
    tex = cv2.remap(src, map_x.astype(np.float32), map_y.astype(np.float32), cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE)
    # coverage: the whole band above the lower edge (the map is the identity at its top and sides),
    # antialiased along the lower edge
    a = np.clip(end - ys + 0.5, 0.0, 1.0) * (drop > 0.05)
    a = cv2.GaussianBlur(a.astype(np.float32), (0, 0), max(0.5, 0.006 * unit))
    # skin stretched far shows its few rows as vertical streaks: smoothed along the lid there
    ratio = (knee - start) / max(skin_h - margin, 1.0)                          # (1, w) stretch factor
    smooth = (np.clip((ratio - 1.0) / 2.0, 0.0, 1.0) * ((ys >= start) & (ys < knee)))[..., None]
    tex = tex + smooth * (cv2.GaussianBlur(tex, (0, 0), sigmaX=max(1.0, 0.03 * unit), sigmaY=0.5) - tex)
    # the stretched skin takes a little of the lid colour, in proportion to how far it stretched
    t = np.clip((ys - start) / np.maximum(knee - start, 1e-3), 0.0, 1.0) * (ys < knee)
    tint = (0.45 * np.clip(drop / max(0.1 * unit, 1e-3), 0.0, 1.0) * t)[..., None]
    lid = tex * (1.0 - tint) + tint * skin
    alpha = a[..., None]
    roi = src * (1.0 - alpha) + alpha * lid
    lash = np.zeros(roi.shape[:2], np.uint8)
    line = np.round((lid_edge - off) * (1 << _SHIFT)).astype(np.int32)
    cv2.polylines(lash, [line[1:-1]], False, 255, max(1, int(round(0.014 * unit))), cv2.LINE_AA, _SHIFT)
    lash_a = cv2.GaussianBlur(lash.astype(np.float32) / 255.0, (0, 0), max(0.6, 0.008 * unit)) * 0.6 * min(1.0, closure) ** 3
    _blend(roi, lash_a, LASH)
    frame[y0:y1, x0:x1] = np.clip(roi + 0.5, 0, 255).astype(np.uint8)
