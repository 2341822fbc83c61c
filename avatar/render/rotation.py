"""The warp's head rotation, calibrated on its own renders.

The warp turns a photo's landmarks in 3D with a flattened depth (`warp.turn_gain` makes up for
the flattening from the depth alone), so how far the rendered head turns differs from portrait
to portrait: re-detected on still renders of +-6 degrees (mediapipe landmarks, the pose
estimator of avatar.face.pose), hopper's yaw turned 0.80 of the command and his pitch 0.93, the
astronaut's 1.03 and 0.80. `rotation_gains` renders the portrait at CAL_DEG of yaw and of pitch,
measures the turn the same way and returns the factors that make it the commanded one.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import numpy as np

log = logging.getLogger(__name__)

CAL_DEG = (-6.0, -3.0, 3.0, 6.0)   # the calibration's still renders turn this far (degrees)
GAIN_LIMITS = (0.7, 1.5)      # a measured slope outside 1/1.5-1/0.7 is not trusted that far
# One measurement is enough: re-measured with its gains, the turn is within 0.06-0.09 of the
# command, as near as the estimator's own scatter at these angles; a second round, measured with
# the first's gains applied, moved hopper's yaw gain 1.26 -> 1.19 and left it 1.09 of the command
# (it chases that scatter).


def rotation_gains(render_pose: Callable[[np.ndarray], np.ndarray]) -> tuple[float, float]:
    """(yaw, pitch) factors for the commanded rotation, from `render_pose(pose (6,)) -> RGB
    frame` at neutral face: 1 / the least-squares slope of the re-detected angle over the
    commanded one (CAL_DEG), within GAIN_LIMITS. (1.0, 1.0) where a render shows no face
    mediapipe finds."""
    from avatar.face import landmarks as L
    from avatar.face.pose import estimate_pose

    commanded = np.radians(CAL_DEG)
    gains = []
    for axis in (0, 1):
        measured = []
        for angle in commanded:
            pose = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 1.0])
            pose[axis] = angle
            faces = L.find_faces(render_pose(pose))
            if not faces:
                log.debug("rotation calibration: no face in the render at %s; gains kept at 1", pose[:2])
                return 1.0, 1.0
            measured.append(estimate_pose(faces[0]).as_array()[axis])
        slope = float(np.polyfit(commanded, measured, 1)[0])
        gains.append(float(np.clip(1.0 / slope, *GAIN_LIMITS)) if slope > 0 else 1.0)
    return gains[0], gains[1]
