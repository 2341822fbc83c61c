"""A portrait photographed smiling with open lips, rendered so that each frame keeps as much of
her own face as its expression allows.

The warp can relax a resting smile by any share (WarpRenderer's `rest_smile`), but it cannot
close lips photographed open: that needs the relaxed portrait (portrait.relax_portrait, lips
closed). So two warp renderers of the same photo are kept: `own`, the photo as it is (its teeth
between open lips, its smile relaxed by the share a frame asks), and `relaxed`, the closed-lipped
face at rest. Which one a frame shows follows its own mouthSmile, counted in shares of the photo's
smile: a face that smiles at least KEEP_FULL of it (happy) is the photo's own smiling mouth, one
that smiles under KEEP_FROM is the relaxed face, and in between (an emotion's ramp, a faint
smile) the two frames are cross-faded, so a change of emotion never pops. A face that raises its
upper lip (anger's and disgust's snarl, mouthUpperUp over BARE_FROM..BARE_FULL) bares teeth, so
it shows the photo's own teeth as well, its smile relaxed away; neutral, sad, surprised and
fearful faces keep the lips closed. bench/identity.py: her happy face is 0.40 from her photo this
way, 0.50 on the relaxed face with its smile put back.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

from avatar.motion.clip import ARKIT_INDEX, MotionClip
from avatar.render.warp import WarpRenderer

KEEP_FROM = 0.2    # shares of the photo's own smile: below, the relaxed face alone
KEEP_FULL = 0.45   # ... at or above, the photo's own mouth alone. A ramp to a smile crosses the
                   # band in a few frames, a dissolve of the parting lips. A face held in it shows
                   # both mouths and costs two warps a frame (5.3 ms against 2.1 at 384 px, which
                   # the live stream cannot spare): with 0.15-0.5, 68 % of a happy-0.3 sentence's
                   # frames were in it (its smile sits at 0.45-0.5 of hers); with 0.2-0.45, 3 %
# A raised upper lip (AU10: mouthUpperUp, anger's and disgust's snarl) bares the upper teeth, so
# such a face keeps the photo's own teeth too, its smile relaxed away: the astronaut's angry face
# is 0.54 from her photo this way, 0.61 on the closed-lipped face (FER2013 reads angry on 0.70 of
# the frames, 0.78 closed). Speech never raises the upper lip this far (a neutral or sad clip's
# mouthUpperUp stays under 0.1; anger's face holds 0.28, disgust's 0.37).
BARE_FROM = 0.1    # mean mouthUpperUp: below, the lips stay closed
BARE_FULL = 0.2    # ... at or above, the photo's own teeth alone. A face held in the band costs
                   # two warps a frame, as a faint smile does: anger spoken at intensity 0.25-0.5
                   # (0.3 x shown strength) and heard at 0.25-0.6 (listening), disgust spoken at 0.2-0.35
_SMILE = [ARKIT_INDEX["mouthSmileLeft"], ARKIT_INDEX["mouthSmileRight"]]
_UPPER_UP = [ARKIT_INDEX["mouthUpperUpLeft"], ARKIT_INDEX["mouthUpperUpRight"]]


def _smoothstep(x: float, lo: float, hi: float) -> float:
    t = float(np.clip((x - lo) / (hi - lo), 0.0, 1.0))
    return t * t * (3.0 - 2.0 * t)


class RestFaceRenderer:
    """Renders a smiling, open-lipped portrait with the face each frame asks for (module doc).

    own: WarpRenderer of the photo with its RestSmile; relaxed: WarpRenderer of the relaxed
    portrait. `portrait` is the relaxed one (the face at rest). Frames are (size, size, 3) uint8.
    """

    def __init__(self, own: WarpRenderer, relaxed: WarpRenderer) -> None:
        if own.rest_smile is None:
            raise ValueError("RestFaceRenderer needs the photo's renderer built with its rest_smile")
        if own.size != relaxed.size:
            raise ValueError(f"own and relaxed renderers differ in size ({own.size} vs {relaxed.size})")
        self.own, self.relaxed = own, relaxed
        self.size = relaxed.size
        self.portrait = relaxed.portrait

    def own_share(self, expression: np.ndarray) -> float:
        """How much of a frame with ARKit `expression` (52,) is the photo's own mouth, in [0, 1]:
        the larger of a smoothstep of its mean mouthSmile over [KEEP_FROM, KEEP_FULL] x the
        photo's smile and one of its mean mouthUpperUp over [BARE_FROM, BARE_FULL] (bared teeth)."""
        e = np.clip(np.asarray(expression, np.float32), 0.0, 1.0)
        level = self.own.rest_smile.level
        smiles = _smoothstep(float(np.mean(e[_SMILE])) / level, KEEP_FROM, KEEP_FULL)
        return max(smiles, _smoothstep(float(np.mean(e[_UPPER_UP])), BARE_FROM, BARE_FULL))

    def render_pose_expression(self, pose: np.ndarray, expression: np.ndarray, gaze: np.ndarray) -> np.ndarray:
        """One frame from pose (6,), ARKit expression (52,), gaze (2,) -> (size, size, 3) uint8."""
        t = self.own_share(expression)
        if t <= 0.0:
            return self.relaxed.render_pose_expression(pose, expression, gaze)
        own = self.own.render_pose_expression(pose, expression, gaze)
        if t >= 1.0:
            return own
        rest = self.relaxed.render_pose_expression(pose, expression, gaze)
        return cv2.addWeighted(own, t, rest, 1.0 - t, 0.0)

    def render_frame(self, motion: MotionClip, index: int) -> np.ndarray:
        return self.render_pose_expression(motion.pose[index], motion.expression[index], motion.gaze[index])

    def stream_frames(self, motion: MotionClip) -> Iterator[np.ndarray]:
        """Frames of `motion`, each rendered when requested (one warp a frame; two, cross-faded, in
        the band between the faces)."""
        for i in range(motion.num_frames):
            yield self.render_frame(motion, i)
