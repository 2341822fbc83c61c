"""The motion representation shared by the generator, the renderers and export."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np

FPS = 25

# Expression coefficients, named after ARKit blendshapes (the Live Link Face column order).
ARKIT_NAMES: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft", "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight",
    "eyeLookOutRight", "eyeLookUpRight", "eyeSquintRight", "eyeWideRight", "jawForward",
    "jawRight", "jawLeft", "jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthRight",
    "mouthLeft", "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthPressLeft",
    "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
    "mouthUpperUpRight", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft",
    "browOuterUpRight", "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "noseSneerLeft",
    "noseSneerRight", "tongueOut",
)
ARKIT_INDEX: dict[str, int] = {name: i for i, name in enumerate(ARKIT_NAMES)}

# Head pose columns: yaw, pitch, roll in radians; x, y translation in face widths; scale factor.
POSE_NAMES: tuple[str, ...] = ("yaw", "pitch", "roll", "x", "y", "scale")
GAZE_NAMES: tuple[str, ...] = ("gaze_x", "gaze_y")


class Role(str, Enum):
    SPEAKING = "speaking"
    LISTENING = "listening"


@dataclass(frozen=True, slots=True)
class MotionClip:
    """Per-frame avatar motion at `fps`.

    pose: (T, 6) float32 yaw, pitch, roll (rad), x, y (face widths), scale (1 = neutral).
    gaze: (T, 2) float32 horizontal, vertical gaze in [-1, 1].
    expression: (T, len(ARKIT_NAMES)) float32 coefficients in [0, 1], columns as ARKIT_NAMES.
    """

    pose: np.ndarray
    gaze: np.ndarray
    expression: np.ndarray
    fps: int = FPS
    role: Role = Role.SPEAKING
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        t = self.pose.shape[0]
        if self.pose.shape != (t, len(POSE_NAMES)):
            raise ValueError(f"pose must be (T, {len(POSE_NAMES)}), got {self.pose.shape}")
        if self.gaze.shape != (t, 2):
            raise ValueError(f"gaze must be ({t}, 2), got {self.gaze.shape}")
        if self.expression.shape != (t, len(ARKIT_NAMES)):
            raise ValueError(f"expression must be ({t}, {len(ARKIT_NAMES)}), got {self.expression.shape}")

    @property
    def num_frames(self) -> int:
        return int(self.pose.shape[0])

    @property
    def duration(self) -> float:
        return self.num_frames / float(self.fps)

    def coeff(self, name: str) -> np.ndarray:
        """(T,) track of one ARKit coefficient."""
        return self.expression[:, ARKIT_INDEX[name]]

    @classmethod
    def still(cls, num_frames: int, fps: int = FPS, role: Role = Role.LISTENING) -> "MotionClip":
        """A neutral, motionless clip of `num_frames` frames."""
        pose = np.zeros((num_frames, len(POSE_NAMES)), np.float32)
        pose[:, 5] = 1.0
        return cls(
            pose=pose,
            gaze=np.zeros((num_frames, 2), np.float32),
            expression=np.zeros((num_frames, len(ARKIT_NAMES)), np.float32),
            fps=fps,
            role=role,
        )
