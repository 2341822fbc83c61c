"""Per-person training of the diffusion refiner from a reference video (`warmchat train-renderer`).

The clip is tracked (avatar.face.tracking), its best portrait frame is the reference (the avatar's
portrait), and every frame is cropped the way the portrait is cropped (portrait.crop_matrix of the
reference). Pairs: the reference warped to frame j's landmarks (a thin-plate spline, `coarse_warp`,
the same coarse warp the renderer uses) -> the real frame j, both cut to the face region
(`face_region`). The UNet learns the residual (real - warped), conditioned on the warped face,
the reference face and frame j's masks; its loss (squared error plus a structure term, 1 - SSIM
of the refined face) weighs the mouth and eyes more, where the coarse warp fails (teeth, lids).
Half of each batch is rolled and rescaled (`rolled`): a clip shows few head rolls, and without
this the refiner harmed rolled faces it had not seen.
The output layer starts at zero, so training starts from warp-only. Two contiguous slices at the clip's end
are never trained on: the validation slice (`validation`, default 10 % of the clip, just before
the tail), on which the sampling strength is chosen (bench/refiner.py), and the held-out tail
(`holdout`, default 20 %), which is only measured. Training is bounded by steps (seeded, so
the same steps give the same model whatever the machine's load); `TrainStats` reports its wall
and CPU seconds per step.

CLI (wired by the app as `warmchat train-renderer VIDEO`):
    warmchat train-renderer VIDEO [--config cpu|gpu|tiny] [--steps N] [--device auto]   (app/video_commands.py)
The "cpu" configuration (64 px face, DEFAULT_STEPS) costs about 0.38 CPU-seconds a step with one
torch thread: about 13 minutes on a quiet 2-core machine; "gpu" is 256 px.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from avatar.face import landmarks as L
from avatar.render.diffusion import (RefinerConfig, build_scheduler, build_unet, coarse_warp, face_region,
                                     rasterize_masks, region_matrix, resolve_device, save_checkpoint, to_tensor)

log = logging.getLogger(__name__)

PORTRAIT_SIZE = 512          # the crop size frames are cut at before the face region (as portraits are)
REGION_WEIGHT = 4.0          # extra loss weight on the mouth and eye regions
SSIM_WEIGHT = 0.1            # weight of the structure term (1 - SSIM of the refined face, region-weighted)
SSIM_WINDOW = 7              # the SSIM window (as bench/refiner measures it)
ROLL_DEGREES = 30.0          # pose augmentation: in-plane head roll drawn from +-ROLL_DEGREES ...
SCALE_JITTER = 0.1           # ... and a scale from 1 +- SCALE_JITTER, for AUGMENT_SHARE of each batch
AUGMENT_SHARE = 0.5


def ssim_map(a, b, window: int = SSIM_WINDOW):
    """Per-pixel SSIM (B, 1, S, S) of two image batches (B, C, S, S) in [-1, 1] (a uniform
    window, channels averaged; differentiable), the structure term of the loss."""
    import torch.nn.functional as F

    c1, c2 = (0.01 * 2) ** 2, (0.03 * 2) ** 2
    pool = lambda x: F.avg_pool2d(x, window, 1, window // 2, count_include_pad=False)  # noqa: E731
    mu_a, mu_b = pool(a), pool(b)
    var_a, var_b = pool(a * a) - mu_a ** 2, pool(b * b) - mu_b ** 2
    cov = pool(a * b) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return s.mean(1, keepdim=True)


@dataclass(frozen=True, slots=True)
class PersonClip:
    """A tracked clip cut like its portrait, at the model's size.

    faces: (N, S, S, 3) uint8 face regions of every source frame; points: (N, 478, 2) landmarks in
    those pixels (NaN: no face); reference: index of the portrait frame; portrait: (P, P, 3) uint8
    the reference frame cut as a portrait (the avatar's image); train / validation / held_out:
    frame indices with a face (validation is the contiguous slice just before held_out, the
    contiguous tail; neither is trained on); fps: source frame rate.
    """

    faces: np.ndarray
    points: np.ndarray
    reference: int
    portrait: np.ndarray
    train: np.ndarray
    validation: np.ndarray
    held_out: np.ndarray
    fps: float

    @property
    def found(self) -> np.ndarray:
        return np.isfinite(self.points).all(axis=(1, 2))


@dataclass(frozen=True, slots=True)
class PairSet:
    """Training pairs as tensors (P, C, S, S) in [-1, 1]: warped, reference, masks, target; and
    the loss weight map (P, 1, S, S)."""

    warped: "object"
    reference: "object"
    masks: "object"
    target: "object"
    weight: "object"


def split_frames(n: int, holdout: float, validation: float) -> tuple[int, int]:
    """(end of training, end of validation) frame indices of an n-frame clip: training is the
    first 1 - holdout - validation share, validation the next `validation` share, held-out the
    `holdout` tail. Raises ValueError for shares outside [0, 1) or summing to 1 or more."""
    if not (0 <= holdout < 1 and 0 <= validation < 1 and holdout + validation < 1):
        raise ValueError(f"holdout {holdout} and validation {validation} must be in [0, 1) and sum below 1")
    end_val = int(round(n * (1.0 - holdout)))
    return int(round(n * (1.0 - holdout - validation))), end_val


def prepare_clip(path: str | Path, config: RefinerConfig, holdout: float = 0.2, max_frames: int = 3000,
                 tracked=None, validation: float = 0.1) -> PersonClip:
    """Track `path` (or use `tracked`), pick the portrait frame among the training frames and cut
    every frame to the face region at config.sample_size. The last `holdout` share of the frames is
    the held-out tail, the `validation` share before it the validation slice (split_frames).

    Raises what avatar.face.tracking.track_video raises, and ValueError when fewer than 8 training
    frames have a face or the shares are invalid.
    """
    from avatar.face.portrait import crop_matrix
    from avatar.face.tracking import best_portrait_frame, iter_frames, track_video

    tracked = tracked if tracked is not None else track_video(path)
    n = min(len(tracked.landmarks), max_frames)
    n_train, n_val = split_frames(n, holdout, validation)
    found = np.isfinite(tracked.landmarks[:n]).all(axis=(1, 2))
    if found[:n_train].sum() < 8:
        raise ValueError(f"{Path(path).name}: only {int(found[:n_train].sum())} training frames have a face; need 8")
    pick = best_portrait_frame(path, tracked, frames=slice(0, n_train))
    ref_lm = L.FaceLandmarks(tracked.landmarks[pick.index].astype(np.float32), tracked.frame_size)
    crop = crop_matrix(ref_lm, PORTRAIT_SIZE)                             # source -> portrait crop
    ref_pts = ref_lm.transformed(crop, (PORTRAIT_SIZE, PORTRAIT_SIZE)).xy
    region = region_matrix(face_region(ref_pts, config.region_scale), config.sample_size)   # crop -> region
    full = np.vstack([region, [0, 0, 1]]) @ np.vstack([crop, [0, 0, 1]])
    s = config.sample_size
    faces = np.zeros((n, s, s, 3), np.uint8)
    points = np.full((n, 478, 2), np.nan, np.float32)
    portrait = None
    for k, img in enumerate(iter_frames(path, max_frames=n)):
        faces[k] = cv2.warpAffine(img, full[:2], (s, s), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
        if found[k]:
            xy = tracked.landmarks[k, :, :2].astype(np.float64)
            points[k] = xy @ full[:2, :2].T + full[:2, 2]
        if k == pick.index:
            portrait = cv2.warpAffine(img, crop, (PORTRAIT_SIZE, PORTRAIT_SIZE), flags=cv2.INTER_AREA,
                                      borderMode=cv2.BORDER_REPLICATE)
    idx = np.arange(n)
    keep = lambda sl: idx[sl][found[sl]]  # noqa: E731
    return PersonClip(faces, points, pick.index, portrait, keep(slice(0, n_train)), keep(slice(n_train, n_val)),
                      keep(slice(n_val, n)), tracked.source_fps)


def region_weight(masks: np.ndarray, size: int) -> np.ndarray:
    """(S, S) loss weight: 1 everywhere plus REGION_WEIGHT on the dilated eye and mouth masks."""
    k = max(3, size // 16) | 1
    parts = np.clip(masks[..., 1] + masks[..., 2], 0, 1)
    parts = cv2.dilate(parts, np.ones((k, k), np.uint8))
    return (1.0 + REGION_WEIGHT * parts).astype(np.float32)


def make_pairs(clip: PersonClip, frames: np.ndarray) -> PairSet:
    """Pairs (reference warped to frame j -> frame j) for the frame indices `frames`."""
    import torch

    s = clip.faces.shape[1]
    ref, ref_pts = clip.faces[clip.reference], clip.points[clip.reference]
    warped, masks, weights = [], [], []
    for j in frames:
        warped.append(coarse_warp(ref, ref_pts, clip.points[j]))
        m = rasterize_masks(clip.points[j], s)
        masks.append(m)
        weights.append(region_weight(m, s)[..., None])
    n = len(frames)
    return PairSet(to_tensor(warped, s), to_tensor([ref] * n, s), to_tensor(masks, s),
                   to_tensor([clip.faces[j] for j in frames], s),
                   torch.from_numpy(np.stack(weights)).permute(0, 3, 1, 2).contiguous())


@dataclass(frozen=True, slots=True)
class TrainStats:
    """What a training run cost: steps done, wall seconds and process CPU seconds (all threads),
    and the loss of every step."""

    steps: int
    wall_seconds: float
    cpu_seconds: float
    losses: tuple[float, ...]

    @property
    def cpu_seconds_per_step(self) -> float:
        return self.cpu_seconds / max(self.steps, 1)

    @property
    def wall_seconds_per_step(self) -> float:
        return self.wall_seconds / max(self.steps, 1)


def random_similarity(n: int, generator, roll_degrees: float = ROLL_DEGREES, scale_jitter: float = SCALE_JITTER,
                      share: float = AUGMENT_SHARE):
    """(n, 2, 3) affine matrices for torch's affine_grid (normalised coordinates, about the
    centre): a rotation uniform in +-roll_degrees and a scale uniform in 1 +- scale_jitter for a
    random `share` of the n samples, the identity for the others (seeded by `generator`)."""
    import torch

    angle = (torch.rand(n, generator=generator) * 2 - 1) * np.radians(roll_degrees)
    scale = 1 + (torch.rand(n, generator=generator) * 2 - 1) * scale_jitter
    keep = torch.rand(n, generator=generator) >= share
    angle, scale = torch.where(keep, 0.0, angle), torch.where(keep, 1.0, scale)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    zero = torch.zeros(n)
    return torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)


def rolled(theta, *tensors):
    """Each (B, C, S, S) tensor resampled by the affine matrices `theta` (random_similarity):
    images bicubic, the edge replicated (as frames are cut). A head roll of the target frame
    rolls its warped face, its masks and the real face alike (the thin-plate warp to rotated
    landmarks is the rotated warp), so a pair stays a pair; the reference is not rolled."""
    import torch.nn.functional as F

    grid = F.affine_grid(theta, list(tensors[0].shape), align_corners=False)
    return tuple(F.grid_sample(t, grid, mode="bicubic", padding_mode="border", align_corners=False)
                 for t in tensors)


def lr_schedule(step: int, steps: int, lr: float, warmup: int = 50) -> float:
    """The learning rate at `step` of `steps`: a linear warm-up over `warmup` steps, then a cosine
    decay to a tenth of `lr` at the last step (a function of steps only, never of time)."""
    done = min(1.0, step / max(steps, 1))
    return lr * min(1.0, (step + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * done)))


def train(pairs: PairSet, config: RefinerConfig, steps: int, batch: int = 8, lr: float = 2e-4,
          device: str = "cpu", seed: int = 0, flip: bool = True, ssim_weight: float = SSIM_WEIGHT,
          roll_degrees: float = ROLL_DEGREES):
    """Train a fresh UNet on `pairs` for exactly `steps` steps; returns it (on `device`, eval
    mode) and its TrainStats. Deterministic for a seed on one device and thread count: the same
    steps give the same model whatever the machine's load (no time budget). The learning rate
    follows lr_schedule. `flip` mirrors half of each batch (every input the same way), which
    doubles the poses a short clip shows. `roll_degrees` > 0 rolls (and rescales) a share of
    each batch (random_similarity, rolled): a clip shows few head rolls (WolfgangLanger's
    training frames stay within +-5 deg, her laughing tail reaches 27), and a refiner trained
    only upright corrected upright faces and harmed rolled ones.

    Loss: the region-weighted squared error of the prediction, plus (sample prediction)
    `ssim_weight` times the region-weighted 1 - SSIM of the refined face (warp + predicted
    residual) against the real one, so the model is pushed to keep structure (lip edges, teeth,
    lids), not only the mean colour. Timesteps are drawn from the whole schedule (sampling may
    start anywhere on it, config.strength). The UNet's output layer starts at zero, so training
    starts from warp-only. Raises ValueError for steps < 1."""
    import torch

    if steps < 1:
        raise ValueError(f"steps must be at least 1, not {steps}")
    torch.manual_seed(seed)
    unet = build_unet(config).to(device).train()
    sched = build_scheduler(config)
    opt = torch.optim.AdamW(unet.parameters(), lr=lr, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(seed)
    n = pairs.warped.shape[0]
    losses = []
    t0, c0 = time.perf_counter(), time.process_time()
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = lr_schedule(step, steps, lr)
        idx = torch.randint(0, n, (min(batch, n),), generator=gen)
        w, r, m, y, wt = (t[idx] for t in (pairs.warped, pairs.reference, pairs.masks, pairs.target, pairs.weight))
        if flip:
            sel = torch.rand(len(idx), generator=gen) < 0.5
            w, r, m, y, wt = (torch.where(sel[:, None, None, None], t.flip(-1), t) for t in (w, r, m, y, wt))
        if roll_degrees > 0:
            w, m, y, wt = rolled(random_similarity(len(idx), gen, roll_degrees), w, m, y, wt)
        w, r, m, y, wt = (t.to(device) for t in (w, r, m, y, wt))
        residual = y - w                                                   # what the warp got wrong
        noise = torch.randn(residual.shape, generator=gen).to(device)
        t = torch.randint(0, config.train_timesteps, (len(idx),), generator=gen).to(device)
        noisy = sched.add_noise(residual, noise, t)
        pred = unet(torch.cat([noisy, w, r, m], dim=1), t).sample
        goal = residual if config.prediction == "sample" else noise
        loss = ((pred - goal) ** 2 * wt).mean() / wt.mean()
        if ssim_weight and config.prediction == "sample":
            loss = loss + ssim_weight * ((1 - ssim_map((w + pred).clamp(-1, 1), y)) * wt).mean() / wt.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        if step % max(1, steps // 20) == 0:
            log.info("step %d/%d loss %.4f (%.0f s wall, %.0f s CPU)", step, steps, losses[-1],
                     time.perf_counter() - t0, time.process_time() - c0)
    stats = TrainStats(steps, time.perf_counter() - t0, time.process_time() - c0, tuple(losses))
    return unet.eval(), stats


CONFIGS = {"tiny": RefinerConfig.tiny, "cpu": RefinerConfig.cpu, "gpu": RefinerConfig}
DEFAULT_STEPS = {"tiny": 20, "cpu": 2000, "gpu": 6000}
