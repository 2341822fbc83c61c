"""Head pose from face landmarks: a geometric estimate from mediapipe's 3D landmarks.

Convention (shared with the warp renderer): camera axes x right, y down, z away from the camera;
yaw > 0 turns the face towards the image's right, pitch > 0 tilts the chin down (nose towards the
image bottom), roll > 0 rotates the face clockwise in the image. Angles in radians.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from avatar.face.landmarks import (CHIN, FOREHEAD, LEFT_CHEEK_EDGE, LEFT_EYE_OUTER, NOSE_TIP,
                                   RIGHT_CHEEK_EDGE, RIGHT_EYE_OUTER, FaceLandmarks)

# Measured on frontal portraits: the forehead (10) sits a little behind the chin (152) in
# mediapipe's depth, so a frontal face reads a small pitch that is removed here.
_PITCH_OFFSET = -0.14


@dataclass(frozen=True, slots=True)
class HeadPose:
    yaw: float
    pitch: float
    roll: float

    def as_array(self) -> np.ndarray:
        return np.array([self.yaw, self.pitch, self.roll], np.float32)


def rotation_matrix(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """(3, 3) rotation R = Rz(roll) Rx(pitch) Ry(yaw) acting on column vectors (x right, y down, z far)."""
    cy, sy = math.cos(yaw), math.sin(yaw)
    cp, sp = math.cos(pitch), math.sin(pitch)
    cr, sr = math.cos(roll), math.sin(roll)
    ry = np.array([[cy, 0, -sy], [0, 1, 0], [sy, 0, cy]])   # yaw>0: near points (z<0) move to +x
    rx = np.array([[1, 0, 0], [0, cp, sp], [0, -sp, cp]])   # pitch>0: near points move to +y
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])   # roll>0: clockwise on screen (y down)
    return rz @ rx @ ry


def estimate_pose(landmarks: FaceLandmarks) -> HeadPose:
    """Yaw from the cheek-to-cheek depth slope, pitch from forehead-to-chin, roll from the eye line."""
    p = landmarks.points.astype(np.float64)
    eye = p[LEFT_EYE_OUTER] - p[RIGHT_EYE_OUTER]
    roll = float(np.arctan2(eye[1], eye[0]))
    # undo roll in the image plane before measuring yaw and pitch
    c, s = np.cos(-roll), np.sin(-roll)
    q = p.copy()
    q[:, 0] = c * p[:, 0] - s * p[:, 1]
    q[:, 1] = s * p[:, 0] + c * p[:, 1]
    cheek = q[LEFT_CHEEK_EDGE] - q[RIGHT_CHEEK_EDGE]
    yaw_depth = float(np.arctan2(cheek[2], cheek[0]))
    # 2D asymmetry: nose tip position between the cheek edges (0 frontal, +-1 at the edge)
    span = max(cheek[0], 1e-6)
    asym = float((q[NOSE_TIP, 0] - 0.5 * (q[LEFT_CHEEK_EDGE, 0] + q[RIGHT_CHEEK_EDGE, 0])) / (0.5 * span))
    yaw_asym = float(np.arcsin(np.clip(asym, -1.0, 1.0)))
    yaw = 0.5 * (yaw_depth + yaw_asym)
    vert = q[CHIN] - q[FOREHEAD]
    pitch = float(np.arctan2(-vert[2], vert[1])) - _PITCH_OFFSET
    return HeadPose(yaw=yaw, pitch=pitch, roll=roll)
