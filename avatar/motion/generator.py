"""Motion generators: the transformer (default) and the procedural teacher, chosen by settings."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np

from avatar.motion.base import MotionGenerator, MotionRequest
from avatar.motion.clip import ARKIT_INDEX, FPS, MotionClip
from avatar.motion.conditioning import LEGACY_LABELS, build_conditioning, motion_array, still_frame, window_slices
from avatar.motion.procedural import blink_track
from avatar.motion.shaping import (MAX_PITCH, MAX_ROLL, MAX_YAW, bilabial_seal, emotion_face, energy_jaw, head_motion,
                                   ramp_from, resting_mouth)
from avatar.motion.teacher import TeacherConfig, num_frames_of, teacher_motion
from avatar.settings import MotionSettings

log = logging.getLogger(__name__)

DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[2] / "assets" / "motion" / "generator.pt"


class TeacherMotionGenerator:
    """The procedural teacher as a MotionGenerator (no model; ~1000x real time)."""

    def __init__(self, config: TeacherConfig = TeacherConfig()) -> None:
        self.config = config

    def generate(self, request: MotionRequest) -> MotionClip:
        return teacher_motion(request, self.config)


class TransformerMotionGenerator:
    """The transformer head-mask generator (model.py) loaded once from a checkpoint.

    Generates window by window (checkpoint's window W, context K): each window is conditioned on the
    last K frames already made (or the request's `previous` clip), so any length joins without seams.
    Blinks: with post_hoc_blinks (default), the eyeBlink channels are replaced by the teacher's
    renewal process, because a regression model averages random blink timings away. The emotion's
    face comes from the request's profile (shaping.emotion_face) and a change of emotion from the
    previous clip ramps in (shaping.ramp_from).

    Args:
        checkpoint_path: a file written by train.py (config, normalisation buffers, weights).
        styles_dir: where mimic.py saved named styles (`NAME.pt`); request.style picks one.
        threads: torch intra-op threads (set process-wide by torch; keep it small on 2 cores).
        post_hoc_blinks: replace the model's eyeBlink channels by the teacher's renewal process.
        temperature: scale of the prior latent samples (1 = the trained prior; lower = closer to
            the mean motion, less varied).

    Raises:
        FileNotFoundError: the checkpoint does not exist.
        ValueError (from generate): a request's emotion label is not one the checkpoint was trained
            with (the checkpoint stores its label names).
    """

    def __init__(self, checkpoint_path: str | Path = DEFAULT_CHECKPOINT, styles_dir: str | Path | None = None,
                 threads: int = 1, post_hoc_blinks: bool = True, temperature: float = 1.0) -> None:
        import torch

        from avatar.motion.model import MotionConfig, MotionModel

        path = Path(checkpoint_path)
        if not path.is_file():
            raise FileNotFoundError(f"motion checkpoint not found: {path} (train one: warmchat train-motion)")
        torch.set_num_threads(max(int(threads), 1))
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        self.config = MotionConfig(**ckpt["config"])
        # the label names in the model's embedding order (older files: the original seven)
        self.labels: tuple[str, ...] = tuple(ckpt.get("labels") or LEGACY_LABELS)
        if len(self.labels) != self.config.n_emotions:
            raise ValueError(f"motion checkpoint {path}: {len(self.labels)} label names for "
                             f"{self.config.n_emotions} emotion embeddings")
        self.model = MotionModel(self.config)
        self.model.load_state_dict({k: v.float() for k, v in ckpt["model"].items()})
        self.model.eval()
        self.styles_dir = Path(styles_dir) if styles_dir else None
        self.post_hoc_blinks = post_hoc_blinks
        self.temperature = float(temperature)
        self._styles: dict[str, tuple] = {}
        self._lock = threading.Lock()
        self._torch = torch

    def style(self, name: str | None) -> tuple:
        """(style_vec (1, D) or None, out_affine or None) of a named style; None/'default' = style 0.

        Raises:
            FileNotFoundError: no such style file in styles_dir.
        """
        return self._load_style(name)[:2]

    def head_gain(self, name: str | None) -> np.ndarray | None:
        """(3,) gain on the shaped head rotation of a named style (mimic's calibration), or None."""
        return self._load_style(name)[2]

    def head_limit(self, name: str | None) -> np.ndarray | None:
        """(3,) yaw, pitch, roll limits (rad) of a named style (mimic.head_limits), or None (the
        shaping layer's)."""
        return self._load_style(name)[3]

    def place_gain(self, name: str | None) -> np.ndarray | None:
        """(5,) gain on the shown x, y, scale and gaze x, y movement of a named style (mimic's
        calibration, `style_place`), or None."""
        return self._load_style(name)[4]

    def expression_gain(self, name: str | None) -> np.ndarray | None:
        """(52,) gain on the shown movement of the affect channels of a named style (mimic's
        calibration, shaping.emotion_face), or None."""
        return self._load_style(name)[5]

    def _load_style(self, name: str | None) -> tuple:
        if name in (None, "", "default"):
            return None, None, None, None, None, None
        with self._lock:
            if name not in self._styles:
                if self.styles_dir is None or not (self.styles_dir / f"{name}.pt").is_file():
                    raise FileNotFoundError(f"motion style {name!r} not found in {self.styles_dir}")
                d = self._torch.load(self.styles_dir / f"{name}.pt", map_location="cpu", weights_only=True)
                affine = (d["out_scale"].float(), d["out_shift"].float()) if "out_scale" in d else None
                gain = d["head_gain"].float().numpy() if "head_gain" in d else None
                limit = d["head_limit"].float().numpy() if "head_limit" in d else None
                place = d["place_gain"].float().numpy() if "place_gain" in d else None
                ex_gain = d["expression_gain"].float().numpy() if "expression_gain" in d else None
                self._styles[name] = (d["style_vec"].float()[None, :], affine, gain, limit, place, ex_gain)
            return self._styles[name]

    def generate(self, request: MotionRequest) -> MotionClip:
        return self.shape(self.model_motion(request), request)

    def model_motion(self, request: MotionRequest) -> np.ndarray:
        """(T, 60) float32 motion as the model (with the request's style) outputs it, before
        `shape`: pose and gaze de-normalised, expression in [0, 1] (the output head's sigmoid)."""
        torch = self._torch
        cfg = self.config
        n = num_frames_of(request)
        cond = build_conditioning(request.speech, n, request.role, request.emotion, labels=self.labels)
        style_vec, affine = self.style(request.style)
        gen = torch.Generator().manual_seed(
            request.seed if request.seed is not None else int(np.random.SeedSequence().entropy % 2**63))
        K, W = cfg.context, cfg.window
        history = [np.tile(still_frame(), (K, 1))]
        if request.previous is not None and request.previous.num_frames:
            prev = motion_array(request.previous)[-K:]
            history.append(prev)
        hist = np.concatenate(history)[-K:]
        out = np.zeros((0, 60), np.float32)
        codes = [torch.tensor([v]) for v in (cond.role, cond.emotion)]
        intensity = torch.tensor([cond.intensity], dtype=torch.float32)
        has_vis = torch.tensor([1.0 if cond.has_visemes else 0.0])
        with torch.inference_mode():
            for start in range(0, n, W):
                mel, vis, _, _ = window_slices(cond, None, start, K, W)
                z = torch.randn(1, W // cfg.latent_stride, cfg.latent_dim, generator=gen) * self.temperature
                y, _, _ = self.model(torch.from_numpy(mel)[None], torch.from_numpy(vis)[None], has_vis,
                                     codes[0], codes[1], intensity, torch.from_numpy(hist)[None], z=z,
                                     style_vec=style_vec, out_affine=affine)
                y = _join(hist, y[0].numpy())
                out = np.concatenate([out, y])
                hist = np.concatenate([hist, y])[-K:]
        return np.nan_to_num(out[:n], nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)

    def shape(self, out: np.ndarray, request: MotionRequest) -> MotionClip:
        """The clip the avatar shows from `model_motion`'s output: post-hoc blinks, the jaw from
        the voice's energy, the emotion's face, the resting mouth and sealed bilabials, the
        livelier head layer (shaping), then the style's head gain (`style_head`), both within the
        style's head limits (the shaping layer's when it has none), and the style's gains on
        position, scale and gaze (`style_place`) and on the affect channels' movement."""
        n = len(out)
        expr = np.clip(out[:, 8:], 0, 1)
        if self.post_hoc_blinks:
            rng = np.random.default_rng(None if request.seed is None else request.seed + 7919)
            b = blink_track(rng, n, rng.uniform(*TeacherConfig().blink_rate_per_min))
            expr[:, ARKIT_INDEX["eyeBlinkLeft"]] = b
            expr[:, ARKIT_INDEX["eyeBlinkRight"]] = b
        expr = emotion_face(energy_jaw(expr, request), request, self.expression_gain(request.style))
        expr = bilabial_seal(resting_mouth(expr, request, request.seed), request)
        limit = self.head_limit(request.style)
        pose = head_motion(out[:, :6], request, request.seed, limit)
        pose = style_head(pose, self.head_gain(request.style), limit)
        pose[:, 5] = np.clip(pose[:, 5], 0.5, 2.0)
        pose, gaze = style_place(pose, np.clip(out[:, 6:8], -1, 1), self.place_gain(request.style))  # on what shows
        pose[:, 5] = np.clip(pose[:, 5], 0.5, 2.0)
        clip = MotionClip(pose=pose.astype(np.float32), gaze=np.clip(gaze, -1, 1).astype(np.float32),
                          expression=expr.astype(np.float32), fps=FPS, role=request.role)
        return ramp_from(clip, request.previous)


def style_head(pose: np.ndarray, gain: np.ndarray | None, limit: np.ndarray | None = None) -> np.ndarray:
    """(T, 6) pose with the yaw, pitch and roll movement about the clip mean scaled by a style's
    head gain (3,) (None: unchanged), within `limit` (3,) rad (None: the head layer's limits,
    shaping.MAX_YAW...)."""
    if gain is None or len(pose) == 0:
        return pose
    out = pose.copy()
    mean = pose[:, :3].mean(axis=0, keepdims=True)
    out[:, :3] = mean + np.asarray(gain, np.float32)[None, :] * (pose[:, :3] - mean)
    for c, lim in enumerate((MAX_YAW, MAX_PITCH, MAX_ROLL) if limit is None else limit):
        out[:, c] = np.clip(out[:, c], -lim, lim)
    return out


def style_place(pose: np.ndarray, gaze: np.ndarray, gain: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(pose (T, 6), gaze (T, 2)) with the x, y, scale and gaze x, y movement about the clip mean
    scaled by a style's place gain (5,) (None: unchanged). Like the head gain it acts on the
    shown motion, outside the generator's loop: the model's context keeps its own motion."""
    if gain is None or len(pose) == 0:
        return pose, gaze
    g = np.asarray(gain, np.float32)
    pose, gaze = pose.copy(), np.array(gaze, np.float32)
    pm, gm = pose[:, 3:6].mean(axis=0, keepdims=True), gaze.mean(axis=0, keepdims=True)
    pose[:, 3:6] = pm + g[None, :3] * (pose[:, 3:6] - pm)
    return pose, gm + g[None, 3:] * (gaze - gm)


# Channels whose window joins are smoothed: all but the blinks (re-drawn post hoc).
_JOIN_CHANNELS = np.array([c for c in range(60) if c - 8 not in (ARKIT_INDEX["eyeBlinkLeft"], ARKIT_INDEX["eyeBlinkRight"])])


def _join(context: np.ndarray, window: np.ndarray, frames: float = 3.0) -> np.ndarray:
    """Continuity correction at a window join: the mismatch between the window's first frame and
    the context's last frame extrapolated by one step decays over ~`frames` frames. The model is
    trained to continue its context (velocity loss across the join); this removes what is left."""
    if len(context) < 2:
        return window
    c = _JOIN_CHANNELS
    expected = context[-1, c] + np.clip(context[-1, c] - context[-2, c], -0.05, 0.05)
    decay = np.exp(-np.arange(len(window)) / frames)[:, None]
    out = window.copy()
    out[:, c] += (expected - window[0, c]) * decay
    return out


def make_motion_generator(settings: MotionSettings, styles_dir: str | Path | None = None) -> MotionGenerator:
    """The generator named by settings.generator (transformer | teacher).

    Raises:
        ValueError: unknown generator name.
        FileNotFoundError: the transformer's checkpoint is missing.
    """
    if settings.generator == "teacher":
        return TeacherMotionGenerator()
    if settings.generator == "transformer":
        return TransformerMotionGenerator(settings.checkpoint or DEFAULT_CHECKPOINT, styles_dir=styles_dir)
    raise ValueError(f"unknown motion generator {settings.generator!r}; expected transformer or teacher")
