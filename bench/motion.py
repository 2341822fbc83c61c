"""Motion benchmark: generator vs teacher vs an audio-energy-only mouth on held-out sentences.

    /work/venv/bin/python -m bench.motion [--checkpoint PATH] [--utterances 12]

Prints a table and writes bench/results/motion.json. Held-out sentences are template draws with
another seed, minus every sentence of the training corpus (train.py's default 1200 sentences).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from avatar.motion.base import MotionRequest
from avatar.motion.clip import ARKIT_INDEX, MotionClip, Role
from avatar.motion.corpus import EspeakSpeaker, join_speech, make_sentences
from avatar.motion.features import find_pauses, rms_energy
from avatar.motion.generator import DEFAULT_CHECKPOINT, TransformerMotionGenerator
from avatar.motion.io import concat
from avatar.motion.metrics import (
    MOUTH_SHAPE_NAMES,
    assign, blink_stats, head_motion_codes, head_variance, kmeans, lip_sync, nods_answered,
    mouth_shape_error, pause_mouth_level, seam_ratio, shannon_index,
)
from avatar.motion.teacher import teacher_motion
from avatar.motion.train import CORPUS_PROFILE
from emotion import Emotion, EmotionState

RESULTS = Path(__file__).parent / "results" / "motion.json"


def held_out_speech(n_utt: int, seed: int = 4242) -> list:
    train = set(make_sentences(1200, 0))
    sentences = [s for s in make_sentences(n_utt * 8, seed) if s not in train][: n_utt * 3]
    spk, rng = EspeakSpeaker(), np.random.default_rng(seed)
    return [join_speech([spk(s) for s in sentences[i * 3:i * 3 + 3]], list(rng.uniform(0.4, 1.0, 3)))
            for i in range(n_utt)]


def energy_baseline(teacher: MotionClip, speech) -> MotionClip:
    """The teacher's clip with the mouth replaced by audio energy: jawOpen = 0.6 x normalised RMS,
    every other mouth-shape channel (MOUTH_SHAPE_NAMES) zero; expression and head stay the teacher's."""
    e = rms_energy(speech.pcm, speech.sample_rate, teacher.num_frames)
    expr = teacher.expression.copy()
    for name in MOUTH_SHAPE_NAMES:
        expr[:, ARKIT_INDEX[name]] = 0
    expr[:, ARKIT_INDEX["jawOpen"]] = 0.6 * (e - e.min()) / max(e.max() - e.min(), 1e-9)
    return MotionClip(teacher.pose, teacher.gaze, expr, role=teacher.role)


