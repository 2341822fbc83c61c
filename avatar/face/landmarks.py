"""Face landmarks from mediapipe FaceMesh (478 points with iris and relative depth).

The FaceMesh graphs are created lazily, once per thread, never at import.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from dataclasses import dataclass

import cv2
import numpy as np

log = logging.getLogger(__name__)


class PortraitError(ValueError):
    """A portrait or video frame cannot be used as an avatar; the message names the problem."""


# Landmark index groups (mediapipe FaceMesh topology). "Right"/"Left" are the SUBJECT's sides,
# as in ARKit names: the subject's right eye is on the image's left in a frontal photo.
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
             377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
LIPS_OUTER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
UPPER_INNER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)   # corner to corner
LOWER_INNER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
UPPER_OUTER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
LOWER_OUTER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
RIGHT_EYE_UPPER = (33, 246, 161, 160, 159, 158, 157, 173, 133)       # outer -> inner corner
RIGHT_EYE_LOWER = (33, 7, 163, 144, 145, 153, 154, 155, 133)
LEFT_EYE_UPPER = (263, 466, 388, 387, 386, 385, 384, 398, 362)
LEFT_EYE_LOWER = (263, 249, 390, 373, 374, 380, 381, 382, 362)
RIGHT_IRIS = (468, 469, 470, 471, 472)
LEFT_IRIS = (473, 474, 475, 476, 477)
RIGHT_BROW = (70, 63, 105, 66, 107, 46, 53, 52, 65, 55)              # outer -> inner, upper then lower
LEFT_BROW = (300, 293, 334, 296, 336, 276, 283, 282, 295, 285)
NOSE_TIP, CHIN, FOREHEAD = 1, 152, 10
RIGHT_EYE_OUTER, LEFT_EYE_OUTER = 33, 263
RIGHT_CHEEK_EDGE, LEFT_CHEEK_EDGE = 234, 454
MOUTH_RIGHT, MOUTH_LEFT = 61, 291

MIN_FACE_PX = 80          # smaller faces (eye-to-chin scale) are rejected
MAX_PROFILE_YAW = 0.6     # rad; beyond this the portrait is a profile


@dataclass(frozen=True, slots=True)
class FaceLandmarks:
    """478 face landmarks in pixels of the image they were found in.

    points: (478, 3) float32 x, y, z in pixels (z: relative depth, larger = farther, same scale as x).
    image_size: (height, width) of that image.
    """

    points: np.ndarray
    image_size: tuple[int, int]

    @property
    def xy(self) -> np.ndarray:
        return self.points[:, :2]

    @property
    def eye_distance(self) -> float:
        """Outer eye-corner distance in pixels (the face unit used by the rig)."""
        return float(np.linalg.norm(self.xy[LEFT_EYE_OUTER] - self.xy[RIGHT_EYE_OUTER]))

    @property
    def face_width(self) -> float:
        return float(np.linalg.norm(self.xy[LEFT_CHEEK_EDGE] - self.xy[RIGHT_CHEEK_EDGE]))

    @property
    def face_height(self) -> float:
        return float(np.linalg.norm(self.xy[CHIN] - self.xy[FOREHEAD]))

    def transformed(self, matrix: np.ndarray, image_size: tuple[int, int]) -> "FaceLandmarks":
        """Apply a 2x3 similarity `matrix` (x, y; z scaled by its scale) -> landmarks in a new image."""
        scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
        pts = self.points.copy()
        pts[:, :2] = self.xy @ matrix[:, :2].T + matrix[:, 2]
        pts[:, 2] *= scale
        return FaceLandmarks(pts.astype(np.float32), image_size)


_local = threading.local()


@contextlib.contextmanager
def _native_stderr_silenced():
    """Point file descriptor 2 at /dev/null for a moment.

    Workaround: mediapipe's C++ graph (absl logging, which ignores GLOG_minloglevel) prints
    warnings to stderr when a graph starts and on its first inference. Used only around those
    two one-time steps, so warmchat's own messages are not lost.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)


class _QuietFirstCall:
    """Wraps a mediapipe solution so that its first `process` runs with native stderr silenced."""

    def __init__(self, solution):
        self._solution = solution
        self._warm = False

    def process(self, image):
        if self._warm:
            return self._solution.process(image)
        with _native_stderr_silenced():
            result = self._solution.process(image)
        self._warm = True
        return result

    def close(self):
        self._solution.close()


def _mediapipe():
    """Import mediapipe with its native (glog/absl, TFLite) start-up notes silenced: they go to
    stderr, where they would bury warmchat's own messages."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import mediapipe as mp  # heavy: imported where used

    return mp


def _face_mesh(static: bool):
    """This thread's FaceMesh graph (static image mode or video mode), created on first use."""
    key = "static" if static else "video"
    mesh = getattr(_local, key, None)
    if mesh is None:
        with _native_stderr_silenced():
            mesh = _QuietFirstCall(_mediapipe().solutions.face_mesh.FaceMesh(
                static_image_mode=static, max_num_faces=2, refine_landmarks=True,
                min_detection_confidence=0.5, min_tracking_confidence=0.5))
        setattr(_local, key, mesh)
    return mesh


def reset_video_tracker() -> None:
    """Forget the video-mode tracker of this thread (call between unrelated videos)."""
    mesh = getattr(_local, "video", None)
    if mesh is not None:
        mesh.close()
        _local.video = None


