"""The diffusion renderer: a small diffusers UNet that refines the warped frame.

Model, scheduler and pipeline are separate (diffusers style). The UNet denoises the RESIDUAL
r = real frame - warped frame (values in [-1, 1] image units) and predicts epsilon; it is
conditioned by concatenating channels: noisy residual (3) + warped frame (3) + reference portrait
(3) + head masks (3: silhouette, eyes, mouth rasterized from the warp's target landmarks).
The output frame is warped + r, so an untrained or low-step model degrades gracefully to the warp.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from avatar.face import landmarks as L
from avatar.motion.clip import MotionClip

log = logging.getLogger(__name__)

COND_CHANNELS = 3 + 3 + 3   # warped, reference, masks


@dataclass(frozen=True)
class RefinerConfig:
    """UNet size. The default is the GPU model; tests use `RefinerConfig.tiny()`."""

    sample_size: int = 256
    block_out_channels: tuple[int, ...] = (64, 128, 256, 256)
    layers_per_block: int = 2
    train_timesteps: int = 1000

    @classmethod
    def tiny(cls) -> "RefinerConfig":
        return cls(sample_size=32, block_out_channels=(8, 16), layers_per_block=1, train_timesteps=100)


def build_unet(config: RefinerConfig):
    """A diffusers UNet2DModel: in = 3 noisy residual + COND_CHANNELS, out = 3 (epsilon)."""
    from diffusers import UNet2DModel

    n = len(config.block_out_channels)
    return UNet2DModel(
        sample_size=config.sample_size, in_channels=3 + COND_CHANNELS, out_channels=3,
        block_out_channels=config.block_out_channels, layers_per_block=config.layers_per_block,
        down_block_types=("DownBlock2D",) * n, up_block_types=("UpBlock2D",) * n,
        norm_num_groups=min(8, config.block_out_channels[0]))


def build_scheduler(config: RefinerConfig):
    from diffusers import DDIMScheduler

    return DDIMScheduler(num_train_timesteps=config.train_timesteps, beta_schedule="squaredcos_cap_v2",
                         prediction_type="epsilon", clip_sample=True, clip_sample_range=2.0)


def rasterize_masks(points: np.ndarray, size: int) -> np.ndarray:
    """(size, size, 3) float32 masks in {0, 1}: head silhouette, eyes, inner mouth, from (478, 2)
    landmark positions in a size x size frame."""
    m = np.zeros((size, size, 3), np.uint8)
    pts = lambda idx: np.round(points[list(idx)] * 16).astype(np.int32)  # noqa: E731
    head = np.ascontiguousarray(m[..., 0])
    cv2.fillPoly(head, [pts(L.FACE_OVAL)], 1, cv2.LINE_AA, 4)
    eyes = np.ascontiguousarray(m[..., 1])
    cv2.fillPoly(eyes, [pts(L.LEFT_EYE_UPPER + L.LEFT_EYE_LOWER[::-1]),
                        pts(L.RIGHT_EYE_UPPER + L.RIGHT_EYE_LOWER[::-1])], 1, cv2.LINE_AA, 4)
    mouth = np.ascontiguousarray(m[..., 2])
    cv2.fillPoly(mouth, [pts(L.UPPER_INNER + L.LOWER_INNER[::-1])], 1, cv2.LINE_AA, 4)
    return np.dstack([head, eyes, mouth]).astype(np.float32)


def to_tensor(images: np.ndarray, size: int):
    """(H, W, C) uint8 image or float mask (or a list of them) -> (B, C, size, size) float tensor;
    uint8 images map to [-1, 1], float masks to [-1, 1] from [0, 1]."""
    import torch

    batch = images if isinstance(images, list) else [images]
    out = []
    for img in batch:
        x = img.astype(np.float32) / (255.0 if img.dtype == np.uint8 else 1.0)
        if x.shape[0] != size:
            x = cv2.resize(x, (size, size), interpolation=cv2.INTER_AREA)
        out.append(x.reshape(size, size, -1) * 2.0 - 1.0)
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).contiguous()


class RefinerPipeline:
    """Denoises the residual of the warped frame with DDIM; components in, loop written out."""

    def __init__(self, unet, scheduler) -> None:
        self.unet = unet
        self.scheduler = scheduler

    def __call__(self, warped, reference, masks, num_steps: int = 4, generator=None):
        """warped, reference (B, 3, S, S), masks (B, 3, S, S), all in [-1, 1] -> refined (B, 3, S, S)."""
        import torch

        cond = torch.cat([warped, reference, masks], dim=1)                     # (B, 9, S, S)
        residual = torch.randn(warped.shape, generator=generator, device=warped.device, dtype=warped.dtype)
        self.scheduler.set_timesteps(num_steps, device=warped.device)
        with torch.no_grad():
            for t in self.scheduler.timesteps:
                eps = self.unet(torch.cat([residual, cond], dim=1), t).sample
                residual = self.scheduler.step(eps, t, residual).prev_sample
        return (warped + residual).clamp(-1.0, 1.0)


def save_checkpoint(path: str | Path, config: RefinerConfig, unet) -> None:
    import torch

    torch.save({"config": asdict(config), "unet": unet.state_dict()}, str(path))


def load_pipeline(path: str | Path, device: str = "cpu") -> tuple[RefinerConfig, RefinerPipeline]:
    import torch

    if not path or not Path(path).is_file():
        raise FileNotFoundError(f"diffusion checkpoint not found: {path!r} (train one with "
                                "`warmchat train-renderer VIDEO`)")
    state = torch.load(str(path), map_location=device, weights_only=True)
    cfg = state["config"]
    config = RefinerConfig(**{**cfg, "block_out_channels": tuple(cfg["block_out_channels"])})
    unet = build_unet(config)
    unet.load_state_dict(state["unet"])
    unet.to(device).eval()
    return config, RefinerPipeline(unet, build_scheduler(config))


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


class DiffusionRenderer:
    """Warp renderer + learned refinement. Frames are (size, size, 3) uint8 RGB.

    The model runs at its own sample size; its residual is upsampled and added to the full-size
    warped frame, so the warp's detail is kept and the model corrects shapes and shading.
    """

    def __init__(self, warp, pipeline: RefinerPipeline, config: RefinerConfig, device: str = "cpu",
                 steps: int = 4, seed: int = 0) -> None:
        self.warp = warp
        self.size = warp.size
        self.pipeline = pipeline
        self.config = config
        self.device = device
        self.steps = steps
        self.seed = seed
        self._reference = to_tensor(warp.portrait.image, config.sample_size).to(device)

    @classmethod
    def from_checkpoint(cls, warp, path: str | Path, device: str = "auto", steps: int = 4) -> "DiffusionRenderer":
        dev = resolve_device(device)
        config, pipe = load_pipeline(path, dev)
        return cls(warp, pipe, config, dev, steps)

    def refine(self, warped: np.ndarray, target_points: np.ndarray) -> np.ndarray:
        import torch

        s = self.config.sample_size
        masks = rasterize_masks(target_points, self.size)
        w = to_tensor(warped, s).to(self.device)
        m = to_tensor(masks, s).to(self.device)
        gen = torch.Generator(device=self.device).manual_seed(self.seed)   # same noise every frame: no flicker
        out = self.pipeline(w, self._reference, m, self.steps, gen)
        residual = ((out - w)[0].permute(1, 2, 0).float().cpu().numpy()) * 127.5       # (s, s, 3)
        residual = cv2.resize(residual, (self.size, self.size), interpolation=cv2.INTER_CUBIC)
        return np.clip(warped.astype(np.float32) + residual, 0, 255).astype(np.uint8)

    def render_frame(self, motion: MotionClip, index: int) -> np.ndarray:
        pose, ex, gaze = motion.pose[index], motion.expression[index], motion.gaze[index]
        warped = self.warp.render_pose_expression(pose, ex, gaze)
        coeffs = np.clip(np.asarray(ex, np.float32)[self.warp.rig.columns], 0, 1)
        pts = self.warp.target_landmarks(np.asarray(pose, np.float32), coeffs, np.asarray(gaze, np.float32))
        return self.refine(warped, pts)

    def stream_frames(self, motion: MotionClip) -> Iterator[np.ndarray]:
        """Frames rendered one at a time when requested (warp + `steps` UNet passes each: a GPU
        feature; on CPU only tiny models are practical)."""
        for i in range(motion.num_frames):
            yield self.render_frame(motion, i)
