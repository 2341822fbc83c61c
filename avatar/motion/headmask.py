"""Head masks: per-frame head silhouette and face-part masks rasterized from motion.

The masks are drawn from a canonical 2D face layout (fractions of the image size) moved by the
head pose and shaped by the expression coefficients; the diffusion renderer takes them as
conditioning. Pure numpy + cv2.
"""

from __future__ import annotations

import cv2
import numpy as np

from avatar.motion.clip import ARKIT_INDEX, MotionClip

MASK_CHANNELS: tuple[str, ...] = ("head", "eyes", "brows", "mouth")

# Canonical layout of a frontal face in a unit square (x right, y down), centre of rotation at HEAD.
HEAD = (0.5, 0.5)
HEAD_AXES = (0.30, 0.40)
EYES = ((0.39, 0.45), (0.61, 0.45))
EYE_AXES = (0.055, 0.022)
BROWS = ((0.39, 0.385), (0.61, 0.385))
BROW_HALF_WIDTH = 0.065
MOUTH = (0.5, 0.69)
MOUTH_HALF_WIDTH = 0.085
FACE_DEPTH = 0.35  # how far face parts sit in front of the rotation centre (for yaw/pitch shifts)


def _c(expr: np.ndarray, name: str) -> float:
    return float(expr[ARKIT_INDEX[name]])


def head_mask_frame(pose: np.ndarray, expression: np.ndarray, size: int = 128) -> np.ndarray:
    """(len(MASK_CHANNELS), size, size) uint8 masks (0 / 255) for one frame.

    pose (6,) yaw, pitch, roll (rad), x, y (face widths), scale; expression (52,) ARKit.
    """
    yaw, pitch, roll, tx, ty, scale = (float(v) for v in pose)
    s = size * float(np.clip(scale, 0.5, 2.0))
    cx, cy = size * HEAD[0] + tx * s * 2 * HEAD_AXES[0], size * HEAD[1] + ty * s * 2 * HEAD_AXES[0]
    cr, sr = np.cos(roll), np.sin(roll)
    # Face parts shift with yaw/pitch (they sit in front of the rotation centre) and foreshorten.
    shift = np.array([np.sin(yaw), np.sin(pitch)]) * FACE_DEPTH * HEAD_AXES[0]
    fx, fy = np.cos(yaw), np.cos(pitch)

    def to_px(p: tuple[float, float]) -> tuple[int, int]:
        u = (p[0] - HEAD[0]) * fx + shift[0]
        v = (p[1] - HEAD[1]) * fy + shift[1]
        return int(round(cx + s * (cr * u - sr * v))), int(round(cy + s * (sr * u + cr * v)))

    deg = float(np.degrees(roll))
    out = np.zeros((len(MASK_CHANNELS), size, size), np.uint8)
    axes = (max(int(s * HEAD_AXES[0] * (0.85 + 0.15 * fx)), 1), max(int(s * HEAD_AXES[1]), 1))
    cv2.ellipse(out[0], (int(round(cx)), int(round(cy))), axes, deg, 0, 360, 255, -1)

    for i, (side, centre) in enumerate(zip(("Left", "Right"), EYES)):
        openness = 1.0 - _c(expression, f"eyeBlink{side}") + 0.6 * _c(expression, f"eyeWide{side}") \
            - 0.4 * _c(expression, f"eyeSquint{side}")
        ax = (max(round(s * EYE_AXES[0] * fx), 1), max(round(s * EYE_AXES[1] * np.clip(openness, 0.05, 1.6) * fy), 1))
        cv2.ellipse(out[1], to_px(centre), ax, deg, 0, 360, 255, -1)
        raise_ = 0.03 * (_c(expression, "browInnerUp") + _c(expression, f"browOuterUp{side}")) \
            - 0.03 * _c(expression, f"browDown{side}")
        inner = (centre[0] + (BROW_HALF_WIDTH if i == 0 else -BROW_HALF_WIDTH), centre[1] - raise_ - 0.01 * _c(expression, "browInnerUp"))
        outer = (centre[0] - (BROW_HALF_WIDTH if i == 0 else -BROW_HALF_WIDTH), centre[1] - raise_)
        cv2.line(out[2], to_px(inner), to_px(outer), 255, max(int(s * 0.018), 1))

    width = MOUTH_HALF_WIDTH * (1.0 + 0.3 * (_c(expression, "mouthSmileLeft") + _c(expression, "mouthSmileRight"))
                                + 0.25 * (_c(expression, "mouthStretchLeft") + _c(expression, "mouthStretchRight"))
                                - 0.4 * _c(expression, "mouthPucker") - 0.2 * _c(expression, "mouthFunnel"))
    height = 0.012 + 0.11 * _c(expression, "jawOpen") + 0.03 * _c(expression, "mouthFunnel") \
        - 0.01 * _c(expression, "mouthClose")
    ax = (max(int(s * max(width, 0.02) * fx), 1), max(int(s * max(height, 0.006) * fy), 1))
    mouth_centre = (MOUTH[0], MOUTH[1] + 0.5 * 0.11 * _c(expression, "jawOpen"))
    cv2.ellipse(out[3], to_px(mouth_centre), ax, deg, 0, 360, 255, -1)
    return out


def head_masks(clip: MotionClip, size: int = 128) -> np.ndarray:
    """(T, len(MASK_CHANNELS), size, size) uint8 masks for every frame of `clip`."""
    if size < 8:
        raise ValueError(f"mask size must be >= 8, got {size}")
    pose = np.nan_to_num(clip.pose)
    expr = np.nan_to_num(clip.expression)
    return np.stack([head_mask_frame(pose[t], expr[t], size) for t in range(clip.num_frames)]) \
        if clip.num_frames else np.zeros((0, len(MASK_CHANNELS), size, size), np.uint8)
