"""Track a talking-face video: landmarks per frame -> head pose + ARKit coefficients (the rig's
inverse), and the audio track. Used to personalise motion from a reference clip."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avatar.face import landmarks as L
from avatar.face.pose import estimate_pose
from avatar.face.rig import GAZE_SHIFT, JAW_DROP, face_frame
from avatar.motion.clip import ARKIT_INDEX, ARKIT_NAMES, FPS, MotionClip

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TrackedVideo:
    """motion at 25 fps (pose relative to the clip's median pose); audio (N,) float32 mono;
    face_found (T,) bool per motion frame (False frames carry interpolated motion)."""

    motion: MotionClip
    audio: np.ndarray
    sample_rate: int
    face_found: np.ndarray


def _features(lm: L.FaceLandmarks) -> np.ndarray:
    """Per-frame raw measurements in face units (eye distance), see FEATURES."""
    fr = face_frame(lm)
    q = fr.to_face(lm.xy)
    pose = estimate_pose(lm)
    lip = np.linalg.norm(q[13] - q[14])
    center = 0.5 * (q[L.MOUTH_LEFT] + q[L.MOUTH_RIGHT])
    mid_y = 0.5 * (q[13, 1] + q[14, 1])
    lift_l, lift_r = mid_y - q[L.MOUTH_LEFT, 1], mid_y - q[L.MOUTH_RIGHT, 1]
    width = np.linalg.norm(q[L.MOUTH_LEFT] - q[L.MOUTH_RIGHT])

    def ear(up, lo):
        w = np.linalg.norm(q[up[0]] - q[up[-1]])
        return float(np.mean(np.linalg.norm(q[list(up[2:-2])] - q[list(lo[2:-2])], axis=1)) / max(w, 1e-6))

    def brow(idx, eye):
        return float(np.mean(q[list(eye), 1]) - np.mean(q[list(idx), 1]))

    def iris(ir, up):
        c = 0.5 * (q[up[0]] + q[up[-1]])
        w = np.linalg.norm(q[up[0]] - q[up[-1]])
        return (q[ir[0]] - c) / max(w, 1e-6)

    g = 0.5 * (iris(L.LEFT_IRIS, L.LEFT_EYE_UPPER) + iris(L.RIGHT_IRIS, L.RIGHT_EYE_UPPER))
    cx, cy = 0.5 * (lm.xy[L.FOREHEAD] + lm.xy[L.CHIN])
    return np.array([
        pose.yaw, pose.pitch, pose.roll, cx, cy, lm.face_width,                 # 0-5
        lip, lift_l, lift_r, width,                                             # 6-9
        ear(L.LEFT_EYE_UPPER, L.LEFT_EYE_LOWER), ear(L.RIGHT_EYE_UPPER, L.RIGHT_EYE_LOWER),  # 10-11
        brow([336, 296], L.LEFT_EYE_UPPER), brow([300, 293], L.LEFT_EYE_UPPER),  # 12-13 inner, outer
        brow([107, 66], L.RIGHT_EYE_UPPER), brow([70, 63], L.RIGHT_EYE_UPPER),   # 14-15
        g[0], g[1], center[1],                                                  # 16-18
    ], np.float64)


def features_to_motion(feats: np.ndarray, fps: int = FPS) -> MotionClip:
    """(T, 19) per-frame features (all frames valid) -> MotionClip, normalised against the clip:
    neutral = the median (pose, smile, brows, width) or the resting percentile (jaw, eyes)."""
    t = len(feats)
    med = np.median(feats, 0)
    pose = np.zeros((t, 6), np.float32)
    pose[:, :3] = feats[:, :3] - med[:3]
    fw = med[5]
    pose[:, 3] = (feats[:, 3] - med[3]) / fw
    pose[:, 4] = (feats[:, 4] - med[4]) / fw
    pose[:, 5] = feats[:, 5] / fw
    ex = np.zeros((t, len(ARKIT_NAMES)), np.float32)

    def put(name, v):
        ex[:, ARKIT_INDEX[name]] = np.clip(v, 0.0, 1.0)

    jaw = (feats[:, 6] - np.percentile(feats[:, 6], 5)) / JAW_DROP
    put("jawOpen", jaw)
    for col, side in ((7, "Left"), (8, "Right")):
        lift = feats[:, col] - med[col]
        put(f"mouthSmile{side}", lift / 0.11)
        put(f"mouthFrown{side}", -lift / 0.10)
    narrow = (med[9] - feats[:, 9]) / med[9]
    put("mouthPucker", narrow / 0.25)
    put("mouthFunnel", narrow / 0.25 * np.clip(jaw * 3, 0, 1))
    put("mouthStretchLeft", -narrow / 0.2)
    put("mouthStretchRight", -narrow / 0.2)
    for col, side in ((10, "Left"), (11, "Right")):
        open_ = np.percentile(feats[:, col], 90)
        put(f"eyeBlink{side}", (open_ - feats[:, col]) / max(0.75 * open_, 1e-6))
        put(f"eyeWide{side}", (feats[:, col] - open_) / max(0.3 * open_, 1e-6))
    inner = 0.5 * (feats[:, 12] + feats[:, 14]) - 0.5 * (med[12] + med[14])
    put("browInnerUp", inner / 0.13)
    for inner_col, outer_col, side in ((12, 13, "Left"), (14, 15, "Right")):
        put(f"browOuterUp{side}", (feats[:, outer_col] - med[outer_col]) / 0.12)
        put(f"browDown{side}", (med[inner_col] - feats[:, inner_col]) / 0.09)
    gaze = np.stack([(feats[:, 16] - med[16]), (feats[:, 17] - med[17])], 1)
    gaze = np.clip(gaze / (np.array(GAZE_SHIFT) * 3.0), -1, 1).astype(np.float32)  # eye width ~ 1/3 unit
    return MotionClip(pose=pose, gaze=gaze, expression=ex, fps=fps)


def _resample(values: np.ndarray, src_fps: float, dst_fps: int) -> np.ndarray:
    t_src = np.arange(len(values)) / src_fps
    n = max(1, int(round(len(values) / src_fps * dst_fps)))
    t_dst = np.arange(n) / dst_fps
    return np.stack([np.interp(t_dst, t_src, values[:, k]) for k in range(values.shape[1])], 1)


def _read_audio(container) -> tuple[np.ndarray, int]:
    import av

    if not container.streams.audio:
        return np.zeros(0, np.float32), 16000
    stream = container.streams.audio[0]
    sr = int(stream.rate or 16000)
    res = av.AudioResampler(format="flt", layout="mono", rate=sr)
    chunks = []
    for frame in container.decode(stream):
        for out in res.resample(frame):
            chunks.append(out.to_ndarray().reshape(-1))
    for out in res.resample(None):
        chunks.append(out.to_ndarray().reshape(-1))
    return (np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)), sr


def track_video(path: str | Path) -> TrackedVideo:
    """Track every frame of a talking-face video (mediapipe video mode) and read its audio.

    Frames without a face get face_found False and motion interpolated from their neighbours.
    Raises PortraitError if no frame has a face. Takes ~10-15 ms per frame on one core.
    """
    import av

    feats, found = [], []
    with av.open(str(path)) as container:
        vstream = container.streams.video[0]
        fps = float(vstream.average_rate or FPS)
        L.reset_video_tracker()
        for frame in container.decode(vstream):
            faces = L.find_faces(frame.to_ndarray(format="rgb24"), video=True)
            found.append(bool(faces))
            feats.append(_features(faces[0]) if faces else None)
        L.reset_video_tracker()
    with av.open(str(path)) as container:
        audio, sr = _read_audio(container)
    ok = np.array(found, bool)
    if not ok.any():
        raise L.PortraitError(f"no face found in any frame of {path}")
    dim = len(next(f for f in feats if f is not None))
    arr = np.zeros((len(feats), dim))
    idx = np.flatnonzero(ok)
    good = np.stack([feats[i] for i in idx])
    for k in range(dim):
        arr[:, k] = np.interp(np.arange(len(feats)), idx, good[:, k])
    if abs(fps - FPS) > 1e-3:
        arr = _resample(arr, fps, FPS)
        ok = _resample(ok[:, None].astype(float), fps, FPS)[:, 0] > 0.5
    log.info("tracked %s: %d frames, face in %d", path, len(arr), int(ok.sum()))
    return TrackedVideo(features_to_motion(arr), audio, sr, ok)


def mouth_aperture(landmarks: L.FaceLandmarks | np.ndarray) -> float:
    """Inner-lip distance / outer eye-corner distance (see avatar.face.landmarks.mouth_aperture)."""
    return L.mouth_aperture(landmarks)
