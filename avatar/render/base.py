"""The renderer interface: motion in, RGB frames out."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import numpy as np

from avatar.motion.clip import MotionClip


class Renderer(Protocol):
    """Renders one avatar. Built for an avatar (portrait or stylized) by `make_renderer`."""

    size: int  # output frames are (size, size, 3) uint8 RGB

    def render_frame(self, motion: MotionClip, index: int) -> np.ndarray:
        """Frame `index` of `motion` as (size, size, 3) uint8 RGB."""
        ...

    def stream_frames(self, motion: MotionClip) -> Iterator[np.ndarray]:
        """Yield every frame of `motion` in order (rendered lazily, one at a time)."""
        ...
