"""Load a portrait photo, crop and align it to a square around the head, analyse it once."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from avatar.face.landmarks import (CHIN, FOREHEAD, LEFT_EYE_OUTER, RIGHT_EYE_OUTER, FaceLandmarks,
                                   PortraitError, detect_landmarks)
from avatar.face.pose import HeadPose, estimate_pose

log = logging.getLogger(__name__)

CROP_FACE_HEIGHTS = 2.5   # crop side in forehead-to-chin heights: head, hair and some shoulders
CROP_CENTER_DOWN = 0.12   # crop centre below the face centre, in crop sides (room for shoulders)


@dataclass(frozen=True, slots=True)
class Portrait:
    """A square, eye-level portrait and its analysis.

    image: (S, S, 3) uint8 RGB. landmarks: in this image's pixels. pose: the head pose in the photo.
    """

    image: np.ndarray
    landmarks: FaceLandmarks
    pose: HeadPose

    @property
    def size(self) -> int:
        return int(self.image.shape[0])


def load_image(path: str | Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB from an image file; PortraitError if it cannot be read."""
    data = np.fromfile(str(path), np.uint8) if Path(path).is_file() else None
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data is not None and data.size else None
    if bgr is None:
        raise PortraitError(f"cannot read an image from {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def crop_matrix(landmarks: FaceLandmarks, size: int) -> np.ndarray:
    """2x3 similarity taking the photo to a (size, size) crop, eyes level, face centred."""
    xy = landmarks.xy.astype(np.float64)
    eye = xy[LEFT_EYE_OUTER] - xy[RIGHT_EYE_OUTER]
    angle = np.degrees(np.arctan2(eye[1], eye[0]))
    center = 0.5 * (xy[FOREHEAD] + xy[CHIN])
    side = CROP_FACE_HEIGHTS * landmarks.face_height
    scale = size / side
    m = cv2.getRotationMatrix2D((float(center[0]), float(center[1])), angle, scale)
    # move the face centre to (size/2, size/2 - down)
    m[:, 2] += np.array([size / 2.0, size / 2.0 - CROP_CENTER_DOWN * size]) - center
    return m


def make_portrait(image_rgb: np.ndarray, size: int) -> Portrait:
    """Detect the face, crop and align to (size, size), re-detect landmarks on the crop."""
    first = detect_landmarks(image_rgb)
    m = crop_matrix(first, size)
    crop = cv2.warpAffine(image_rgb, m, (size, size), flags=cv2.INTER_AREA if m[0, 0] < 1 else cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_REPLICATE)
    try:
        lm = detect_landmarks(crop)
    except PortraitError:
        log.warning("re-detection on the crop failed; using the photo's landmarks")
        lm = first.transformed(m, (size, size))
    return Portrait(crop, lm, estimate_pose(lm))


def load_portrait(source: str | Path | np.ndarray, size: int, cache_dir: str | Path | None = None) -> Portrait:
    """A Portrait from an image path or an RGB array, analysed once per (image, size).

    With `cache_dir`, the crop and its landmarks are stored as an .npz keyed by the image's hash,
    so building a renderer for the same avatar again skips face detection.
    """
    image = load_image(source) if not isinstance(source, np.ndarray) else source
    cache = None
    if cache_dir is not None:
        digest = hashlib.sha1(image.tobytes() + str(image.shape).encode()).hexdigest()[:16]
        cache = Path(cache_dir) / f"portrait_{digest}_{size}.npz"
        if cache.is_file():
            with np.load(cache) as z:
                lm = FaceLandmarks(z["points"], (size, size))
                return Portrait(z["image"], lm, estimate_pose(lm))
    portrait = make_portrait(image, size)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp.npz")
        np.savez(tmp, image=portrait.image, points=portrait.landmarks.points)
        tmp.replace(cache)
    return portrait
