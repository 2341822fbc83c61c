"""The diffusion renderer: a small diffusers UNet that refines a coarse warp of the portrait.

Model, scheduler and pipeline are separate (diffusers style). The model works on the FACE REGION
(`face_region`: a square around the portrait's face oval, fixed per portrait) at its own sample
size. The coarse warp (`coarse_warp`: a thin-plate spline taking the portrait's landmarks to the
frame's target landmarks) gives the warped face; the UNet denoises the RESIDUAL r = real face -
warped face (image units in [-1, 1]) and predicts either r itself (prediction "sample", the
default: few DDIM steps then stay close to the conditional mean) or epsilon. It is conditioned by
concatenating channels: noisy residual (3) + warped face (3) + reference face (3) + masks (3: head
silhouette, eyes, inner mouth rasterized from the target landmarks). The UNet's output layer
starts at zero, so an untrained refiner IS the coarse warp and training only adds corrections
(warp + residual). Sampling is deterministic DDIM with "trailing" timesteps (the first step is
the noisiest one trained), from pure noise (config.strength 1) or from the warp partly noised
(img2img, strength < 1). The frame is the full-size coarse warp plus the upsampled residual,
feathered into the face region. Training: avatar.render.diffusion_train.
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


# landmarks that steer the coarse warp: a sparse mesh plus every lip and eye point
STEER = np.unique(np.concatenate([np.arange(0, 468, 4), L.UPPER_INNER, L.LOWER_INNER, L.LIPS_OUTER,
                                  L.LEFT_EYE_UPPER, L.LEFT_EYE_LOWER, L.RIGHT_EYE_UPPER, L.RIGHT_EYE_LOWER]))


@dataclass(frozen=True)
class RefinerConfig:
    """UNet size and what it predicts. The default is the GPU model (256 px face region);
    `cpu()` trains in about half an hour on 2 cores; tests use `tiny()`.

    region_scale: the face region's side in face-oval extents (see face_region).
    prediction: "sample" (the residual itself) or "epsilon" (the noise).
    strength: where sampling starts on the noise schedule (training always covers all of it):
    1 from pure noise, below 1 from the coarse warp partly noised (img2img, RefinerPipeline).
    0.2 (the default) keeps the refined face close to the warp and corrects it: on held-out frames
    of a real person it beat warp-only on the face, mouth and eyes where starting from pure noise
    made the mouth worse (bench/results/refiner.json, "strength_sweep").
    """

    sample_size: int = 256
    block_out_channels: tuple[int, ...] = (64, 128, 256, 256)
    layers_per_block: int = 2
    train_timesteps: int = 1000
    region_scale: float = 1.25
    prediction: str = "sample"
    strength: float = 0.2

    @classmethod
    def cpu(cls) -> "RefinerConfig":
        return cls(sample_size=64, block_out_channels=(16, 32, 64), layers_per_block=1, train_timesteps=1000)

    @classmethod
    def tiny(cls) -> "RefinerConfig":
        return cls(sample_size=32, block_out_channels=(8, 16), layers_per_block=1, train_timesteps=100)


def face_region(points: np.ndarray, scale: float) -> tuple[float, float, float]:
    """(cx, cy, side) in pixels: the square centred on the face oval's bounding box, `scale` times
    its larger side. `points` (478, 2) landmarks of the portrait (or reference frame)."""
    oval = np.asarray(points, np.float64)[list(L.FACE_OVAL)]
    lo, hi = oval.min(0), oval.max(0)
    c = 0.5 * (lo + hi)
    return float(c[0]), float(c[1]), float(scale * (hi - lo).max())


def region_matrix(region: tuple[float, float, float], size: int) -> np.ndarray:
    """2x3 affine taking image pixels to a (size, size) crop of `region` (face_region)."""
    cx, cy, side = region
    k = size / side
    return np.array([[k, 0.0, size / 2 - cx * k], [0.0, k, size / 2 - cy * k]])


def coarse_warp(image: np.ndarray, src_points: np.ndarray, dst_points: np.ndarray) -> np.ndarray:
    """`image` warped so that its landmarks `src_points` (478, 2) land on `dst_points` (478, 2),
    steered by the STEER subset (a thin-plate spline, avatar.render.field.warp_to_points)."""
    from avatar.render.field import warp_to_points

    return warp_to_points(image, np.asarray(src_points)[STEER, :2], np.asarray(dst_points)[STEER, :2])


def build_unet(config: RefinerConfig):
    """A diffusers UNet2DModel: in = 3 noisy residual + COND_CHANNELS, out = 3 (the residual or
    epsilon, config.prediction), with a zero output layer (the untrained model adds nothing)."""
    from diffusers import UNet2DModel

    import torch

    n = len(config.block_out_channels)
    unet = UNet2DModel(
        sample_size=config.sample_size, in_channels=3 + COND_CHANNELS, out_channels=3,
        block_out_channels=config.block_out_channels, layers_per_block=config.layers_per_block,
        down_block_types=("DownBlock2D",) * n, up_block_types=("UpBlock2D",) * n,
        norm_num_groups=min(8, config.block_out_channels[0]))
    with torch.no_grad():           # a zero output layer: the untrained refiner IS the coarse warp
        unet.conv_out.weight.zero_()
        unet.conv_out.bias.zero_()
    return unet


def build_scheduler(config: RefinerConfig):
    from diffusers import DDIMScheduler

    return DDIMScheduler(num_train_timesteps=config.train_timesteps, beta_schedule="squaredcos_cap_v2",
                         prediction_type=config.prediction, clip_sample=True, clip_sample_range=2.0,
                         timestep_spacing="trailing")


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

    def __call__(self, warped, reference, masks, num_steps: int = 4, generator=None, strength: float = 1.0):
        """warped, reference (B, 3, S, S), masks (B, 3, S, S), all in [-1, 1] -> refined (B, 3, S, S).

        strength 1: the residual starts as pure noise at the last training timestep; below 1 it
        starts from the warp (residual 0) noised to that share of the schedule (img2img), and the
        `num_steps` deterministic DDIM steps cover that part only."""
        import torch

        cond = torch.cat([warped, reference, masks], dim=1)                     # (B, 9, S, S)
        noise = torch.randn(warped.shape, generator=generator, device=warped.device, dtype=warped.dtype)
        alphas = self.scheduler.alphas_cumprod.to(warped.device, warped.dtype)
        steps = ddim_timesteps(len(alphas), num_steps, strength)
        residual = (1 - alphas[steps[0]]).sqrt() * noise   # the zero residual (the warp), noised
        sample_prediction = self.scheduler.config.prediction_type == "sample"
        with torch.no_grad():
            for k, t in enumerate(steps):
                out = self.unet(torch.cat([residual, cond], dim=1), t).sample
                a_t = alphas[t]
                if sample_prediction:
                    x0 = out.clamp(-2.0, 2.0)
                    eps = (residual - a_t.sqrt() * x0) / (1 - a_t).sqrt()
                else:
                    eps = out
                    x0 = ((residual - (1 - a_t).sqrt() * eps) / a_t.sqrt().clamp(min=1e-3)).clamp(-2.0, 2.0)
                a_prev = alphas[steps[k + 1]] if k + 1 < len(steps) else torch.ones_like(a_t)
                residual = a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps
        return (warped + residual).clamp(-1.0, 1.0)


def ddim_timesteps(total: int, num_steps: int, strength: float = 1.0) -> list[int]:
    """Descending timesteps of a `num_steps` DDIM run over the top `strength` share of a
    `total`-step schedule ("trailing" spacing: the first step is the noisiest one trained)."""
    top = max(1.0, min(1.0, strength) * total)
    ts = np.round(np.linspace(top, 0, max(1, num_steps), endpoint=False)).astype(int) - 1
    return [int(t) for t in np.clip(ts, 0, total - 1)]


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


def _feather(size: int, border: int) -> np.ndarray:
    """(size, size) float32 weights: 1 inside, falling linearly to 0 over `border` pixels at the edge."""
    ramp = np.clip(np.minimum(np.arange(size), np.arange(size)[::-1]) / max(border, 1), 0, 1).astype(np.float32)
    return np.minimum(ramp[:, None], ramp[None, :])


class DiffusionRenderer:
    """Coarse warp + learned refinement of the face region. Frames are (size, size, 3) uint8 RGB.

    The portrait must show the person the checkpoint was trained on (`warmchat train-renderer`
    writes that portrait next to the checkpoint). The model runs at its own sample size on the
    face region; its residual is upsampled and added to the full-size coarse warp, so the warp's
    detail is kept and the model corrects shapes and shading (mouth interior, eyelids).
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
        portrait = warp.portrait
        self._points = portrait.landmarks.xy.astype(np.float64)
        self._region = region_matrix(face_region(self._points, config.region_scale), config.sample_size)
        s = config.sample_size
        ref = cv2.warpAffine(portrait.image, self._region, (s, s), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
        self._reference_face = ref
        self._reference = to_tensor(ref, s).to(device)
        self._feather = _feather(s, max(2, s // 10))

    @classmethod
    def from_checkpoint(cls, warp, path: str | Path, device: str = "auto", steps: int = 4) -> "DiffusionRenderer":
        dev = resolve_device(device)
        config, pipe = load_pipeline(path, dev)
        return cls(warp, pipe, config, dev, steps)

    def refine_face(self, warped_face: np.ndarray, target_points: np.ndarray) -> np.ndarray:
        """(S, S, 3) uint8 refined face region from the warped one and the target landmarks in
        region pixels (S = config.sample_size)."""
        import torch

        s = self.config.sample_size
        w = to_tensor(warped_face, s).to(self.device)
        m = to_tensor(rasterize_masks(target_points, s), s).to(self.device)
        gen = torch.Generator(device=self.device).manual_seed(self.seed)   # same noise every frame: no flicker
        out = self.pipeline(w, self._reference, m, self.steps, gen, strength=self.config.strength)
        return ((out[0].permute(1, 2, 0).float().cpu().numpy() + 1.0) * 127.5).round().clip(0, 255).astype(np.uint8)

    def refine(self, coarse: np.ndarray, target_points: np.ndarray) -> np.ndarray:
        """The full frame: `coarse` (size, size, 3) uint8 plus the refined face's residual, with
        `target_points` (478, 2) in frame pixels."""
        s = self.config.sample_size
        m = self._region
        face = cv2.warpAffine(coarse, m, (s, s), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
        pts = target_points[:, :2] @ m[:, :2].T + m[:, 2]
        residual = self.refine_face(face, pts).astype(np.float32) - face.astype(np.float32)
        weighted = np.dstack([residual * self._feather[..., None], self._feather])
        full = cv2.warpAffine(weighted, m, (self.size, self.size), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        return np.clip(coarse.astype(np.float32) + full[..., :3], 0, 255).astype(np.uint8)

    def render_frame(self, motion: MotionClip, index: int) -> np.ndarray:
        pose, ex, gaze = motion.pose[index], motion.expression[index], motion.gaze[index]
        coeffs = np.clip(np.asarray(ex, np.float32)[self.warp.rig.columns], 0, 1)
        pts = self.warp.target_landmarks(np.asarray(pose, np.float32), coeffs, np.asarray(gaze, np.float32))
        return self.refine(coarse_warp(self.warp.portrait.image, self._points, pts), pts)

    def stream_frames(self, motion: MotionClip) -> Iterator[np.ndarray]:
        """Frames rendered one at a time when requested (coarse warp + `steps` UNet passes each: a
        GPU feature at 256 px; the 64 px CPU model runs at a few frames a second)."""
        for i in range(motion.num_frames):
            yield self.render_frame(motion, i)
