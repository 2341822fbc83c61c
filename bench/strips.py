"""Frame strips of every built-in avatar: neutral, speaking, blinking and each emotion.

Run: python -m bench.strips  -> docs/strip_<avatar>.png
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import cv2
import numpy as np

from avatar.render import list_builtin_avatars, make_renderer
from avatar.render.demo import EMOTION_EXPRESSIONS, single_frame
from avatar.settings import RenderSettings

log = logging.getLogger(__name__)
DOCS = Path(__file__).resolve().parents[1] / "docs"

CELLS = [("neutral", {}, (0, 0, 0, 0, 0, 1)),
         ("speaking", {"jawOpen": 0.5}, (0, 0, 0, 0, 0, 1)),
         ("blinking", {"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0}, (0, 0, 0, 0, 0, 1))]
CELLS += [(name, EMOTION_EXPRESSIONS[name], (0, 0, 0, 0, 0, 1))
          for name in ("happy", "sad", "angry", "surprised", "fearful", "disgusted")]
CELLS += [("turn 0.35", {"jawOpen": 0.3}, (0.35, 0.1, 0.1, 0, 0, 1)),
          ("turn -0.35", {"jawOpen": 0.3}, (-0.35, -0.2, -0.15, 0, 0, 1))]


def strip(avatar: str, cell: int = 256, size: int = 512) -> np.ndarray:
    """(2 * cell + labels, ...) RGB grid of the labelled cells for one avatar."""
    renderer = make_renderer(avatar, RenderSettings(size=size))
    tiles = []
    for label, values, pose in CELLS:
        img = renderer.render_frame(single_frame(values, pose), 0)
        img = cv2.resize(img, (cell, cell), interpolation=cv2.INTER_AREA)
        bar = np.full((22, cell, 3), 255, np.uint8)
        cv2.putText(bar, label, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        tiles.append(np.vstack([bar, img]))
    cols = 6
    while len(tiles) % cols:
        tiles.append(np.full_like(tiles[0], 255))
    rows = [np.hstack(tiles[i:i + cols]) for i in range(0, len(tiles), cols)]
    return np.vstack(rows)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO)
    names = (argv or sys.argv[1:]) or list_builtin_avatars()
    DOCS.mkdir(exist_ok=True)
    for name in names:
        out = DOCS / f"strip_{name}.png"
        cv2.imwrite(str(out), cv2.cvtColor(strip(name), cv2.COLOR_RGB2BGR))
        log.info("wrote %s", out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
