"""Motion import/export (Live Link Face CSV, JSON) and clip concatenation/slicing helpers."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np

from avatar.motion.clip import ARKIT_NAMES, FPS, GAZE_NAMES, POSE_NAMES, MotionClip, Role

# Live Link Face "mocap CSV" layout: Timecode, BlendShapeCount (61 = 52 shapes + 9 rotations),
# the 52 ARKit shapes in PascalCase, then head and eye rotations.
ROTATION_COLUMNS: tuple[str, ...] = (
    "HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
    "RightEyeYaw", "RightEyePitch", "RightEyeRoll",
)
CSV_HEADER: tuple[str, ...] = (
    ("Timecode", "BlendShapeCount")
    + tuple(n[0].upper() + n[1:] for n in ARKIT_NAMES)
    + ROTATION_COLUMNS
)
# Full gaze (+-1) maps to this eye rotation in radians (about 25 degrees).
GAZE_TO_EYE_RAD = 0.44


def _timecode(frame: int, fps: int) -> str:
    """HH:MM:SS:FF.sss with FF counted at `fps` (as Live Link Face writes it)."""
    seconds, ff = divmod(frame, fps)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h:02d}:{m:02d}:{s:02d}:{ff:02d}.000"


def to_csv(clip: MotionClip) -> str:
    """The clip as Live Link Face CSV text. Head rotations in radians (yaw, pitch, roll); eye yaw and
    pitch from gaze; eye roll 0. Translation and scale have no column and are not written."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_HEADER)
    eye_yaw = clip.gaze[:, 0] * GAZE_TO_EYE_RAD
    eye_pitch = clip.gaze[:, 1] * GAZE_TO_EYE_RAD
    for t in range(clip.num_frames):
        rot = (clip.pose[t, 0], clip.pose[t, 1], clip.pose[t, 2],
               eye_yaw[t], eye_pitch[t], 0.0, eye_yaw[t], eye_pitch[t], 0.0)
        w.writerow([_timecode(t, clip.fps), len(ARKIT_NAMES) + len(ROTATION_COLUMNS)]
                   + [f"{v:.5f}" for v in clip.expression[t]] + [f"{v:.5f}" for v in rot])
    return out.getvalue()


def to_json(clip: MotionClip) -> str:
    """Lossless JSON: fps, role, column names and per-frame arrays (meta kept if JSON-able)."""
    return json.dumps({
        "fps": clip.fps,
        "role": clip.role.value,
        "pose_names": list(POSE_NAMES),
        "gaze_names": list(GAZE_NAMES),
        "expression_names": list(ARKIT_NAMES),
        "pose": np.round(clip.pose, 6).tolist(),
        "gaze": np.round(clip.gaze, 6).tolist(),
        "expression": np.round(clip.expression, 6).tolist(),
        "meta": {k: v for k, v in clip.meta.items() if isinstance(v, (str, int, float, bool))},
    })


def from_json(text: str) -> MotionClip:
    """Inverse of `to_json`.

    Raises:
        ValueError: not a motion JSON, columns differ from this version's, or values are not finite.
    """
    try:
        d = json.loads(text)
        if list(d["expression_names"]) != list(ARKIT_NAMES) or list(d["pose_names"]) != list(POSE_NAMES):
            raise ValueError("motion JSON columns do not match this version's ARKIT_NAMES/POSE_NAMES")
        t = len(d["pose"])
        arrays = [np.asarray(d[k], np.float32).reshape(t, n)
                  for k, n in (("pose", len(POSE_NAMES)), ("gaze", 2), ("expression", len(ARKIT_NAMES)))]
        clip = MotionClip(*arrays, fps=int(d["fps"]), role=Role(d["role"]), meta=dict(d.get("meta", {})))
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a motion JSON: {exc}") from exc
    if not all(np.isfinite(a).all() for a in (clip.pose, clip.gaze, clip.expression)):
        raise ValueError("motion JSON holds non-finite values")
    return clip


def concat(clips: list[MotionClip]) -> MotionClip:
    """Clips joined in time (same fps; role and meta of the first).

    Raises:
        ValueError: empty list or differing fps.
    """
    if not clips:
        raise ValueError("concat needs at least one clip")
    if len({c.fps for c in clips}) != 1:
        raise ValueError("concat: clips differ in fps")
    return MotionClip(
        pose=np.concatenate([c.pose for c in clips]),
        gaze=np.concatenate([c.gaze for c in clips]),
        expression=np.concatenate([c.expression for c in clips]),
        fps=clips[0].fps, role=clips[0].role, meta=dict(clips[0].meta),
    )


def slice_clip(clip: MotionClip, start: int, stop: int | None = None) -> MotionClip:
    """Frames [start, stop) of `clip` (Python slice semantics, copies)."""
    s = slice(start, stop)
    return MotionClip(clip.pose[s].copy(), clip.gaze[s].copy(), clip.expression[s].copy(),
                      fps=clip.fps, role=clip.role, meta=dict(clip.meta))


def slice_seconds(clip: MotionClip, start_s: float, stop_s: float | None = None) -> MotionClip:
    """Frames between two times in seconds (start rounded down, stop rounded up)."""
    stop = None if stop_s is None else int(math.ceil(stop_s * clip.fps))
    return slice_clip(clip, int(math.floor(start_s * clip.fps)), stop)


def num_frames_for(seconds: float, fps: int = FPS) -> int:
    """Frames needed to cover `seconds` (at least 1)."""
    return max(1, int(math.ceil(seconds * fps - 1e-9)))
