"""Files the UI writes (personas, profiles, portraits) and the portrait check before saving one.

Every write goes to a temporary file in the same folder and is then renamed over the target, so a
failed save leaves the old file as it was.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
MIN_FACE_PX = 64  # a face narrower than this cannot be animated legibly


class PortraitError(ValueError):
    """The picture cannot be an avatar (no face, several faces, tiny face, profile view)."""


def check_name(name: str) -> str:
    """A file-safe record name (lowercase letters, digits, - and _; 1-40 characters).

    Raises ValueError with a message for people.
    """
    name = (name or "").strip()
    if not _NAME.match(name):
        raise ValueError("use 1-40 lowercase letters, digits, - or _ (starting with a letter or digit)")
    return name


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temporary file and a rename (the old file survives a failure)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def check_portrait(path: str | Path, render_settings) -> None:
    """Refuse a portrait the renderer cannot animate.

    Uses the renderer's own portrait analysis (`avatar.render.make_renderer`) when it is
    available; until then a mediapipe face detection check (count, size, frontal view).

    Raises:
        PortraitError (or the renderer's own PortraitError): the reason, for people.
    """
    try:
        from avatar.render import make_renderer
    except ImportError:
        make_renderer = None
    if make_renderer is not None:
        make_renderer(str(path), render_settings)  # raises the renderer's PortraitError
        return
    _check_with_mediapipe(_load_rgb(path))


def _load_rgb(path: str | Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (OSError, UnidentifiedImageError) as exc:
        raise PortraitError(f"cannot read the picture ({exc})") from exc


def _check_with_mediapipe(rgb: np.ndarray) -> None:
    try:
        import mediapipe as mp
    except ImportError as exc:  # no detector at all: say so rather than accept blindly
        raise PortraitError("cannot check the portrait: install mediapipe (pip install --no-deps "
                            "mediapipe==0.10.21)") from exc
    h, w = rgb.shape[:2]
    with mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5) as det:
        faces = det.process(rgb).detections or []
    if not faces:
        raise PortraitError("no face found in the picture: use a photo with one face, looking at the camera")
    if len(faces) > 1:
        raise PortraitError(f"{len(faces)} faces found: use a photo with exactly one face")
    box = faces[0].location_data.relative_bounding_box
    if box.width * w < MIN_FACE_PX:
        raise PortraitError(f"the face is too small ({box.width * w:.0f} px wide; at least {MIN_FACE_PX} px): "
                            "crop closer to the face")
    # keypoints: 0 right eye, 1 left eye, 2 nose tip (relative coordinates)
    kp = faces[0].location_data.relative_keypoints
    left, right, nose = min(kp[0].x, kp[1].x), max(kp[0].x, kp[1].x), kp[2].x
    eye_span = right - left
    if eye_span <= 0 or not (left + 0.15 * eye_span <= nose <= right - 0.15 * eye_span):
        raise PortraitError("the face is seen from the side: use a frontal photo")
