"""The warp renderer: portrait + rig + head pose -> coarse displacement field -> cv2.remap.

Everything that depends only on the portrait is precomputed in the constructor: the thin-plate
spline operator from the moving points to a coarse grid, and one coarse basis field per rigged
coefficient. Per frame the forward field is pose field + A @ (sum of coefficient x basis), A being
the head's 2x2 rotation-scale; it is inverted on the coarse grid, upsampled and applied with one
remap. The lower lip and jaw are rendered as a second layer whose field is cut at the lip seam
(the upper lip never follows the jaw), and the mouth interior and eyelids are drawn on top.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import cv2
import numpy as np

from avatar.face import landmarks as L
from avatar.face.portrait import Portrait, RestSmile
from avatar.face.pose import rotation_matrix
from avatar.face.rig import build_rig, face_frame
from avatar.motion.clip import ARKIT_INDEX, ARKIT_NAMES, MotionClip
from avatar.render.composite import draw_eyelid, draw_mouth, mouth_palette
from avatar.render.field import grid_points, invert_on_grid, tps_operator
from avatar.render.shading import broad_blur, shade_expression

log = logging.getLogger(__name__)

RING_SCALE = 1.3            # head outline (hair, ears) = face oval scaled about the face centre
SHOULDER_DROP = 1.05
DEPTH_SCALE = 0.7
DEPTH_SMOOTH = 0.12       # eye distances        # shoulder anchor row, eye distances below the chin
TURN_GAIN_MAX = 2.5
BAND_CELLS = 8             # coarse cells a band of the remap spans (64 rows at 512 px: see _remap)
PITCH_SHARE = 0.5         # pitch gets this share of the turn gain (see _pose_parts)
_EYES = ((np.array(L.LEFT_EYE_UPPER), np.array(L.LEFT_EYE_LOWER), "eyeBlinkLeft"),
         (np.array(L.RIGHT_EYE_UPPER), np.array(L.RIGHT_EYE_LOWER), "eyeBlinkRight"))
_UPPER_INNER, _LOWER_INNER = np.array(L.UPPER_INNER), np.array(L.LOWER_INNER)


def _anchors(size: int, chin_y: float, unit: float) -> np.ndarray:
    """Points that never move: the image border and a shoulder row."""
    t = np.linspace(0, size - 1, 9)
    m = t[1:-1]
    z, e = np.zeros_like(t), np.full_like(t, size - 1)
    border = np.concatenate([np.stack([t, z], 1), np.stack([t, e], 1),
                             np.stack([z[1:-1], m], 1), np.stack([e[1:-1], m], 1)])
    ys = min(size - 1.0, chin_y + SHOULDER_DROP * unit)
    shoulders = np.stack([np.linspace(0, size - 1, 9), np.full(9, ys)], 1)
    return np.concatenate([border, shoulders]).astype(np.float64)


def turn_gain(depth: np.ndarray, flat: np.ndarray) -> float:
    """How much to scale yaw and pitch so that the flattened head turns as far on screen as the
    commanded rotation of the real depth: a turn moves a point sideways by about z sin(angle),
    and the warp's depth `flat` is the landmarks' `depth` shrunk by about this factor's inverse
    (least-squares slope); clipped to [1, 2.5]."""
    z = np.asarray(depth, np.float64) - np.mean(depth)
    f = np.asarray(flat, np.float64) - np.mean(flat)
    k = float(z @ f / max(z @ z, 1e-12))
    return float(np.clip(1.0 / max(k, 1e-3), 1.0, TURN_GAIN_MAX))


class WarpRenderer:
    """Renders a Portrait driven by MotionClips. Frames are (size, size, 3) uint8 RGB.

    Motion pose is relative to the portrait's own pose: zeros reproduce the portrait.
    With `rest_smile` (a portrait photographed smiling), a frame's mouthSmile is counted from the
    photo's own smile: a frame that smiles less warps the resting smile away by the difference
    (RestSmile.relax_share of its displacement, its creases softened as far), one that smiles more
    adds only the excess through the rig.
    """

    def __init__(self, portrait: Portrait, cells: int = 64, rest_smile: RestSmile | None = None) -> None:
        self.portrait = portrait
        self.rest_smile = rest_smile
        self.size = portrait.size
        self.cells = cells
        size, lm = self.size, portrait.landmarks
        self._frame = face_frame(lm)
        unit = self._frame.unit
        self._unit = unit
        self.rig = rig = build_rig(lm)
        pts3 = lm.points.astype(np.float64)
        # mediapipe's relative depth exaggerates parallax for a single photo: flatten it a little
        pts3[:, 2] = DEPTH_SCALE * (pts3[:, 2] - pts3[:, 2].mean())
        # ... and smooth it: small depth steps (eye sockets under the brow ridge) fold the warp
        # at combined yaw and pitch, since a backward warp cannot show self-occlusion
        d2 = ((pts3[:, None, :2] - pts3[None, :, :2]) ** 2).sum(-1)
        w = np.exp(-d2 / (2 * (DEPTH_SMOOTH * lm.eye_distance) ** 2))
        pts3[:, 2] = 0.4 * pts3[:, 2] + 0.6 * (w @ pts3[:, 2]) / w.sum(1)
        self._turn_gain = turn_gain(lm.points[:, 2], pts3[:, 2])
        self.rotation_gain = (1.0, 1.0)  # yaw, pitch: set from its own renders (avatar.render.rotation)
        center = 0.5 * (pts3[L.FOREHEAD] + pts3[L.CHIN])
        oval = pts3[list(L.FACE_OVAL)]
        low = oval[:, 1] > center[1] + 0.38 * lm.face_height
        scale = np.where(low, 1.12, RING_SCALE)[:, None]
        ring = center + scale * (oval - center)
        # the head turns about an axis at the depth of the cheek edges, so the face's outline only
        # narrows and never slides against the hair (which would fold the warp); the outline rings
        # lie on the silhouette, at that depth
        edge_z = 0.5 * (pts3[L.LEFT_CHEEK_EDGE, 2] + pts3[L.RIGHT_CHEEK_EDGE, 2])
        ring[:, 2] = np.maximum(oval[:, 2], edge_z)
        outer = center + 1.75 * (oval[~low] - center)                       # half the head motion
        outer[:, 2] = edge_z
        margin = 0.12 * size                                               # room to fade out before the border
        outer = outer[(outer[:, :2] > margin).all(1) & (outer[:, :2] < size - margin).all(1)]
        self._head3 = np.concatenate([pts3, ring, outer])
        head_weight = np.concatenate([np.ones(len(pts3) + len(ring)), np.full(len(outer), 0.5)])
        self._pivot = np.array([center[0], center[1] + 0.3 * lm.face_height, edge_z + 0.05 * unit])
        self._center2 = center[:2]
        anchors = _anchors(size, float(pts3[L.CHIN, 1]), unit)
        grid = grid_points(size, cells)
        centers = np.concatenate([self._head3[:, :2], anchors])
        op = tps_operator(centers, grid, size)                               # (G, N)
        n_head = len(self._head3)
        rel = np.hstack([self._head3 - self._pivot, np.ones((n_head, 1))]) * head_weight[:, None]
        self._pose_basis = (op[:, :n_head] @ rel).astype(np.float32)           # (G, 4)
        n_lm = len(pts3)
        disp = rig.displacement.astype(np.float64)                           # (C, 478, 2)
        base = np.where(rig.jaw[:, None, None], 0.0, disp)
        self._basis = np.einsum("gn,cnk->cgk", op[:, :n_lm], base).astype(np.float32)   # (C, G, 2)
        self._gaze = np.einsum("gn,cnk->cgk", op[:, :n_lm], rig.gaze).astype(np.float32)
        # jaw layer: lower face moves, the upper face far from the seam is pinned, near it is free
        q = self._frame.to_face(lm.xy)
        seam_y = float(np.mean(q[list(L.UPPER_INNER), 1]))
        pinned = ~rig.lower_face & (q[:, 1] < seam_y - 0.2)
        keep = rig.lower_face | pinned
        jcenters = np.concatenate([lm.xy[keep].astype(np.float64), ring[~low, :2], outer[:, :2], anchors])
        jop = tps_operator(jcenters, grid, size)[:, :int(keep.sum())]
        jdisp = np.where(rig.jaw[:, None, None], disp, 0.0)[:, keep]
        self._jaw_basis = np.einsum("gn,cnk->cgk", jop, jdisp).astype(np.float32)
        self._jaw_idx = np.flatnonzero(rig.jaw)
        g = len(grid)
        self._basis_flat = np.concatenate([self._basis, self._gaze]).reshape(-1, 2 * g)   # (C+2, 2G)
        self._lm_flat = np.concatenate([rig.displacement, rig.gaze]).reshape(
            len(rig.displacement) + len(rig.gaze), -1).astype(np.float32)      # (C+2, 478 * 2)
        self._jaw_flat = np.ascontiguousarray(self._jaw_basis[self._jaw_idx].reshape(-1, 2 * g))
        # the resting smile's relaxation: one more coarse field, weighted per frame by its share
        rest_disp = rest_smile.displacement.astype(np.float64) if rest_smile is not None else np.zeros((n_lm, 2))
        self._rest_basis = (op[:, :n_lm] @ rest_disp).astype(np.float32)               # (G, 2)
        self._rest_lm = rest_disp
        self._soft_roi = None
        # the images a frame samples, with a fourth channel: see _remap
        self._image4 = cv2.cvtColor(portrait.image, cv2.COLOR_RGB2RGBA)
        self._soft4 = cv2.cvtColor(rest_smile.softened, cv2.COLOR_RGB2RGBA) if rest_smile is not None else None
        if rest_smile is not None:
            changed = np.argwhere(np.any(rest_smile.softened != portrait.image, axis=-1))
            if len(changed):
                (ya, xa), (yb, xb) = changed.min(0), changed.max(0) + 1
                self._soft_roi = (int(xa), int(ya), int(xb), int(yb))
        ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
        self._ident = np.dstack([xs, ys])
        self._cell_px = s = size // cells if size % cells == 0 else None  # pixels per coarse cell, when whole
        if s is not None:  # the coarse grid's positions in output pixels, padded by one cell
            c = (np.arange(-1, cells + 1, dtype=np.float32) + 0.5) * s - 0.5
            self._grid_pos = np.dstack(np.meshgrid(c, c)).astype(np.float32)
        xy = lm.xy
        self._own_opening = float(np.max(xy[list(L.LOWER_INNER), 1] - xy[list(L.UPPER_INNER), 1]))
        self._lid_skin = [self._skin_above(up) for up, _, _ in _EYES]
        self._palette = mouth_palette(portrait.image, xy)
        self._smile_cols = [ARKIT_INDEX["mouthSmileLeft"], ARKIT_INDEX["mouthSmileRight"]]
        self._blink_col = [ARKIT_INDEX[name] for _, _, name in _EYES]

    # ---------------------------------------------------------------- per-portrait helpers
    def _skin_above(self, upper_idx) -> np.ndarray:
        """Median colour of the skin between an upper lid and its brow (the eyelid colour)."""
        xy = self.portrait.landmarks.xy
        lid = xy[list(upper_idx)]
        h = 0.12 * self._unit
        x0, x1 = int(lid[:, 0].min() + 0.2 * np.ptp(lid[:, 0])), int(lid[:, 0].max() - 0.2 * np.ptp(lid[:, 0]))
        y1 = int(lid[:, 1].min() - 0.02 * self._unit)
        patch = self.portrait.image[max(0, int(y1 - h)):max(1, y1), max(0, x0):max(1, x1)]
        if not patch.size:
            return np.array([200, 160, 140], np.float32)
        px = patch.reshape(-1, 3).astype(np.float32)
        luma = px @ np.array([0.3, 0.59, 0.11], np.float32)
        bright = px[luma >= np.percentile(luma, 50)]          # skin, not brow hairs or lashes
        return np.median(bright, 0)

    # ---------------------------------------------------------------- per-frame
    def relax_share(self, expression: np.ndarray) -> float:
        """The share of the portrait's resting smile that a frame with ARKit `expression` (52,)
        relaxes (RestSmile.relax_share of its mean mouthSmile); 0 without a resting smile."""
        if self.rest_smile is None:
            return 0.0
        return self.rest_smile.relax_share(float(np.mean(np.clip(expression[self._smile_cols], 0.0, 1.0))))

    def _counted_from_rest(self, expression: np.ndarray) -> np.ndarray:
        """`expression` (52,) with its mouthSmile counted from the photo's own smile (the excess)."""
        if self.rest_smile is None:
            return expression
        out = np.array(expression, np.float32)
        out[self._smile_cols] = np.maximum(out[self._smile_cols] - self.rest_smile.level, 0.0)
        return out

    def _source(self, relax: float) -> np.ndarray:
        """The image the frame samples, (size, size, 4) uint8 (RGB and a spare channel, see
        _remap): the portrait, its smile creases softened by `relax`."""
        if relax <= 0.0 or self._soft_roi is None:
            return self._image4
        x0, y0, x1, y1 = self._soft_roi
        out = self._image4.copy()
        out[y0:y1, x0:x1] = cv2.addWeighted(self._soft4[y0:y1, x0:x1], relax,
                                            self._image4[y0:y1, x0:x1], 1.0 - relax, 0.0)
        return out

    def target_landmarks(self, pose: np.ndarray, coeffs: np.ndarray, gaze: np.ndarray, relax: float = 0.0,
                         parts=None) -> np.ndarray:
        """(478, 2) landmark positions in the output for one frame's pose (6,), coeffs (C,), gaze
        (2,) and the share `relax` of the resting smile it relaxes (see relax_share); `parts`: the
        pose's _pose_parts when the caller has them."""
        r, a, t = parts if parts is not None else self._pose_parts(pose)
        lm = self._head3[:478]
        w = np.concatenate([coeffs, gaze]).astype(np.float32)
        expr = np.einsum("k,kn->n", w, self._lm_flat).reshape(-1, 2).astype(np.float64)   # (478, 2)
        if relax > 0.0:
            expr += relax * self._rest_lm
        moved = (lm - self._pivot) @ (float(pose[5]) * r.T) + (self._pivot + t)
        return moved[:, :2] + expr @ a.T

    def _pose_parts(self, pose: np.ndarray):
        yaw, pitch, roll, tx, ty, s = pose.tolist()
        g = self._turn_gain
        # pitch gets a share of the gain: with all of it, re-detected pitch overshoots (measured
        # slope 1.2-1.7 on speech clips, where the chin's travel adds to it); rotation_gain then
        # makes each portrait's still renders turn as commanded (avatar.render.rotation)
        gy, gp = self.rotation_gain
        r = rotation_matrix(gy * g * yaw, gp * (1.0 + PITCH_SHARE * (g - 1.0)) * pitch, roll)
        fw = self.portrait.landmarks.face_width
        return r, r[:2, :2] * s, np.array([tx * fw, ty * fw, 0.0])

    def _fields(self, pose, coeffs, gaze, relax: float = 0.0, parts=None):
        """Coarse forward fields (cells, cells, 2): without the jaw layer and with it; `parts`: the
        pose's _pose_parts when the caller has them."""
        r, a, t = parts if parts is not None else self._pose_parts(pose)
        # displacement of a head point p: (s R - I)[:2] (p - pivot) + t, linear in the precomputed
        # TPS fields of the coordinates (p - pivot)_k and of a constant
        m = float(pose[5]) * r[:2, :] - np.eye(2, 3)
        w_pose = np.hstack([m, t[:2, None]]).astype(np.float32)                 # (2, 4)
        # no numpy @ in a frame: OpenBLAS runs these products on a second thread (10x slower on 2
        # cores beside OpenCV's pool; with one OpenCV thread its worker still takes CPU the model
        # writing beside the stream needs); the (G, 4) x (4, 2) products with cv2.gemm, the
        # (1, C + 2) x (C + 2, 2G) ones with einsum's own loop (1.5-2x faster than cv2.gemm's)
        f = cv2.gemm(self._pose_basis, w_pose, 1.0, None, 0.0, flags=cv2.GEMM_2_T)   # (G, 2)
        w = np.concatenate([coeffs, gaze]).astype(np.float32)
        expr = np.einsum("k,kn->n", w, self._basis_flat).reshape(-1, 2)
        if relax > 0.0:
            expr += np.float32(relax) * self._rest_basis
        a32 = a.astype(np.float32)
        f += cv2.gemm(expr, a32, 1.0, None, 0.0, flags=cv2.GEMM_2_T)
        shape = (self.cells, self.cells, 2)
        jc = coeffs[self._jaw_idx]
        if not np.any(np.abs(jc) > 1e-3):
            return f.reshape(shape), None
        jaw = np.einsum("k,kn->n", jc.astype(np.float32), self._jaw_flat).reshape(-1, 2)
        jaw = cv2.gemm(jaw, a32, 1.0, None, 0.0, flags=cv2.GEMM_2_T)
        return f.reshape(shape), (f + jaw).reshape(shape)

    def _sample_map(self, back_coarse: np.ndarray, roi: tuple[int, int, int, int]) -> np.ndarray:
        """(y1 - y0, x1 - x0, 2) float32: where each output pixel in roi = (x0, y0, x1, y1) samples
        the portrait, its own position less the backward coarse field (cells, cells, 2) bilinearly
        upsampled as cv2.resize to (size, size) does. When a cell is a whole number of pixels, the
        coarse grid's own positions less the field are upsampled instead, padded by one cell (the
        field replicated there, as resize clamps at a border), and only the cells around roi: one
        resize of a small block, no full-frame subtraction (same map within float rounding)."""
        if self._cell_px is None:
            x0, y0, x1, y1 = roi
            full = cv2.resize(back_coarse, (self.size, self.size), interpolation=cv2.INTER_LINEAR)
            return cv2.subtract(self._ident[y0:y1, x0:x1], full[y0:y1, x0:x1])
        return self._block_map(self._grid_positions(back_coarse), roi)

    def _grid_positions(self, back_coarse: np.ndarray) -> np.ndarray:
        """(cells + 2, cells + 2, 2): where each coarse grid point samples the portrait, padded by
        one cell (see _sample_map); only when a cell is a whole number of pixels."""
        pos = cv2.copyMakeBorder(back_coarse, 1, 1, 1, 1, cv2.BORDER_REPLICATE)
        return cv2.subtract(self._grid_pos, pos, dst=pos)

    def _block_map(self, pos: np.ndarray, roi: tuple[int, int, int, int]) -> np.ndarray:
        """_sample_map of roi from the padded grid positions `pos` (_grid_positions)."""
        x0, y0, x1, y1 = roi
        s = self._cell_px
        # padded cells covering the roi plus one on each side (resize clamps at a block's edge);
        # padded cell j sits at output pixel (j - 1) * s + (s - 1) / 2
        j0, i0 = x0 // s, y0 // s
        j1, i1 = min(-(-x1 // s) + 2, self.cells + 2), min(-(-y1 // s) + 2, self.cells + 2)
        block = cv2.resize(pos[i0:i1, j0:j1], ((j1 - j0) * s, (i1 - i0) * s), interpolation=cv2.INTER_LINEAR)
        ox, oy = (j0 - 1) * s, (i0 - 1) * s
        return block[y0 - oy:y1 - oy, x0 - ox:x1 - ox]

    def _remap(self, back_coarse: np.ndarray, roi=None, source: np.ndarray | None = None) -> np.ndarray:
        """The portrait warped by the backward coarse field, for the whole frame or roi = (x0, y0,
        x1, y1), (h, w, 3) uint8. `source`: the (size, size, 4) image to sample (default the
        portrait's, see _source). OpenCV's remap has a vector path for four 8-bit channels with a
        float map that three channels lack: a 512 px frame remaps in 0.63-0.74 ms against
        1.5-1.9 ms (fixed-point maps: 0.86-0.94 and 1.0-1.7 ms), and dropping the fourth channel
        after costs 0.02 ms; the same pixels as a three-channel remap. It runs in bands of rows, so
        that a band's float map stays in the cache between being made and being read, instead of
        2 MB of map for the whole frame going out to memory and back."""
        src = self._image4 if source is None else source
        x0, y0, x1, y1 = roi if roi is not None else (0, 0, self.size, self.size)
        whole_px = self._cell_px is not None  # a cell is a whole number of pixels (see _sample_map)
        band = BAND_CELLS * self._cell_px if whole_px else y1 - y0
        pos = self._grid_positions(back_coarse) if whole_px else None  # once for all the bands
        out = np.empty((y1 - y0, x1 - x0, 3), np.uint8)
        for top in range(y0, y1, band):
            bottom = min(top + band, y1)
            roi_band = (x0, top, x1, bottom)
            m = self._block_map(pos, roi_band) if whole_px else self._sample_map(back_coarse, roi_band)
            rgba = cv2.remap(src, m, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            cv2.cvtColor(rgba, cv2.COLOR_RGBA2RGB, dst=out[top - y0:bottom - y0])
        return out

    def source_map(self, pose: np.ndarray, expression: np.ndarray, gaze: np.ndarray) -> np.ndarray:
        """(size, size, 2) float32: where each output pixel samples the portrait (with the jaw
        layer). For checks: its Jacobian determinant stays positive where the warp does not fold."""
        coeffs = np.clip(np.asarray(expression, np.float32)[self.rig.columns], 0.0, 1.0)
        f_up, f_all = self._fields(np.asarray(pose, np.float32), coeffs, np.asarray(gaze, np.float32))
        back = invert_on_grid(f_all if f_all is not None else f_up, self.size / self.cells)
        return self._ident - cv2.resize(back, (self.size, self.size), interpolation=cv2.INTER_LINEAR)

    def render_pose_expression(self, pose: np.ndarray, expression: np.ndarray, gaze: np.ndarray) -> np.ndarray:
        """One frame from pose (6,), ARKit expression (52,), gaze (2,) -> (size, size, 3) uint8."""
        expression = np.asarray(expression, np.float32)
        relax = self.relax_share(expression)
        coeffs = np.clip(self._counted_from_rest(expression)[self.rig.columns], 0.0, 1.0)
        gaze = np.clip(np.asarray(gaze, np.float32), -1.0, 1.0)
        pose = np.asarray(pose, np.float32)
        cell = self.size / self.cells
        source = self._source(relax)
        parts = self._pose_parts(pose)
        f_up, f_all = self._fields(pose, coeffs, gaze, relax, parts)
        tgt = self.target_landmarks(pose, coeffs, gaze, relax, parts)
        unit = self._unit * float(pose[5])
        if f_all is None:
            out = self._remap(invert_on_grid(f_up, cell), source=source)
        else:
            out = self._remap(invert_on_grid(f_all, cell), source=source)
            layer, corner = self._paste_upper(out, invert_on_grid(f_up, cell), tgt, unit, source)
            interior = None
            if self._own_opening > 2.0 and layer is not None:
                no_jaw = np.where(self.rig.jaw, 0.0, coeffs)
                own = self.target_landmarks(pose, no_jaw, gaze, relax, parts)[_LOWER_INNER]
                interior = (layer, corner, own)
            smile = 0.5 * float(expression[self._smile_cols].sum())
            draw_mouth(out, tgt[_UPPER_INNER], tgt[_LOWER_INNER], unit, interior, self._palette, smile)
        # the photo shows its own smile's shading: only the excess is shaded
        counted = np.clip(self._counted_from_rest(expression), 0.0, 1.0)
        shade_expression(out, tgt, dict(zip(ARKIT_NAMES, counted.tolist())))
        rest = None
        for (up, lo, _), skin, col in zip(_EYES, self._lid_skin, self._blink_col):
            b = min(max(float(expression[col]), 0.0), 1.0)
            if b > 0.02:
                # the warp leaves the lid where it is (the rig's blink moves no landmark: a
                # coarse warp cannot move a lid line a few pixels exactly); the drawn lid closes
                top, bottom = tgt[up], tgt[lo]
                if rest is None:  # the lids without the expression (how far wide eyes raised them)
                    rest = self.target_landmarks(pose, np.zeros_like(coeffs), gaze, relax, parts)
                raised = float(np.mean(rest[up, 1] - top[:, 1]))
                draw_eyelid(out, top, top + b * (bottom - top), b, skin, unit, raised)
        return out

    def _paste_upper(self, out, back_up, tgt, unit, source=None) -> tuple[np.ndarray | None, tuple[int, int]]:
        """Above the lip seam, near the mouth, show the layer in which the jaw did not move."""
        upper = tgt[_UPPER_INNER]
        mx0, mx1 = float(upper[:, 0].min()), float(upper[:, 0].max())
        half = 0.5 * (mx1 - mx0)
        pad_x, pad_up = half + 0.35 * unit, 0.45 * unit
        x0, y0 = int(max(0, mx0 - pad_x)), int(max(0, upper[:, 1].min() - pad_up))
        x1 = int(min(self.size, mx1 + pad_x))
        y1 = int(min(self.size, tgt[_LOWER_INNER, 1].max() + 0.1 * unit + 6))
        if x1 - x0 < 4 or y1 - y0 < 4:
            return None, (0, 0)
        layer = self._remap(back_up, (x0, y0, x1, y1), source)
        h, w = y1 - y0, x1 - x0
        # region above the upper inner lip, extended sideways at corner height
        poly = np.vstack([[x0 - 2, upper[0, 1]], upper, [x1 + 2, upper[-1, 1]], [x1 + 2, y0 - 2], [x0 - 2, y0 - 2]])
        m = np.zeros((h, w), np.uint8)
        cv2.fillPoly(m, [np.round((poly - [x0, y0]) * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
        m = m.astype(np.float32) / 255.0
        sharp = cv2.GaussianBlur(m, (0, 0), max(0.7, 0.01 * unit))
        broad = broad_blur(m, max(1.0, 0.08 * unit))
        f32 = np.float32
        xs = np.arange(x0, x1, dtype=f32)
        lateral = np.clip(1 - (np.abs(xs - f32(0.5 * (mx0 + mx1))) - f32(half)) / f32(0.15 * unit + 1e-3), 0, 1)
        # fade to the jaw layer at the ROI's sides and top so no edge shows
        ramp_x = np.clip(np.minimum(xs - x0, x1 - 1 - xs) / f32(0.2 * unit + 1e-3), 0, 1)
        ramp_y = np.clip(np.arange(h, dtype=f32) / f32(0.15 * unit + 1e-3), 0, 1)
        mask = broad + lateral * (sharp - broad)                              # (h, w) float32
        mask *= ramp_x[None, :]
        mask *= ramp_y[:, None]
        # ... except that directly above the lip the upper layer always wins
        np.maximum(mask, (ramp_y[:, None] * lateral[None, :]) * sharp, out=mask)
        roi = out[y0:y1, x0:x1]
        roi[:] = cv2.blendLinear(layer, roi, mask, 1.0 - mask)                 # layer x mask + roi x (1 - mask)
        return layer, (x0, y0)

    def render_frame(self, motion: MotionClip, index: int) -> np.ndarray:
        return self.render_pose_expression(motion.pose[index], motion.expression[index], motion.gaze[index])

    def stream_frames(self, motion: MotionClip) -> Iterator[np.ndarray]:
        """Frames of `motion`, each rendered when requested (3.5-5 ms each at 512x512 with one
        OpenCV thread on 2 shared cores, 2.3-2.6x a bare three-channel cv2.remap of the frame:
        bench/realtime.py)."""
        for i in range(motion.num_frames):
            yield self.render_frame(motion, i)
