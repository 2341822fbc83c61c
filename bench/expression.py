"""Expression benchmark: does the rendered face show the feeling, stay the same person, and move?

Clips are made the way `warmchat render` makes them (the default persona's voice and emotion
profile, the shipped motion generator, the warp renderer), one per emotion and avatar, and judged
on the rendered frames by models that did not make them (bench/judges.py):

- confusion: per avatar a 7x7 table, intended emotion x FER2013 top-1 share over the middle half
  of the clip (every 2nd frame);
- identity: dlib ResNet embedding distance of middle frames to the portrait photo, per emotion (the
  target); apart, to the relaxed portrait the renderer animates (a smiling photo is relaxed
  before any emotion is shown: this one leaves that deliberate change out);
- landmark shift: a second judge of the same frames (the faces are tuned against FER2013 itself,
  bench/face_search.py): mediapipe landmarks re-detected on them, each emotion's median brow
  height, eye opening, mouth width, corner lift and aperture minus neutral's, in eye distances;
- head motion: yaw/pitch re-measured from mediapipe landmarks on every rendered frame (standard
  deviation in degrees, angular speed in deg/s), speaking and listening; and the ratio of the
  rendered to the commanded rotation (least-squares slope of measured on commanded yaw/pitch);
  while speaking also the speed's floor, the same clip re-measured with its head held still (what
  the landmarks' jitter and the estimator's following the mouth add), and the speed without it;
- mouth (the head and mouth figures are measured in bench/rendered_motion.py): aperture (inner-lip
  gap / eye-corner distance) in the speaker's pauses (>= 300 ms): median
  absolute deviation.

- listening: per partner emotion, a listening clip's FER top-1 share (does the listener's face
  read as the partner's feeling, mirrored?) and identity; listening head motion.

Run: python -m bench.expression [--avatars hopper astronaut] [--quick] [--listening-only]
     -> table on stdout, bench/results/expression.json (--listening-only: the listening and lip
     figures alone, in bench/results/expression_listening.json)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path

import numpy as np

from avatar.motion.clip import MotionClip
from bench.judges import FER_LABELS, FERJudge, IdentityJudge, face_box
from bench.rendered_motion import head_figures, lip_sync, pause_mad, still_head_speed, track_pose
from emotion import Emotion, EmotionState
from bench.machine import cpu_model

log = logging.getLogger(__name__)
RESULTS = Path(__file__).resolve().parent / "results"
TEXT = "I hear you, and I want you to know that this really matters to me today."
LABELS = [e.value for e in Emotion]
TTS_SEED = 1   # piper's noise is seeded (avatar.settings.TTSSettings.piper_seed): the same clips every run


class Maker:
    """The pieces `warmchat render` uses (app settings defaults, app.media.AvatarComponents and
    the avatar pipeline's own Say/Listen requests), built once. The piper voice's noise is seeded
    (TTS_SEED), so clips made in the same order are the same every run: without it, piper speaks
    each run differently and FER shares move by 0.1-0.2 between runs of the same faces."""

    def __init__(self, generator: str = "", tts: str = "") -> None:
        from app.media import AvatarComponents
        from app.personas import get_persona
        from app.settings import Settings

        settings = Settings()
        motion = settings.motion.model_copy(update={"generator": generator}) if generator else settings.motion
        seeded = settings.tts.model_copy(update={"piper_seed": TTS_SEED})
        self.settings = settings.model_copy(update={"motion": motion, "tts": seeded})
        persona = get_persona(self.settings.persona, self.settings.personas_dir)
        if tts:
            persona = persona.model_copy(update={"voice": persona.voice.model_copy(update={"backend": tts})})
        self.persona = persona
        self.components = AvatarComponents(self.settings)
        self.profile = self.components.profile(persona)

    def _pipeline(self, avatar: str | None = None):
        persona = self.persona if avatar is None else self.persona.model_copy(update={"avatar": avatar})
        return self.components.pipeline(persona)

    def speaking(self, emotion: EmotionState, seed: int = 0):
        """(speech, motion) of the benchmark sentence said with `emotion`."""
        from avatar.pipeline import Say

        seg = self._pipeline().make(Say(TEXT, emotion, seed=seed))
        return seg.speech, seg.motion

    def listening(self, partner: EmotionState, seconds: float = 6.0, seed: int = 0) -> MotionClip:
        from avatar.pipeline import Listen

        return self._pipeline().make(Listen(seconds, partner, seed=seed)).motion

    def photo(self, avatar: str) -> np.ndarray:
        """The avatar's portrait crop as the photo shows it (before relaxing its expression)."""
        from avatar.face.portrait import load_portrait
        from avatar.render import resolve_avatar

        return load_portrait(resolve_avatar(avatar), self.settings.render.size).image

    def renderer(self, avatar: str):
        return self._pipeline(avatar).renderer


def middle(n: int, step: int = 2) -> range:
    return range(n // 4, max(n // 4 + 1, 3 * n // 4), step)


def face_geometry(lm) -> dict[str, float]:
    """Expression geometry of re-detected mediapipe landmarks, in eye-corner distances (IOD) of
    the face frame (x along the eyes, y down): brow height above the upper lid (inner and outer
    brow), eye opening, mouth width, mouth-corner lift above the lip centre, lip aperture."""
    from avatar.face import landmarks as L
    from avatar.face.rig import face_frame

    q = face_frame(lm).to_face(lm.xy)
    lid = 0.5 * (q[L.RIGHT_EYE_UPPER[4], 1] + q[L.LEFT_EYE_UPPER[4], 1])
    inner = 0.5 * (q[107, 1] + q[336, 1])
    outer = 0.5 * (q[70, 1] + q[300, 1])
    eye = 0.5 * ((q[L.RIGHT_EYE_LOWER[4], 1] - q[L.RIGHT_EYE_UPPER[4], 1])
                 + (q[L.LEFT_EYE_LOWER[4], 1] - q[L.LEFT_EYE_UPPER[4], 1]))
    mid = 0.5 * (q[13, 1] + q[14, 1])
    return {"brow_inner": float(lid - inner), "brow_outer": float(lid - outer), "eye_open": float(eye),
            "mouth_width": float(np.linalg.norm(q[L.MOUTH_LEFT] - q[L.MOUTH_RIGHT])),
            "corner_lift": float(mid - 0.5 * (q[L.MOUTH_LEFT, 1] + q[L.MOUTH_RIGHT, 1])),
            "aperture": float(q[14, 1] - q[13, 1])}


def judge_expression(renderer, motion: MotionClip, fer: FERJudge, ident: IdentityJudge | None = None,
                     ref: np.ndarray | None = None, ref_rest: np.ndarray | None = None
                     ) -> tuple[dict[str, float], list[float], dict[str, float], list[float]]:
    """(FER top-1 share per label over the middle frames, identity distances of 3 middle frames to
    `ref` (none without it), median face_geometry of the middle frames (a second judge of the same frames:
    mediapipe), and the same 3 frames' distances to `ref_rest` (empty without it))."""
    from avatar.face import landmarks as L

    counts = dict.fromkeys(LABELS, 0)
    dist, box, geo, dist_rest = [], None, [], []
    idx = list(middle(motion.num_frames))
    for k, i in enumerate(idx):
        frame = renderer.render_frame(motion, i)
        faces = L.find_faces(frame)
        if faces:
            geo.append(face_geometry(faces[0]))
        box = face_box(frame) or box
        if box is None:
            continue
        counts[FER_LABELS[int(np.argmax(fer.probs(frame, box)))]] += 1
        if ident is not None and ref is not None and k in (0, len(idx) // 2, len(idx) - 1):
            emb = ident.embedding(frame, box)
            dist.append(ident.distance(emb, ref))
            if ref_rest is not None:
                dist_rest.append(ident.distance(emb, ref_rest))
    total = max(sum(counts.values()), 1)
    geometry = {key: float(np.median([g[key] for g in geo])) for key in geo[0]} if geo else {}
    return {k: v / total for k, v in counts.items()}, dist, geometry, dist_rest


def listening_expression(maker: Maker, renderer, fer: FERJudge, ident: IdentityJudge | None = None,
                         ref: np.ndarray | None = None, partner_intensity: float = 0.8) -> tuple[dict, dict]:
    """Per partner emotion, 6 s listening clips (the profile's listener faces at its mirroring):
    (FER top-1 share per label over the middle frames, max identity distance to `ref` over 3 of
    them; NaN without `ident`)."""
    confusion, identity = {}, {}
    for e in LABELS:
        motion = maker.listening(EmotionState.of(e, partner_intensity), seed=11)
        counts = dict.fromkeys(LABELS, 0)
        idx = list(middle(motion.num_frames, 3))
        dist = []
        for k, i in enumerate(idx):
            frame = renderer.render_frame(motion, i)
            box = face_box(frame)
            if box is None:
                continue
            counts[FER_LABELS[int(np.argmax(fer.probs(frame, box)))]] += 1
            if ident is not None and ref is not None and k in (0, len(idx) // 2, len(idx) - 1):
                dist.append(ident.distance(ident.embedding(frame, box), ref))
        total = max(sum(counts.values()), 1)
        confusion[e] = {k: v / total for k, v in counts.items()}
        identity[e] = float(max(dist)) if dist else float("nan")
    return confusion, identity


def listening_figures(maker: Maker, renderer, fer: FERJudge, ident: IdentityJudge, ref: np.ndarray) -> dict:
    """The listener's figures: head motion (neutral, happy, sad partners), the mirror's confusion
    table, identity, and how many partner emotions FER reads as mirrored (top-1 = the partner's)."""
    listen = {}
    for e in ("neutral", "happy", "sad"):
        motion = maker.listening(EmotionState.of(e, 0.8), seed=5)
        measured, _ = track_pose(renderer, motion)
        listen[e] = head_figures(measured, motion.pose)
    confusion, identity = listening_expression(maker, renderer, fer, ident, ref)
    return {"head_listening": listen, "listening_confusion": confusion, "listening_identity_max": identity,
            "listening_mirroring": maker.profile.mirroring,
            "listening_at_intended": int(sum(confusion[e][e] >= max(confusion[e].values()) > 0 for e in LABELS))}


def run(avatars: list[str], intensity: float, quick: bool, generator: str, tts: str,
        parts: frozenset[str] = frozenset({"speaking", "listening", "lips"}), samples: int = 1) -> dict:
    """The benchmark's figures per avatar; `parts` picks speaking (confusion, identity and, unless
    quick, the speaking head), listening (listening_figures, unless quick) and lips (lip_sync,
    unless quick). samples > 1: the speaking clips made that many times in all (the voice and the
    motion differ each time) and FER's share of the intended label given per sample and pooled;
    every other figure is of the first."""
    t0 = time.perf_counter()
    maker = Maker(generator, tts)
    fer, ident = FERJudge(), IdentityJudge()
    clips = {e: maker.speaking(EmotionState.of(e, intensity), seed=3) for e in LABELS} if "speaking" in parts else {}
    res: dict = {"text": TEXT, "intensity": intensity, "persona": maker.persona.name, "parts": sorted(parts),
                 "profile": maker.profile.name, "generator": generator or maker.settings.motion.generator,
                 "tts": maker.persona.voice.backend, "cpu": cpu_model(), "cpu_count": os.cpu_count(),
                 "samples": samples if "speaking" in parts else 0, "load_avg_start": os.getloadavg(), "avatars": {}}
    for avatar in avatars:
        renderer = maker.renderer(avatar)
        img = maker.photo(avatar)  # identity is judged against the photo, not its relaxed version
        ref = ident.embedding(img, face_box(img))
        # ... and, apart, against the face the renderer animates (the relaxed portrait)
        rest_img = renderer.portrait.image
        ref_rest = ident.embedding(rest_img, face_box(rest_img))
        av: dict = {}
        if "speaking" in parts:
            confusion, identity, geometry, identity_rest = {}, {}, {}, {}
            for e in LABELS:
                confusion[e], d, geometry[e], d_rest = judge_expression(renderer, clips[e][1], fer, ident, ref, ref_rest)
                identity[e] = float(max(d)) if d else float("nan")
                identity_rest[e] = float(max(d_rest)) if d_rest else float("nan")
            hits = {e: confusion[e][e] for e in LABELS}
            # the second judge: how far each emotion's median landmark geometry moved from neutral's
            shift = {e: {k: geometry[e][k] - geometry["neutral"][k] for k in geometry["neutral"]}
                     for e in LABELS if geometry.get(e) and geometry.get("neutral")}
            av |= {"confusion": confusion, "intended_share": hits, "identity_max": identity,
                   "identity_max_vs_rest_face": identity_rest,
                   "emotions_at_60pct": int(sum(v >= 0.6 for v in hits.values())),
                   "landmark_shift_iod": shift}
            if not quick:
                speak = {}
                for e in ("neutral", "happy", "sad", "angry"):
                    speech, motion = clips[e]
                    measured, aperture = track_pose(renderer, motion)
                    speak[e] = (head_figures(measured, motion.pose) | still_head_speed(renderer, motion)
                                | {"pause_aperture_mad": pause_mad(aperture, speech)})
                    floor = speak[e]["speed_still_head_deg_s"]
                    speak[e]["speed_net_deg_s"] = float(np.sqrt(max(speak[e]["speed_deg_s"] ** 2 - floor ** 2, 0.0)))
                av["head_speaking"] = speak
        if "listening" in parts and not quick:
            av |= listening_figures(maker, renderer, fer, ident, ref)
        if "lips" in parts and not quick:
            av["lip_sync"] = lip_sync(maker, avatar)
        res["avatars"][avatar] = av
    if "speaking" in parts and samples > 1:
        # the same sentence spoken again (other voice samples, other motion seeds), made after
        # every other figure's clips so that those stay the same run to run
        more = [{e: maker.speaking(EmotionState.of(e, intensity), seed=3 + k)[1] for e in LABELS}
                for k in range(1, samples)]
        for avatar, av in res["avatars"].items():
            renderer = maker.renderer(avatar)
            shares = [av["intended_share"]] + [{e: judge_expression(renderer, clip[e], fer)[0][e] for e in LABELS}
                                               for clip in more]
            pooled = {e: float(np.mean([h[e] for h in shares])) for e in LABELS}
            av |= {"intended_share_samples": shares, "intended_share_pooled": pooled,
                   "emotions_at_60pct_pooled": int(sum(v >= 0.6 for v in pooled.values()))}
    res["load_avg_end"] = os.getloadavg()
    res["seconds"] = time.perf_counter() - t0
    return res


def print_table(res: dict) -> None:
    """The confusion tables and figures (a benchmark prints its table)."""
    short = [lab[:5] for lab in FER_LABELS]
    for avatar, av in res["avatars"].items():
        if "confusion" in av:
            print(f"\n{avatar}: intended emotion (rows) x FER2013 top-1 share, middle frames, intensity "  # noqa: T201
                  f"{res['intensity']}; identity = max dlib distance to the portrait")
            print(f"{'':11s}" + "".join(f"{s:>7s}" for s in short) + "   identity (vs its relaxed face)")  # noqa: T201
            for e in LABELS:
                row = av["confusion"][e]
                print(f"{e:11s}" + "".join(f"{row[lab]:7.2f}" for lab in FER_LABELS)  # noqa: T201
                      + f"   {av['identity_max'][e]:.3f} ({av['identity_max_vs_rest_face'][e]:.3f})")
            print(f"emotions read as intended on >= 60 % of middle frames: {av['emotions_at_60pct']} / 7")  # noqa: T201
            if "intended_share_pooled" in av:
                per = av["intended_share_samples"]
                print(f"over {len(per)} voice samples, intended share pooled (per sample): "  # noqa: T201
                      + ", ".join(f"{e} {v:.2f} ({'/'.join(f'{h[e]:.2f}' for h in per)})"
                                  for e, v in av["intended_share_pooled"].items())
                      + f"; {av['emotions_at_60pct_pooled']} / 7 at >= 60 %")
        shift = av.get("landmark_shift_iod", {})
        if shift:
            keys = list(next(iter(shift.values())))
            print("mediapipe landmarks, median over middle frames minus neutral's (IOD):")  # noqa: T201
            print(f"{'':11s}" + "".join(f"{k:>12s}" for k in keys))  # noqa: T201
            for e, row in shift.items():
                if e != "neutral":
                    print(f"{e:11s}" + "".join(f"{row[k]:12.3f}" for k in keys))  # noqa: T201
        for role in ("head_speaking", "head_listening"):
            for e, h in av.get(role, {}).items():
                extra = f" pause-MAD {h['pause_aperture_mad']:.3f}" if "pause_aperture_mad" in h else ""
                if "speed_still_head_deg_s" in h:
                    extra += (f"; still-head floor {h['speed_still_head_deg_s']:.1f} deg/s, "
                              f"net speed {h['speed_net_deg_s']:.1f}")
                print(f"  {role[5:]:9s} {e:8s} yaw std {h['yaw_std']:.2f} pitch std {h['pitch_std']:.2f} deg, "  # noqa: T201
                      f"speed {h['speed_deg_s']:.1f} deg/s, rendered/commanded yaw {h['yaw_ratio']:.2f} "
                      f"pitch {h['pitch_ratio']:.2f}{extra}")
    for avatar, av in res["avatars"].items():
        if "lip_sync" in av:
            ls = av["lip_sync"]
            print(f"{avatar}: lip sync on encoded video r {ls['r_aperture_energy']:.2f}, offset "  # noqa: T201
                  f"{ls['offset_frames']} frames, pause aperture MAD {ls['pause_aperture_mad']:.3f} IOD, "
                  f"m/b/p closed {ls['bilabial']['closed_share']:.2f} of {ls['bilabial']['count']} "
                  f"(median min gap {ls['bilabial']['median_min']:.3f})")
        if "listening_confusion" in av:
            print(f"{avatar} listening (mirroring {av['listening_mirroring']}, partner 0.8): mirrored label on "  # noqa: T201
                  f"top for {av['listening_at_intended']} / 7 partner emotions")
            print(f"    {'partner':10s}" + "".join(f"{s:>7s}" for s in short) + "   identity")  # noqa: T201
            for e, row in av["listening_confusion"].items():
                print(f"    {e:10s}" + "".join(f"{row[lab]:7.2f}" for lab in FER_LABELS)  # noqa: T201
                      + f"   {av['listening_identity_max'][e]:.3f}")
    print(f"\nCPU {res['cpu']} x{res['cpu_count']}; load average start {res['load_avg_start']}, "  # noqa: T201
          f"end {res['load_avg_end']}; {res['seconds']:.0f} s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--avatars", nargs="+", default=["hopper", "astronaut"])
    ap.add_argument("--intensity", type=float, default=0.8)
    ap.add_argument("--quick", action="store_true", help="expression and identity only")
    ap.add_argument("--samples", type=int, default=3,
                    help="speaking clips made this many times for FER's pooled share (other figures: the first)")
    ap.add_argument("--generator", default="", help="transformer | teacher (default: the app's setting)")
    ap.add_argument("--tts", default="", help="TTS backend (default: the persona's)")
    ap.add_argument("--listening-only", action="store_true",
                    help="the listener's figures (mirror confusion, identity, head) and the lip figures only")
    ap.add_argument("--out", type=Path, default=None,
                    help="default bench/results/expression.json (expression_listening.json with --listening-only)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    parts = frozenset({"listening", "lips"}) if args.listening_only else frozenset({"speaking", "listening", "lips"})
    res = run(args.avatars, args.intensity, args.quick, args.generator, args.tts, parts, args.samples)
    out = args.out or RESULTS / ("expression_listening.json" if args.listening_only else "expression.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1))
    print_table(res)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
