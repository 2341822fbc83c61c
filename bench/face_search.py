"""The fast inner loop for calibrating an emotion's face with the judges (bench/judges.py).

Clips are made once the way `warmchat render` makes them (bench/expression.Maker: the default
persona's voice and profile, the shipped motion generator); a candidate face (label-table
weights at full intensity, `emotion.labels` names: `mouthSmile` sets both sides, `jawOpen_` an
unpaired channel) is then put on the neutral clip's speech frames the way avatar.motion.shaping
puts a profile's face on them, with the emotion clip's own head motion, rendered with the warp
renderer and scored: FER2013 top-1 share and mean log-margin of the intended label, and dlib
identity distance to the photo. No clip is re-made per candidate (about 1 s per candidate and
avatar at 8 frames), so a coordinate search over a face's FACS channels takes minutes;
bench/expression.py confirms on fresh clips.

Run: python -m bench.face_search EMOTION CHANNEL [CHANNEL ...] [--avatars hopper astronaut]
     [--start '{"mouthFrown": 0.8}'] [--cap jawOpen=0.6] [--frames 8]
     -> the best face found and its scores on stdout
     python -m bench.face_search EMOTION --compare '[{...}, {...}]' --samples 2 --frames 16
     -> each face's scores on the same clips (made twice: the TTS samples and head motion differ;
        --samples also applies to the search)
"""

from __future__ import annotations

import argparse
import json
import logging

import numpy as np

from avatar.motion.clip import ARKIT_INDEX
from avatar.motion.shaping import AFFECT_COLUMNS, FLOOR_COLUMNS
from emotion import EmotionState
from emotion.profile import shown_strength

log = logging.getLogger(__name__)
GRID = (0.0, 0.15, 0.3, 0.45, 0.6, 0.8, 1.0)


def face_vector(face: dict[str, float], strength: float) -> np.ndarray:
    """(52,) ARKit weights of a label-table style face (see module doc) x strength."""
    out = np.zeros(len(ARKIT_INDEX), np.float32)
    for name, w in face.items():
        name = name.rstrip("_")
        names = [name] if name in ARKIT_INDEX else [name + "Left", name + "Right"]
        for n in names:
            out[ARKIT_INDEX[n]] = w * strength
    return out


def with_face(speech_expr: np.ndarray, face: np.ndarray) -> np.ndarray:
    """(T, 52) speech frames (a clip made with a neutral face) wearing `face` (52,): the affect
    channels are the face plus the clip's own raises about its median, the floor channels at least
    the face (as shaping.emotion_face does after its ramp)."""
    a, f = AFFECT_COLUMNS, FLOOR_COLUMNS
    out = speech_expr.copy()
    own = speech_expr[:, a] - np.median(speech_expr[:, a], axis=0, keepdims=True)
    out[:, a] = face[a] + np.maximum(own, 0.0)
    out[:, f] = np.maximum(out[:, f], face[f])
    return np.clip(out, 0.0, 1.0)


def bare_listening(maker, partner: EmotionState, seed: int = 11):
    """A 6 s listening clip made the way bench/expression.py makes it, but by a profile whose
    listener faces are empty: the model's own listening movement and the partner emotion's head,
    without any mirrored face (the candidate face is put on it)."""
    import dataclasses

    from avatar.pipeline import Listen
    from emotion import Emotion

    profile = maker.profile.model_copy(update={"listener": {e: {} for e in Emotion}})
    pipeline = dataclasses.replace(maker._pipeline(), profile=profile)
    return pipeline.make(Listen(6.0, partner, seed=seed)).motion