def summarise(clips: list[MotionClip], speeches: list, role: Role) -> dict:
    out: dict = {}
    if role is Role.SPEAKING:
        ls = [lip_sync(c, s.pcm, s.sample_rate) for c, s in zip(clips, speeches)]
        out["lip_mad"] = float(np.mean([x.mad for x in ls]))
        out["lip_offset_median"] = float(np.median([x.offset_frames for x in ls]))
        out["lip_offset_abs_mean"] = float(np.mean([abs(x.offset_frames) for x in ls]))
        out["lip_corr"] = float(np.mean([x.correlation for x in ls]))
        out["pause_mouth"] = float(np.nanmean([pause_mouth_level(c, s.pcm, s.sample_rate) for c, s in zip(clips, speeches)]))
    else:
        out["nods_answered"] = float(np.nanmean([nods_answered(c, find_pauses(s.words, None, s.duration))
                                                for c, s in zip(clips, speeches)]))
    rate, dur = blink_stats(concat(clips))
    out["blinks_per_min"], out["blink_ms_median"] = float(rate), float(np.median(dur) * 1000) if len(dur) else float("nan")
    out["head_var"] = float(np.mean([head_variance(c) for c in clips]))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    p.add_argument("--utterances", type=int, default=12)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--out", type=Path, default=RESULTS)
    a = p.parse_args(argv)
    speeches = held_out_speech(a.utterances)
    gen = TransformerMotionGenerator(a.checkpoint, threads=a.threads, temperature=a.temperature)
    emotions = list(Emotion)
    methods: dict[str, dict[Role, list[MotionClip]]] = {m: {Role.SPEAKING: [], Role.LISTENING: []}
                                                        for m in ("generator", "teacher", "energy")}
    timing = {"generator": 0.0, "teacher": 0.0}
    audio_s = 0.0
    for i, sp in enumerate(speeches):
        emo = EmotionState.of(emotions[i % len(emotions)], 0.7)
        for role in (Role.SPEAKING, Role.LISTENING):
            req = MotionRequest(role, emo, CORPUS_PROFILE, speech=sp, seed=i)
            t0 = time.perf_counter()
            g = gen.generate(req)
            t1 = time.perf_counter()
            t = teacher_motion(req)
            t2 = time.perf_counter()
            timing["generator"] += t1 - t0
            timing["teacher"] += t2 - t1
            audio_s += sp.duration
            assert all(np.isfinite(x).all() for x in (g.pose, g.gaze, g.expression))
            methods["generator"][role].append(g)
            methods["teacher"][role].append(t)
            methods["energy"][role].append(energy_baseline(t, sp) if role is Role.SPEAKING else t)

    res: dict = {"checkpoint": str(a.checkpoint), "config": gen.config.to_dict(), "utterances": len(speeches),
                 "audio_seconds": audio_s / 2, "threads": a.threads, "temperature": a.temperature}
    for m in methods:
        res[m] = {"speaking": summarise(methods[m][Role.SPEAKING], speeches, Role.SPEAKING),
                  "listening": summarise(methods[m][Role.LISTENING], speeches, Role.LISTENING)}
    # Mouth shapes (visemes) against the teacher's on the same held-out speech: the energy-only
    # mouth matches audio energy by construction, so this is where a learned mouth must beat it.
    for m in methods:
        res[m]["speaking"]["mouth_shape_err_vs_teacher"] = float(np.mean(
            [mouth_shape_error(c, t) for c, t in zip(methods[m][Role.SPEAKING], methods["teacher"][Role.SPEAKING])]))
    # SID over a codebook shared by generator and teacher (k = 8, 1-s head-motion windows).
    codes = {m: np.concatenate([head_motion_codes(c) for r in (Role.SPEAKING, Role.LISTENING) for c in methods[m][r]])
             for m in ("generator", "teacher")}
    pooled = np.concatenate(list(codes.values()))
    mu, sd = pooled.mean(0), pooled.std(0) + 1e-9
    cb = kmeans((pooled - mu) / sd, 8, seed=0)
    for m, c in codes.items():
        res[m]["sid"] = shannon_index(assign((c - mu) / sd, cb), 8)
    res["speed_x_realtime"] = {m: audio_s / timing[m] for m in timing}
    # Seams: mean max |change| over head rotation (and all non-blink channels) at window joins vs inside.
    W = gen.config.window
    no_blink = [c for c in range(60) if c - 8 not in (ARKIT_INDEX["eyeBlinkLeft"], ARKIT_INDEX["eyeBlinkRight"])]
    gclips = methods["generator"][Role.SPEAKING] + methods["generator"][Role.LISTENING]
    head = np.array([seam_ratio(c, W, slice(0, 3)) for c in gclips if c.num_frames > W])
    allc = np.array([seam_ratio(MotionClip(c.pose, c.gaze, c.expression), W, no_blink) for c in gclips if c.num_frames > W])
    res["seams"] = {"head_join": float(np.mean(head[:, 0])), "head_inside": float(np.mean(head[:, 1])),
                    "all_join": float(np.mean(allc[:, 0])), "all_inside": float(np.mean(allc[:, 1]))}
    # Seeds: different seeds -> different motion with similar statistics.
    req = MotionRequest(Role.LISTENING, EmotionState.of("happy", 0.7), CORPUS_PROFILE, speech=speeches[0])
    runs = [gen.generate(MotionRequest(**{**{f: getattr(req, f) for f in req.__slots__}, "seed": s})) for s in range(5)]
    diffs = [np.abs(runs[i].pose[:, :3] - runs[j].pose[:, :3]).mean() for i in range(5) for j in range(i + 1, 5)]
    hv = [head_variance(r) for r in runs]
    res["seeds"] = {"pose_mean_abs_diff_rad": float(np.mean(diffs)), "head_var_mean": float(np.mean(hv)),
                    "head_var_cv": float(np.std(hv) / max(np.mean(hv), 1e-12))}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=2))
    _print(res)
    return 0


def _print(res: dict) -> None:
    rows = [("lip MAD (lower better)", "speaking", "lip_mad"), ("lip offset median (frames)", "speaking", "lip_offset_median"),
            ("|lip offset| mean (frames)", "speaking", "lip_offset_abs_mean"), ("lip corr", "speaking", "lip_corr"),
            ("mouth in pauses >=300ms", "speaking", "pause_mouth"), ("blinks/min speaking", "speaking", "blinks_per_min"),
            ("blinks/min listening", "listening", "blinks_per_min"), ("blink ms median", "speaking", "blink_ms_median"),
            ("head var speaking (rad^2)", "speaking", "head_var"), ("head var listening", "listening", "head_var"),
            ("pauses answered by nod", "listening", "nods_answered"),
            ("mouth shape err vs teacher", "speaking", "mouth_shape_err_vs_teacher")]
    print(f"{'measure':30s} {'generator':>10s} {'teacher':>10s} {'energy':>10s}")
    for label, role, key in rows:
        vals = [res[m][role].get(key, float("nan")) for m in ("generator", "teacher", "energy")]
        print(f"{label:30s} " + " ".join(f"{v:10.4f}" for v in vals))
    print(f"{'SID (k=8, ln 8 = 2.08)':30s} {res['generator']['sid']:10.3f} {res['teacher']['sid']:10.3f}")
    print(f"speed x real time: generator {res['speed_x_realtime']['generator']:.0f}, teacher {res['speed_x_realtime']['teacher']:.0f}")
    print(f"seams: {res['seams']}")
    print(f"seeds: {res['seeds']}")


if __name__ == "__main__":
    raise SystemExit(main())