def _face_detector():
    """This thread's full-range face detector (counts faces, finds small ones)."""
    det = getattr(_local, "detector", None)
    if det is None:
        with _native_stderr_silenced():
            det = _QuietFirstCall(_mediapipe().solutions.face_detection.FaceDetection(
                model_selection=1, min_detection_confidence=0.5))
        _local.detector = det
    return det


def detect_faces(image_rgb: np.ndarray) -> list[tuple[float, float, float, float]]:
    """Face boxes (x, y, w, h) in pixels from the full-range detector. If none is found, overlapping
    tiles of a third of the image are searched too, so a tiny face is reported as tiny, not missing."""
    h, w = image_rgb.shape[:2]

    def run(img, x0, y0, sx, sy):
        res = _face_detector().process(np.ascontiguousarray(img))
        return [(x0 + b.xmin * sx, y0 + b.ymin * sy, b.width * sx, b.height * sy)
                for b in (d.location_data.relative_bounding_box for d in (res.detections or []))]

    boxes = run(image_rgb, 0, 0, w, h)
    if boxes:
        return boxes
    tile = max(64, min(h, w) // 3)
    for y0 in range(0, max(1, h - tile // 2), tile // 2):
        for x0 in range(0, max(1, w - tile // 2), tile // 2):
            crop = image_rgb[y0:y0 + tile, x0:x0 + tile]
            ch, cw = crop.shape[:2]
            big = cv2.resize(crop, (384, 384), interpolation=cv2.INTER_CUBIC)
            found = run(big, x0, y0, cw, ch)
            if found:
                return found
    return []


def _to_pixels(face, height: int, width: int) -> np.ndarray:
    pts = np.array([(p.x, p.y, p.z) for p in face.landmark], np.float32)
    pts[:, 0] *= width
    pts[:, 1] *= height
    pts[:, 2] *= width  # mediapipe z uses the x scale
    return pts


def find_faces(image_rgb: np.ndarray, video: bool = False) -> list[FaceLandmarks]:
    """All faces mediapipe finds (at most 2) in an (H, W, 3) uint8 RGB image, no checks."""
    if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
        raise ValueError(f"expected (H, W, 3) uint8 RGB, got {image_rgb.shape} {image_rgb.dtype}")
    h, w = image_rgb.shape[:2]
    result = _face_mesh(static=not video).process(np.ascontiguousarray(image_rgb))
    faces = result.multi_face_landmarks or []
    return [FaceLandmarks(_to_pixels(f, h, w), (h, w)) for f in faces]


def detect_landmarks(image_rgb: np.ndarray) -> FaceLandmarks:
    """The single, frontal-enough, large-enough face of a portrait.

    Raises PortraitError for no face, several faces, a face smaller than MIN_FACE_PX, or a profile.
    """
    boxes = detect_faces(image_rgb)
    if len(boxes) > 1:
        raise PortraitError(f"{len(boxes)} faces found in the portrait: use a photo of one person")
    if boxes and boxes[0][2] < MIN_FACE_PX:
        raise PortraitError(
            f"the face is too small ({boxes[0][2]:.0f} px wide, need >= {MIN_FACE_PX}): "
            "use a closer or larger photo")
    faces = find_faces(image_rgb)
    if not faces and boxes:
        faces = _mesh_in_box(image_rgb, boxes[0])
    if not faces:
        raise PortraitError("no face found in the portrait: use a photo with one clearly visible face")
    if len(faces) > 1:
        raise PortraitError(f"{len(faces)} faces found in the portrait: use a photo of one person")
    face = faces[0]
    if face.face_height < MIN_FACE_PX:
        raise PortraitError(
            f"the face is too small ({face.face_height:.0f} px high, need >= {MIN_FACE_PX}): "
            "use a closer or larger photo")
    from avatar.face.pose import estimate_pose  # local: pose imports this module

    yaw = estimate_pose(face).yaw
    if abs(yaw) > MAX_PROFILE_YAW:
        raise PortraitError(
            f"the face is turned too far to the side (yaw {np.degrees(yaw):.0f} deg, profile): "
            "use a frontal photo")
    return face


def _mesh_in_box(image_rgb: np.ndarray, box) -> list[FaceLandmarks]:
    """FaceMesh on a square crop around a detector box (the mesh's own detector misses faces
    that are small relative to the image), mapped back to image pixels."""
    x, y, w, h = box
    side = 2.2 * max(w, h)
    cx, cy = x + w / 2, y + h / 2
    m = np.array([[512 / side, 0, 256 - cx * 512 / side], [0, 512 / side, 256 - cy * 512 / side]])
    crop = cv2.warpAffine(image_rgb, m, (512, 512), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    inv = cv2.invertAffineTransform(m)
    return [f.transformed(inv, image_rgb.shape[:2]) for f in find_faces(crop)]


def mouth_aperture(landmarks: FaceLandmarks | np.ndarray) -> float:
    """Inner-lip distance (13-14) divided by outer eye-corner distance (33-263); 0 = closed."""
    xy = landmarks.xy if isinstance(landmarks, FaceLandmarks) else np.asarray(landmarks)[:, :2]
    lip = np.linalg.norm(xy[13] - xy[14])
    eyes = np.linalg.norm(xy[LEFT_EYE_OUTER] - xy[RIGHT_EYE_OUTER])
    return float(lip / max(eyes, 1e-6))
