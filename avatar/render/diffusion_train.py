"""Per-avatar training of the diffusion refiner from a reference video.

Pairs: frame i warped to frame j's landmarks (TPS, the same coarse warp family as the renderer)
-> the real frame j. The UNet learns the residual (real - warped) as an epsilon-prediction
diffusion model, conditioned on the warped frame, the reference (frame i) and frame j's masks.

CLI (wired by the app as `warmchat train-renderer VIDEO`):
    python -m avatar.render.diffusion_train VIDEO --out refiner.pt [--steps 3000] [--device auto]
A real clip needs a GPU for useful quality (minutes at 256 px); `--tiny` trains a toy model on CPU.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avatar.face import landmarks as L
from avatar.render.diffusion import (RefinerConfig, build_scheduler, build_unet, rasterize_masks,
                                     resolve_device, save_checkpoint, to_tensor)
from avatar.render.field import warp_to_points

log = logging.getLogger(__name__)

# landmarks that steer the pair warp: a sparse mesh plus every lip and eye point
_STEER = np.unique(np.concatenate([np.arange(0, 468, 4), L.UPPER_INNER, L.LOWER_INNER, L.LIPS_OUTER,
                                   L.LEFT_EYE_UPPER, L.LEFT_EYE_LOWER, L.RIGHT_EYE_UPPER, L.RIGHT_EYE_LOWER]))


@dataclass(frozen=True, slots=True)
class PairSet:
    """Training pairs as tensors (P, C, S, S) in [-1, 1]: warped, reference, masks, target."""

    warped: "object"
    reference: "object"
    masks: "object"
    target: "object"


def read_video(path: str | Path, max_frames: int = 2000) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
    """Frames (H, W, 3) uint8 RGB and their (478, 2) landmarks (None where no face was found)."""
    import av

    frames, points = [], []
    L.reset_video_tracker()
    with av.open(str(path)) as c:
        for frame in c.decode(c.streams.video[0]):
            img = frame.to_ndarray(format="rgb24")
            faces = L.find_faces(img, video=True)
            frames.append(img)
            points.append(faces[0].xy.copy() if faces else None)
            if len(frames) >= max_frames:
                break
    L.reset_video_tracker()
    return frames, points


def make_pairs(frames, points, size: int, num_pairs: int, seed: int = 0) -> PairSet:
    """`num_pairs` random (i -> j) pairs among frames with a face, resized to size x size."""
    import torch

    ok = [k for k, p in enumerate(points) if p is not None]
    if len(ok) < 2:
        raise ValueError("the reference video needs at least 2 frames with a face")
    rng = np.random.default_rng(seed)
    h, w = frames[0].shape[:2]
    sx, sy = size / w, size / h
    warped, ref, masks, target = [], [], [], []
    for _ in range(num_pairs):
        i, j = rng.choice(ok, 2, replace=False)
        src, dst = points[i][_STEER], points[j][_STEER]
        warped.append(warp_to_points(frames[i], src, dst))
        ref.append(frames[i])
        masks.append(rasterize_masks(points[j] * [sx, sy], size))
        target.append(frames[j])
    return PairSet(to_tensor(warped, size), to_tensor(ref, size), to_tensor(masks, size), to_tensor(target, size))


def train(pairs: PairSet, config: RefinerConfig, steps: int, batch: int = 8, lr: float = 2e-4,
          device: str = "cpu", seed: int = 0):
    """Train a fresh UNet on `pairs`; returns it (on `device`, eval mode) and the loss history."""
    import torch

    torch.manual_seed(seed)
    unet = build_unet(config).to(device).train()
    sched = build_scheduler(config)
    opt = torch.optim.AdamW(unet.parameters(), lr=lr, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(seed)
    n = pairs.warped.shape[0]
    losses = []
    for step in range(steps):
        idx = torch.randint(0, n, (min(batch, n),), generator=gen)
        w, r, m, y = (t[idx].to(device) for t in (pairs.warped, pairs.reference, pairs.masks, pairs.target))
        residual = y - w                                                   # what the warp got wrong
        noise = torch.randn(residual.shape, generator=gen).to(device)
        t = torch.randint(0, config.train_timesteps, (len(idx),), generator=gen).to(device)
        noisy = sched.add_noise(residual, noise, t)
        pred = unet(torch.cat([noisy, w, r, m], dim=1), t).sample
        loss = torch.nn.functional.mse_loss(pred, noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        if step % max(1, steps // 10) == 0:
            log.info("step %d/%d loss %.4f", step, steps, losses[-1])
    return unet.eval(), losses


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="warmchat train-renderer", description=__doc__.split("\n\n")[0])
    p.add_argument("video", help="a talking-face video of the avatar's person (mp4, 10 s or more)")
    p.add_argument("--out", help="checkpoint path (default: VIDEO with suffix .refiner.pt)")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--pairs", type=int, default=512)
    p.add_argument("--size", type=int, default=None, help="model resolution (default 256, tiny 32)")
    p.add_argument("--device", default="auto")
    p.add_argument("--tiny", action="store_true", help="a toy model that trains on a CPU (tests)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config = RefinerConfig.tiny() if args.tiny else RefinerConfig()
    if args.size:
        config = RefinerConfig(**{**config.__dict__, "sample_size": args.size})
    device = resolve_device(args.device)
    if device == "cpu" and not args.tiny:
        log.warning("training the full refiner on a CPU takes hours; use a GPU or --tiny")
    frames, points = read_video(args.video)
    pairs = make_pairs(frames, points, config.sample_size, args.pairs, args.seed)
    unet, losses = train(pairs, config, args.steps, args.batch, device=device, seed=args.seed)
    out = Path(args.out) if args.out else Path(args.video).with_suffix(".refiner.pt")
    save_checkpoint(out, config, unet)
    log.info("saved %s (final loss %.4f)", out, float(np.mean(losses[-10:])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
