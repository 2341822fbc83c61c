"""Track a talking-face video: landmarks per frame -> head pose + ARKit coefficients (the rig's
inverse), and the audio track. Used to personalise motion from a reference clip."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avatar.face import landmarks as L
from avatar.face.pose import estimate_pose
from avatar.face.rig import GAZE_SHIFT, JAW_DROP, face_frame
from avatar.motion.clip import ARKIT_INDEX, ARKIT_NAMES, FPS, MotionClip

log = logging.getLogger(__name__)


class VideoError(L.PortraitError):
    """A video cannot be used (not a video, no video track, too little face); the message says why."""


@dataclass(frozen=True, slots=True)
class TrackingQuality:
    """How well a video was tracked: source frames, share with a face, landmark jitter (percent of
    the eye-corner distance, see `tracking_quality`), duration in seconds."""

    frames: int
    face_fraction: float
    jitter_pct: float
    seconds: float


@dataclass(frozen=True, slots=True)
class TrackedVideo:
    """A tracked video.

    motion: at 25 fps (pose relative to the clip's median pose). audio: (N,) float32 mono (empty
    when the file has no audio track). face_found: (T,) bool per motion frame (False frames carry
    interpolated motion). landmarks: (T_src, 478, 3) float32 pixels per SOURCE frame, NaN where no
    face. source_fps, frame_size (H, W): of the video. quality: see TrackingQuality.
    """

    motion: MotionClip
    audio: np.ndarray
    sample_rate: int
    face_found: np.ndarray
    landmarks: np.ndarray
    source_fps: float
    frame_size: tuple[int, int]
    quality: TrackingQuality


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


@contextlib.contextmanager
def open_video(path: str | Path):
    """An open PyAV container with at least one video stream, as a context manager.

    Raises:
        FileNotFoundError: no such file.
        VideoError: the file is not a media file ffmpeg can read, or it has no video track (an
            audio-only file such as a .wav or .mp3).
    """
    import av

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such video file: {path}")
    try:
        container = av.open(str(path))
    except av.FFmpegError as exc:
        raise VideoError(f"{path.name} is not a video file that can be read "
                         f"({getattr(exc, 'strerror', None) or exc}): use an mp4, mov, mkv or webm video") from exc
    try:
        if not container.streams.video:
            kind = "an audio-only file" if container.streams.audio else "no video track"
            raise VideoError(f"{path.name} is {kind}: a video of a face is needed")
        yield container
    finally:
        container.close()


def iter_frames(path: str | Path, max_frames: int | None = None) -> Iterator[np.ndarray]:
    """Decode the first video stream of `path` into (H, W, 3) uint8 RGB frames, in order.

    Raises what `open_video` raises, and VideoError when decoding fails part-way.
    """
    import av

    with open_video(path) as container:
        k = 0
        try:
            for k, frame in enumerate(container.decode(container.streams.video[0])):
                if max_frames is not None and k >= max_frames:
                    return
                yield frame.to_ndarray(format="rgb24")
        except av.FFmpegError as exc:
            raise VideoError(f"{Path(path).name}: decoding failed at frame {k} ({exc})") from exc


def video_fps(path: str | Path) -> float:
    """Frames per second of the first video stream (25 if the file does not say)."""
    with open_video(path) as container:
        rate = container.streams.video[0].average_rate
    return float(rate) if rate else float(FPS)


def track_video(path: str | Path, min_face_seconds: float = 0.0) -> TrackedVideo:
    """Track every frame of a talking-face video (mediapipe video mode) and read its audio.

    Frames without a face get face_found False and motion interpolated from their neighbours.
    A video without an audio track gives an empty `audio` (a silent clip is still a style).
    Takes ~10-15 ms per frame on one core.

    Raises:
        FileNotFoundError, VideoError: see `open_video` (not a video, audio-only).
        PortraitError: no frame has a face.
        VideoError: the face is visible for less than `min_face_seconds`.
    """
    fps = video_fps(path)
    feats, points = [], []
    size = (0, 0)
    L.reset_video_tracker()
    try:
        for img in iter_frames(path):
            size = img.shape[:2]
            faces = L.find_faces(img, video=True)
            feats.append(_features(faces[0]) if faces else None)
            points.append(faces[0].points if faces else None)
    finally:
        L.reset_video_tracker()
    with open_video(path) as container:
        audio, sr = _read_audio(container)
    ok = np.array([f is not None for f in feats], bool)
    if len(feats) < 3 or len(feats) / fps < min_face_seconds:
        raise VideoError(f"{Path(path).name} is too short: {len(feats)} frame(s), {len(feats) / fps:.1f} s "
                         f"(a still image?); a video of at least {max(min_face_seconds, 3 / fps):.0f} s is needed")
    if not ok.any():
        raise L.PortraitError(f"no face found in any of the {len(feats)} frames of {Path(path).name}")
    face_s = ok.sum() / fps
    if face_s < min_face_seconds:
        raise VideoError(f"{Path(path).name}: the face is visible for only {face_s:.1f} s of "
                         f"{len(ok) / fps:.1f} s; need at least {min_face_seconds:.0f} s")
    lms = np.full((len(feats), 478, 3), np.nan, np.float32)
    for k, pts in enumerate(points):
        if pts is not None:
            lms[k] = pts[:478]
    dim = len(next(f for f in feats if f is not None))
    arr = np.zeros((len(feats), dim))
    idx = np.flatnonzero(ok)
    good = np.stack([feats[i] for i in idx])
    for k in range(dim):
        arr[:, k] = np.interp(np.arange(len(feats)), idx, good[:, k])
    src_ok = ok
    if abs(fps - FPS) > 1e-3:
        arr = _resample(arr, fps, FPS)
        ok = _resample(ok[:, None].astype(float), fps, FPS)[:, 0] > 0.5
    quality = tracking_quality(lms, fps)
    log.info("tracked %s: %d frames, face in %.0f%%, jitter %.2f%% of eye distance", path, len(src_ok),
             100 * quality.face_fraction, quality.jitter_pct)
    return TrackedVideo(features_to_motion(arr), audio, sr, ok, lms, fps, size, quality)


# Rigid points (eye corners, nose bridge and tip, forehead, cheek edges, chin) for the jitter figure.
_RIGID = (33, 133, 263, 362, 168, 6, 1, 10, 234, 454, 152)


def tracking_quality(landmarks: np.ndarray, fps: float) -> TrackingQuality:
    """Face-found share and landmark jitter of (T, 478, >=2) landmarks (NaN where no face).

    Jitter: for rigid points, the deviation of each position from the mean of its two temporal
    neighbours, |x_t - (x_t-1 + x_t+1) / 2|, divided by the frame's eye-corner distance; the median
    over frames (so real quick turns count little), x sqrt(2/3) so that it estimates the standard
    deviation of white landmark noise, in percent of the eye distance.
    """
    xy = np.asarray(landmarks, np.float64)[:, :, :2]
    found = np.isfinite(xy).all(axis=(1, 2))
    t = len(xy)
    jitter = float("nan")
    if t >= 3:
        triple = found[:-2] & found[1:-1] & found[2:]
        if triple.any():
            p = xy[:, _RIGID]
            eye = np.linalg.norm(p[:, 2] - p[:, 0], axis=1)                       # (T,) 263 - 33
            dev = np.linalg.norm(p[1:-1] - 0.5 * (p[:-2] + p[2:]), axis=2).mean(1) / eye[1:-1]
            jitter = float(np.median(dev[triple]) * np.sqrt(2 / 3) * 100)
    return TrackingQuality(int(t), float(found.mean()) if t else 0.0, jitter, float(t / fps))


def mouth_aperture(landmarks: L.FaceLandmarks | np.ndarray) -> float:
    """Inner-lip distance / outer eye-corner distance (see avatar.face.landmarks.mouth_aperture)."""
    return L.mouth_aperture(landmarks)


@dataclass(frozen=True, slots=True)
class PortraitPick:
    """The frame chosen as a portrait: its source-frame index, score (lower is better, see
    `portrait_scores`) and (H, W, 3) uint8 RGB image."""

    index: int
    score: float
    image: np.ndarray


def portrait_scores(tracked: TrackedVideo) -> np.ndarray:
    """(T_src,) how unsuited each source frame is as a portrait (lower is better; inf: no face).

    Sum of: head turn |yaw| + |pitch| + |roll| in radians x 2; closed eyes (1 - eye opening /
    the clip's 90th percentile, per eye, at least 0) x 2; open mouth (inner-lip gap / 0.05 face
    units); a smile or frown (mouth-corner lift away from the clip's median / 0.05); raised or
    lowered brows (away from the median / 0.05); eyes looking away (iris offset from the eye's
    centre / 0.1 eye widths). Face units: the outer eye-corner distance.
    """
    h, w = tracked.frame_size
    feats = np.full((len(tracked.landmarks), 19), np.nan)
    for k, pts in enumerate(tracked.landmarks):
        if np.isfinite(pts).all():
            feats[k] = _features(L.FaceLandmarks(np.asarray(pts, np.float32), (h, w)))
    ok = np.isfinite(feats).all(1)
    scores = np.full(len(feats), np.inf)
    if not ok.any():
        return scores
    f = feats[ok]
    med = np.median(f, 0)
    open_ = np.percentile(f[:, 10:12], 90, 0)
    turn = np.abs(f[:, 0:3]).sum(1) * 2.0
    eyes = np.clip(1.0 - f[:, 10:12] / np.maximum(open_, 1e-6), 0, None).sum(1) * 2.0
    mouth = f[:, 6] / 0.05
    lift = np.abs(f[:, 7:9] - med[7:9]).sum(1) / 0.05
    brows = np.abs(f[:, 12:16] - med[12:16]).mean(1) / 0.05
    gaze = np.linalg.norm(f[:, 16:18], axis=1) / 0.1
    scores[ok] = turn + eyes + mouth + lift + brows + gaze
    return scores


def read_frame(path: str | Path, index: int) -> np.ndarray:
    """Source frame `index` of a video as (H, W, 3) uint8 RGB. Raises VideoError if there is none."""
    for k, img in enumerate(iter_frames(path, max_frames=index + 1)):
        if k == index:
            return img
    raise VideoError(f"{Path(path).name} has no frame {index}")


def _sharpness(image: np.ndarray, points: np.ndarray) -> float:
    """Variance of the Laplacian over the face's bounding box, per unit of face size (motion blur)."""
    import cv2

    x0, y0 = np.floor(points[:, :2].min(0)).astype(int)
    x1, y1 = np.ceil(points[:, :2].max(0)).astype(int)
    crop = image[max(y0, 0):max(y1, 1), max(x0, 0):max(x1, 1)]
    if crop.size == 0:
        return 0.0
    grey = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY)
    grey = cv2.resize(grey, (128, 128), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def best_portrait_frame(path: str | Path, tracked: TrackedVideo, frames: slice | None = None,
                        candidates: int = 5) -> PortraitPick:
    """The clip's best portrait frame: among the `candidates` lowest `portrait_scores` (within
    `frames`, default all), the sharpest face. Raises PortraitError when no frame has a face."""
    scores = portrait_scores(tracked)
    allowed = np.zeros(len(scores), bool)
    allowed[frames if frames is not None else slice(None)] = True
    scores = np.where(allowed, scores, np.inf)
    order = [int(i) for i in np.argsort(scores)[:candidates] if np.isfinite(scores[i])]
    if not order:
        raise L.PortraitError(f"no frame of {Path(path).name} has a face to use as a portrait")
    images = {}
    for k, img in enumerate(iter_frames(path, max_frames=max(order) + 1)):
        if k in order:
            images[k] = img
    best = max(order, key=lambda i: _sharpness(images[i], tracked.landmarks[i]) if i in images else -1.0)
    return PortraitPick(best, float(scores[best]), images[best])


def save_best_portrait(path: str | Path, tracked: TrackedVideo, out: str | Path) -> PortraitPick:
    """Pick the best portrait frame (`best_portrait_frame`) and write it as an image file `out`
    (PNG/JPEG by suffix) that a persona can use as its avatar.

    Raises PortraitError when the face in it is unusable as a portrait (too small, profile: the
    message says which), VideoError/OSError when it cannot be written.
    """
    import cv2

    pick = best_portrait_frame(path, tracked)
    L.detect_landmarks(pick.image)               # the same checks a portrait photo gets
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), cv2.cvtColor(pick.image, cv2.COLOR_RGB2BGR)):
        raise VideoError(f"cannot write the portrait to {out} (use a .png or .jpg name)")
    return pick