class FaceScorer:
    """Scores candidate faces of one emotion on fixed frames of real clips.

    listening: score a listener's face instead: frames of a listening clip to a partner feeling
    `emotion` at `intensity` (bare_listening), the face shown at the profile's listener strength
    (EmotionProfile.listener_strength: mirroring x intensity). maker: a bench.expression.Maker to
    share between scorers (default: a new one). seed: the speaking clips' motion seed (their head
    motion; FER's reading moves with the head's turn and tilt)."""

    def __init__(self, emotion: str, avatars: list[str], intensity: float = 0.8, frames: int = 8,
                 listening: bool = False, maker=None, seed: int = 3) -> None:
        from bench.expression import Maker
        from bench.judges import FERJudge, IdentityJudge, face_box

        self.emotion, self.strength = emotion, shown_strength(intensity)
        maker = maker or Maker()
        if listening:
            self.strength = maker.profile.listener_strength(EmotionState.of(emotion, intensity))
            neutral = own = bare_listening(maker, EmotionState.of(emotion, intensity))
        else:
            neutral = maker.speaking(EmotionState.of("neutral", intensity), seed=seed)[1]
            own = maker.speaking(EmotionState.of(emotion, intensity), seed=seed)[1]
        n = neutral.num_frames
        self.idx = np.linspace(n // 4, 3 * n // 4 - 1, frames).astype(int)
        self.speech = neutral.expression[self.idx]
        j = np.minimum((self.idx * own.num_frames) // n, own.num_frames - 1)
        self.pose, self.gaze = own.pose[j], own.gaze[j]
        self.fer, self.ident, self._box = FERJudge(), IdentityJudge(), face_box
        self.renderers = {av: maker.renderer(av) for av in avatars}
        self.refs = {}
        for av in avatars:
            photo = maker.photo(av)
            self.refs[av] = self.ident.embedding(photo, face_box(photo))

    def score(self, face: dict[str, float]) -> dict[str, dict[str, float]]:
        """Per avatar: top (FER top-1 share of the intended label), margin (mean log-odds of the
        intended label against the best other, clipped to +-4) and identity (max distance over
        the first and middle frame)."""
        from bench.judges import FER_LABELS

        k = FER_LABELS.index(self.emotion)
        expr = with_face(self.speech, face_vector(face, self.strength))
        out = {}
        for av, renderer in self.renderers.items():
            tops, margins, dist = [], [], []
            for t in range(len(expr)):
                frame = renderer.render_pose_expression(self.pose[t], expr[t], self.gaze[t])
                box = self._box(frame)
                if box is None:
                    continue
                lp = np.log(self.fer.probs(frame, box) + 1e-6)
                margins.append(float(np.clip(lp[k] - np.delete(lp, k).max(), -4, 4)))
                tops.append(int(np.argmax(lp) == k))
                if t in (0, len(expr) // 2):
                    dist.append(self.ident.distance(self.ident.embedding(frame, box), self.refs[av]))
            out[av] = {"top": float(np.mean(tops)) if tops else 0.0,
                       "margin": float(np.mean(margins)) if margins else -4.0,
                       "identity": max(dist) if dist else float("nan")}
        return out


def objective(scores: dict[str, dict[str, float]], identity_cap: float = 0.45, identity_weight: float = 10.0) -> float:
    """Mean over avatars of margin + 2 x top share (counted up to 0.8) - a penalty for identity over the cap."""
    return float(np.mean([s["margin"] + 2.0 * min(s["top"], 0.8) - identity_weight * max(0.0, s["identity"] - identity_cap)
                          for s in scores.values()]))


def search(scorers: list[FaceScorer], start: dict[str, float], channels: list[str], caps: dict[str, float],
           passes: int = 2) -> tuple[dict[str, float], dict]:
    """Coordinate search: each channel over GRID (up to its cap), keeping any change that raises
    the objective of the face's scores on all `scorers` (compare); stops after `passes` sweeps or
    a sweep without a gain."""
    face = dict(start)
    scores = compare(scorers, face)
    best = objective(scores)
    for _ in range(passes):
        gained = False
        for ch in channels:
            for v in GRID:
                if v > caps.get(ch.rstrip("_"), 1.0) + 1e-9 or abs(v - face.get(ch, 0.0)) < 1e-9:
                    continue
                cand = face | {ch: v}
                s = compare(scorers, cand)
                o = objective(s)
                if o > best + 1e-3:
                    best, face, scores, gained = o, cand, s, True
                    log.info("%s=%.2f -> %.2f %s", ch, v, o, s)
        if not gained:
            break
    return face, scores


def compare(scorers: list[FaceScorer], face: dict[str, float]) -> dict[str, dict[str, float]]:
    """Per avatar, `face` scored by each scorer (clips of different TTS samples: FER shares move
    by 0.1-0.2 between samples of one sentence): the mean top share and margin, the worst identity."""
    runs = [s.score(face) for s in scorers]
    return {av: {"top": float(np.mean([r[av]["top"] for r in runs])),
                 "margin": float(np.mean([r[av]["margin"] for r in runs])),
                 "identity": float(max(r[av]["identity"] for r in runs))} for av in runs[0]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("emotion")
    ap.add_argument("channels", nargs="*")
    ap.add_argument("--avatars", nargs="+", default=["hopper", "astronaut"])
    ap.add_argument("--start", default="", help="JSON face to start from (default: the label table's)")
    ap.add_argument("--cap", action="append", default=[], help="CHANNEL=MAX, e.g. jawOpen=0.6")
    ap.add_argument("--intensity", type=float, default=0.8)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--listening", action="store_true", help="a listener's face (see FaceScorer)")
    ap.add_argument("--score-only", action="store_true", help="score the start face, no search")
    ap.add_argument("--compare", default="", help="JSON list of faces: score each on the same clips, no search")
    ap.add_argument("--samples", type=int, default=1,
                    help="clips made this many times (the TTS samples and head motion differ), each face scored on all")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from emotion.labels import spec

    if args.start:
        start = json.loads(args.start)
    else:  # the table's face, both sides folded back into one name
        start = {}
        for name, w in spec(args.emotion).face.items():
            start[name[:-4] if name.endswith("Left") else name[:-5] if name.endswith("Right") else name + "_"] = w
    caps = {k: float(v) for k, v in (c.split("=") for c in args.cap)}
    from bench.expression import Maker

    maker = Maker()
    scorers = [FaceScorer(args.emotion, args.avatars, args.intensity, args.frames, args.listening, maker, seed=3 + k)
               for k in range(max(1, args.samples))]
    if args.compare:
        for face in json.loads(args.compare):
            print(json.dumps({"face": face, "scores": compare(scorers, face)}))  # noqa: T201
        return 0
    face, scores = (start, compare(scorers, start)) if args.score_only else search(scorers, start, args.channels, caps)
    print(json.dumps({"face": face, "scores": scores}, indent=1))  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
