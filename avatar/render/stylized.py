"""A friendly 2D cartoon face drawn with OpenCV from the same motion parameters (no photo needed).

Geometry lives in head units (head half-width = 1, origin at the head centre, y down); each part
has a depth that makes it slide with yaw/pitch, then roll, scale and translation place the head.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

from avatar.motion.clip import ARKIT_INDEX, MotionClip

_S = 4  # sub-pixel bits
SKIN, SKIN_DARK = (247, 206, 178), (226, 168, 140)
HAIR, SHIRT, BG_TOP, BG_BOTTOM = (92, 58, 42), (74, 122, 190), (226, 236, 246), (182, 204, 228)
IRIS, LIP, MOUTH_IN, TEETH, TONGUE = (86, 120, 70), (196, 96, 96), (88, 28, 36), (250, 248, 240), (222, 112, 120)


def _ellipse(cx, cy, rx, ry, n=48, a0=0.0, a1=2 * np.pi) -> np.ndarray:
    t = np.linspace(a0, a1, n)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], 1)


def _bezier(p0, p1, p2, n=16) -> np.ndarray:
    t = np.linspace(0, 1, n)[:, None]
    return (1 - t) ** 2 * np.asarray(p0) + 2 * (1 - t) * t * np.asarray(p1) + t ** 2 * np.asarray(p2)


class StylizedRenderer:
    """Renders the built-in cartoon avatar. Frames are (size, size, 3) uint8 RGB."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        ys = np.linspace(0.0, 1.0, size, dtype=np.float32)[:, None, None]
        self._bg = (np.array(BG_TOP, np.float32) * (1 - ys) + np.array(BG_BOTTOM, np.float32) * ys)
        self._bg = np.broadcast_to(self._bg, (size, size, 3)).astype(np.uint8)

    # --------------------------------------------------------------- drawing helpers
    def _place(self, pts: np.ndarray, depth: float, pose: np.ndarray) -> np.ndarray:
        yaw, pitch, roll, tx, ty, s = (float(v) for v in pose)
        p = np.asarray(pts, np.float64).copy()
        p[:, 0] = p[:, 0] * np.cos(yaw * depth) + np.sin(yaw) * depth * 0.9
        p[:, 1] = p[:, 1] * np.cos(pitch * depth) + np.sin(pitch) * depth * 0.9
        c, sn = np.cos(roll), np.sin(roll)
        p = p @ np.array([[c, sn], [-sn, c]])
        unit = 0.25 * self.size * s
        return p * unit + [self.size * (0.5 + 0.5 * tx), self.size * (0.44 + 0.5 * ty)]

    def _poly(self, img, pts, color, closed=True, thickness=-1):
        q = np.round(pts * (1 << _S)).astype(np.int32)
        if thickness < 0:
            cv2.fillPoly(img, [q], color, cv2.LINE_AA, _S)
        else:
            cv2.polylines(img, [q], closed, color, thickness, cv2.LINE_AA, _S)

    # --------------------------------------------------------------- the face
    def render_pose_expression(self, pose: np.ndarray, expression: np.ndarray, gaze: np.ndarray) -> np.ndarray:
        """One frame from pose (6,), ARKit expression (52,), gaze (2,) -> (size, size, 3) uint8."""
        e = np.clip(np.nan_to_num(np.asarray(expression, np.float64)), 0.0, 1.0)
        pose = np.nan_to_num(np.asarray(pose, np.float64), nan=0.0)
        pose[5] = pose[5] if pose[5] > 0.1 else 1.0
        gaze = np.clip(np.nan_to_num(np.asarray(gaze, np.float64)), -1, 1)
        c = lambda name: float(e[ARKIT_INDEX[name]])  # noqa: E731
        img = self._bg.copy()
        lw = max(1, int(round(self.size / 170)))
        place = lambda pts, d=0.0: self._place(pts, d, pose)  # noqa: E731
        # body: shoulders and neck stay, the head moves
        body_pose = np.array([0, 0, 0, 0, 0, 1.0])
        self._poly(img, self._place(_ellipse(0, 2.75, 2.5, 1.0), 0, body_pose), SHIRT)
        self._poly(img, self._place(np.array([[-0.36, 0.9], [0.36, 0.9], [0.42, 2.0], [-0.42, 2.0]]), 0, body_pose), SKIN_DARK)
        self._poly(img, place(_ellipse(0, -0.25, 1.12, 1.08, a0=np.pi, a1=2 * np.pi)), HAIR)  # back hair
        for sx in (-1, 1):
            self._poly(img, place(_ellipse(sx * 1.0, 0.15, 0.18, 0.26), -0.2), SKIN_DARK)   # ears
        jaw = 1.2 + 0.25 * c("jawOpen")
        head = np.vstack([_ellipse(0, 0, 1.0, 1.05, 40, np.pi, 2 * np.pi),
                          _ellipse(0, 0, 1.0, jaw, 40, 0, np.pi)])
        self._poly(img, place(head), SKIN)
        self._poly(img, place(head[36:]), SKIN_DARK, False, lw)             # outline below the hair
        fringe = np.vstack([_ellipse(0, -0.1, 1.08, 1.02, 30, np.pi, 2 * np.pi),
                            _bezier([1.08, -0.1], [0.4, -0.72], [-0.2, -0.55]),
                            _bezier([-0.2, -0.55], [-0.7, -0.45], [-1.08, -0.1])])
        self._poly(img, place(fringe, 0.1), HAIR)
        smile = 0.5 * (c("mouthSmileLeft") + c("mouthSmileRight"))
        for side, sx in (("Left", 1.0), ("Right", -1.0)):                  # subject's left = image right
            blush = 0.25 + 0.5 * max(smile, c(f"cheekSquint{side}"))
            ov = img.copy()
            self._poly(ov, place(_ellipse(sx * 0.62, 0.42, 0.2, 0.12), 0.7), (240, 150, 150))
            cv2.addWeighted(ov, blush * 0.5, img, 1 - blush * 0.5, 0, img)
            self._eye(img, place, sx, side, c, gaze, lw)
            self._brow(img, place, sx, side, c, lw)
        self._poly(img, place(_bezier([-0.07, 0.28], [0.0, 0.36], [0.08, 0.28]), 1.0), SKIN_DARK, False, lw + 1)
        self._mouth(img, place, c, lw)
        return img

    def _eye(self, img, place, sx, side, c, gaze, lw):
        cx, cy, rx, ry = sx * 0.38, 0.0, 0.17, 0.2 * (1 + 0.25 * c(f"eyeWide{side}"))
        ry *= 1 - 0.3 * c(f"eyeSquint{side}")
        white = _ellipse(cx, cy, rx, ry)
        self._poly(img, place(white, 0.8), (255, 255, 255))
        gx, gy = cx + 0.07 * gaze[0], cy + 0.06 * gaze[1]
        self._poly(img, place(_ellipse(gx, gy, 0.1, 0.12), 0.85), IRIS)
        self._poly(img, place(_ellipse(gx, gy, 0.05, 0.06), 0.85), (20, 20, 24))
        self._poly(img, place(_ellipse(gx + 0.03, gy - 0.04, 0.022, 0.022), 0.85), (255, 255, 255))
        blink = c(f"eyeBlink{side}")
        if blink > 0.02:                                                    # the lid comes down
            edge = cy - ry + 2 * ry * blink
            lid = np.vstack([_ellipse(cx, cy, rx * 1.08, ry * 1.1, 24, np.pi, 2 * np.pi),
                             _bezier([cx + rx * 1.08, cy], [cx, edge + 0.25 * ry * blink], [cx - rx * 1.08, cy])])
            lid[:, 1] = np.minimum(lid[:, 1], max(edge, cy - ry))
            lid = np.vstack([_ellipse(cx, cy, rx * 1.08, ry * 1.1, 24, np.pi, 2 * np.pi),
                             _bezier([cx + rx * 1.08, min(cy, edge)], [cx, edge + 0.2 * ry], [cx - rx * 1.08, min(cy, edge)])])
            self._poly(img, place(lid, 0.8), SKIN)
            self._poly(img, place(_bezier([cx - rx, min(cy, edge)], [cx, edge + 0.2 * ry], [cx + rx, min(cy, edge)]), 0.8),
                       (60, 40, 40), False, lw + 1)
        else:
            self._poly(img, place(white[24:], 0.8), (60, 40, 40), False, lw + 1)

    def _brow(self, img, place, sx, side, c, lw):
        inner_up = 0.12 * c("browInnerUp") - 0.15 * c(f"browDown{side}")
        outer_up = 0.12 * c(f"browOuterUp{side}") - 0.03 * c(f"browDown{side}")
        y = -0.33
        pts = _bezier([sx * 0.2, y - inner_up], [sx * 0.38, y - 0.08 - 0.5 * (inner_up + outer_up)],
                      [sx * 0.56, y + 0.02 - outer_up])
        self._poly(img, place(pts, 0.75), HAIR, False, 3 * lw)

    def _mouth(self, img, place, c, lw):
        sl, sr = c("mouthSmileLeft"), c("mouthSmileRight")
        fl, fr = c("mouthFrownLeft"), c("mouthFrownRight")
        narrow = 0.35 * c("mouthPucker") + 0.25 * c("mouthFunnel")
        half = 0.26 * (1 + 0.25 * (c("mouthStretchLeft") + c("mouthStretchRight")) + 0.2 * (sl + sr) - narrow)
        y = 0.62
        lift_l, lift_r = 0.1 * sl - 0.08 * fl, 0.1 * sr - 0.08 * fr
        open_ = 0.42 * c("jawOpen") * (1 - 0.7 * c("mouthClose")) + 0.12 * c("mouthFunnel")
        left, right = [half, y - lift_l], [-half, y - lift_r]               # subject's left = image right
        curve = 0.08 * (sl + sr) - 0.07 * (fl + fr)                         # smile bends the mouth up
        raise_ = 0.06 * (c("mouthUpperUpLeft") + c("mouthUpperUpRight"))
        upper = _bezier(right, [0, y + curve - 0.3 * open_ - 0.02 - raise_], left)
        lower = _bezier(left, [0, y + curve + open_ * 1.6 + 0.02], right)
        if raise_ > 0.01 and open_ <= 0.01:                                 # a sneer shows the teeth
            open_ = 0.02
        if open_ > 0.01:
            inside = np.vstack([upper, lower])
            self._poly(img, place(inside, 0.85), MOUTH_IN)
            mid = _bezier([-half * 0.7, y], [0, y + curve + open_], [half * 0.7, y])
            self._poly(img, place(np.vstack([mid, lower[3:-3]]), 0.85), TONGUE)
            teeth = np.vstack([upper[2:-2], (upper[2:-2] + [0, min(0.06, 0.4 * open_)])[::-1]])
            self._poly(img, place(teeth, 0.85), TEETH)
            self._poly(img, place(inside, 0.85), LIP, True, lw + 1)
        else:
            self._poly(img, place(upper, 0.85), LIP, False, 2 * lw)

    # --------------------------------------------------------------- Renderer protocol
    def render_frame(self, motion: MotionClip, index: int) -> np.ndarray:
        return self.render_pose_expression(motion.pose[index], motion.expression[index], motion.gaze[index])

    def stream_frames(self, motion: MotionClip) -> Iterator[np.ndarray]:
        """Frames of `motion`, each drawn when requested (a few ms each)."""
        for i in range(motion.num_frames):
            yield self.render_frame(motion, i)
