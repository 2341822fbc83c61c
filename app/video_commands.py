"""The commands that learn from a video of a person: `warmchat mimic` (a talking style,
avatar.motion.mimic) and `warmchat train-renderer` (the diffusion refiner,
avatar.render.diffusion_train). Argument parsing and what the person is told live here; the
libraries only log.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def _libraries():
    """The heavy modules (torch), imported when a command runs."""
    import avatar.motion.mimic as mimic_module
    import avatar.render.diffusion_train as dt

    return mimic_module, dt


def mimic_main(argv: list[str] | None = None) -> int:
    """`warmchat mimic VIDEO --name STYLE --styles-dir DIR [--portrait IMG]`: learn a style from a video."""
    mimic_module, _ = _libraries()
    from avatar.motion import calibration, style_fit

    p = argparse.ArgumentParser(prog="warmchat mimic", description=mimic_module.__doc__.splitlines()[0])
    p.add_argument("video", type=Path)
    p.add_argument("--name", required=True, help="style name (then use style=NAME)")
    p.add_argument("--styles-dir", type=Path, required=True, help="<data_dir>/styles")
    p.add_argument("--checkpoint", type=Path, default=mimic_module.DEFAULT_CHECKPOINT)
    p.add_argument("--steps", type=int, default=style_fit.FIT_STEPS,
                   help="gradient steps of the fit (a step count, not a time: the same style on any machine)")
    p.add_argument("--calibration-steps", type=int, default=16,
                   help="moment-calibration rounds after the fit (0: none)")
    p.add_argument("--calibration-seconds", type=float, default=calibration.CALIBRATION_SECONDS,
                   help="seconds of speech generated per calibration measurement (more: less noise, slower)")
    p.add_argument("--portrait", type=Path, default=None,
                   help="also save the clip's best portrait frame (frontal, eyes open, neutral) to this image")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        from avatar.face.tracking import track_video
    except ImportError as exc:
        raise SystemExit(f"face tracking is not available ({exc})") from exc
    style_fit.check_style_name(a.name)  # before the tracking, which takes a while
    tracked = track_video(a.video, min_face_seconds=style_fit.MIN_FACE_SECONDS)
    q = tracked.quality
    print(f"tracked {q.frames} frames ({q.seconds:.1f} s): face in {100 * q.face_fraction:.0f}%, "
          f"landmark jitter {q.jitter_pct:.2f}% of the eye distance")
    if a.portrait is not None:
        from avatar.face.tracking import save_best_portrait

        pick = save_best_portrait(a.video, tracked, a.portrait)
        print(f"portrait: frame {pick.index} ({pick.index / tracked.source_fps:.1f} s) -> {a.portrait}")
    res = mimic_module.mimic(tracked, a.name, a.styles_dir, a.checkpoint, a.steps,
                               calibration_steps=a.calibration_steps, calibration_seconds=a.calibration_seconds)
    print(f"style {a.name!r} -> {res.path}: fit {res.steps} steps in {res.seconds:.0f} s ({res.cpu_seconds:.0f} CPU-s), "
          f"calibration {res.calibration_seconds:.0f} s ({res.calibration_cpu_seconds:.0f} CPU-s), "
          f"loss {res.loss_before:.3f} -> {res.loss_after:.3f}; calibrated spread error "
          f"{res.spread_error_before:.2f} -> {res.spread_error_after:.2f} (mean abs log ratio; worst channel "
          f"{res.spread_error_worst:.2f})")
    return 0


def train_renderer_main(argv: list[str] | None = None) -> int:
    """`warmchat train-renderer VIDEO [--config cpu|gpu|tiny]`: train the diffusion refiner on a video."""
    import cv2
    import numpy as np

    _, dt = _libraries()
    p = argparse.ArgumentParser(prog="warmchat train-renderer", description=dt.__doc__.split("\n\n")[0])
    p.add_argument("video", help="a video of the avatar's person facing the camera (mp4, 10 s or more)")
    p.add_argument("--out", help="checkpoint path (default: VIDEO name with suffix .refiner.pt, here)")
    p.add_argument("--portrait", help="where to write the portrait frame (default: the checkpoint with .png)")
    p.add_argument("--config", choices=sorted(dt.CONFIGS), default="cpu",
                   help="model size: tiny (tests), cpu (64 px, ~30 min on 2 cores), gpu (256 px)")
    p.add_argument("--tiny", action="store_true", help="same as --config tiny")
    p.add_argument("--steps", type=int, default=None, help="training steps (default per config)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--holdout", type=float, default=0.2, help="fraction of the clip's tail kept out of training")
    p.add_argument("--validation", type=float, default=0.1,
                   help="fraction just before the held-out tail, also kept out of training")
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    name = "tiny" if args.tiny else args.config
    config = dt.CONFIGS[name]()
    steps = args.steps or dt.DEFAULT_STEPS[name]
    device = dt.resolve_device(args.device)
    if device == "cpu" and name == "gpu":
        log.warning("the gpu configuration on a CPU takes many hours; use --config cpu")
    clip = dt.prepare_clip(args.video, config, holdout=args.holdout, validation=args.validation)
    pairs = dt.make_pairs(clip, clip.train)
    unet, stats = dt.train(pairs, config, steps, args.batch, device=device, seed=args.seed)
    out = Path(args.out) if args.out else Path(Path(args.video).stem + ".refiner.pt")
    dt.save_checkpoint(out, config, unet)
    portrait = Path(args.portrait) if args.portrait else out.with_suffix(".png")
    cv2.imwrite(str(portrait), cv2.cvtColor(clip.portrait, cv2.COLOR_RGB2BGR))
    print(f"trained {stats.steps} steps on {len(clip.train)} frames in {stats.wall_seconds / 60:.1f} min "
          f"({stats.cpu_seconds / 60:.1f} CPU-min; final loss {float(np.mean(stats.losses[-20:])):.4f}); "
          f"wrote {out} and the portrait {portrait}.\n"
          f"Use them: upload {portrait} as the persona's portrait (Persona tab, or copy it into the data "
          f"dir's avatars/), and set render.renderer = \"diffusion\", render.diffusion_checkpoint = \"{out}\"")
    return 0

