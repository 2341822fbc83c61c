"""Stage 1 of learning a talking style (`avatar.motion.mimic`): the gradient fit of the frozen
generator's style code (D,) and per-channel output affine (60 scales and shifts on the normalised
output) to a tracked video, in a fixed number of seeded steps (the same style whatever the
machine's load), on windows of the tracked motion conditioned on the video's audio (silence when
it has none) without a phoneme track: reconstruction through the posterior latent plus matching
of the per-channel mean and spread of prior-sampled motion to the person's. Frames where no face
was found are left out of the loss. Also the style file itself (`save_style`: `<styles_dir>/NAME.pt`,
which the generator loads with `MotionRequest(style=NAME)`) and its name's rule.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from avatar.motion.clip import MotionClip, Role
from avatar.motion.conditioning import build_conditioning, motion_array, still_frame, window_slices
from avatar.motion.generator import TransformerMotionGenerator
from avatar.motion.model import motion_loss
from avatar.motion.train import channel_weights
from avatar.voice.base import SpeechClip
from emotion import EmotionState

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MIN_FACE_SECONDS = 2.0
FIT_STEPS = 300          # gradient steps of the style fit (about 0.3 CPU-seconds each, one thread)


class Tracked(Protocol):
    """What avatar.face.tracking.track_video returns (TrackedVideo)."""

    motion: MotionClip
    audio: np.ndarray
    sample_rate: int
    face_found: np.ndarray



def _fill_missing(motion: np.ndarray, found: np.ndarray) -> np.ndarray:
    """Frames without a face (or non-finite) take the previous valid frame (the first valid one at
    the start) so context windows stay finite; they are masked out of the loss anyway."""
    out = motion.copy()
    valid = found & np.isfinite(out).all(axis=1)
    if not valid.any():
        return np.tile(still_frame(), (len(out), 1))
    last = out[np.argmax(valid)]
    for t in range(len(out)):
        if valid[t]:
            last = out[t]
        else:
            out[t] = last
    return out


def _moment_gap(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(60,) squared differences of per-channel mean and std of a and b (B, W, 60) over masked frames."""
    m = mask[..., None]
    n = m.sum().clamp(min=1.0)
    ma, mb = (a * m).sum((0, 1)) / n, (b * m).sum((0, 1)) / n
    sa = (((a - ma) ** 2 * m).sum((0, 1)) / n + 1e-6).sqrt()
    sb = (((b - mb) ** 2 * m).sum((0, 1)) / n + 1e-6).sqrt()
    return (ma - mb) ** 2 + (sa - sb) ** 2


def fit_style(generator: TransformerMotionGenerator, tracked: Tracked, steps: int = 300, batch_size: int = 16,
              lr: float = 0.02, seed: int = 0) -> dict[str, torch.Tensor]:
    """Fit a style to `tracked` in exactly `steps` gradient steps (seeded: the same steps give
    the same style on a loaded or a quiet machine; no time budget). Returns {"style_vec",
    "out_scale", "out_shift"} tensors plus the steps, losses, wall and process-CPU seconds.

    A video without audio is fitted against silence.

    Raises:
        ValueError: no face in the video, too few face frames, or steps < 1.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, not {steps}")
    model, cfg = generator.model, generator.config
    found = np.asarray(tracked.face_found, bool).reshape(-1)
    n = tracked.motion.num_frames
    if n == 0 or len(found) != n:
        raise ValueError(f"tracked video has {n} motion frames but {len(found)} face flags")
    if not found.any():
        raise ValueError("no face found in the reference video: cannot learn a style from it")
    if found.sum() < MIN_FACE_SECONDS * tracked.motion.fps:
        raise ValueError(f"the face is visible for only {found.sum() / tracked.motion.fps:.1f} s; "
                         f"need at least {MIN_FACE_SECONDS:.0f} s")
    audio = np.asarray(tracked.audio, np.float32)
    speech = SpeechClip(audio, int(tracked.sample_rate)) if len(audio) else None
    if speech is None:
        log.info("mimic: the video has no audio track; its motion is learned against silence")
    cond = build_conditioning(speech, n, Role.SPEAKING, EmotionState.neutral(), use_visemes=False)
    motion = _fill_missing(motion_array(tracked.motion), found)
    K, W = cfg.context, cfg.window
    starts = np.arange(0, max(n - W // 2, 1))
    starts = starts[[found[s:s + W].any() for s in starts]]

    style_vec = model.style_emb.weight[0].detach().clone().requires_grad_(True)
    out_scale = torch.ones(60, requires_grad=True)
    out_shift = torch.zeros(60, requires_grad=True)
    for p in model.parameters():
        p.requires_grad_(False)
    opt = torch.optim.Adam([style_vec, out_scale, out_shift], lr=lr)
    weights = channel_weights()
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)

    def window_masks(sel_starts):
        m = np.zeros((len(sel_starts), W), np.float32)
        for i, s in enumerate(sel_starts):
            seg = found[s:s + W]
            m[i, :len(seg)] = seg
        return torch.from_numpy(m)


    def loss_on(sel) -> torch.Tensor:
        rows = [window_slices(cond, motion, int(s), K, W) for s in sel]
        mel, vis, ctx, tgt = (torch.from_numpy(np.stack(c)) for c in zip(*rows))
        B = len(sel)
        zeros = torch.zeros(B, dtype=torch.long)  # role speaking, emotion neutral (intensity 0)
        pred, _, _ = model(mel, vis, torch.zeros(B), zeros, zeros, torch.zeros(B), ctx, target=tgt,
                           style_vec=style_vec.expand(B, -1), out_affine=(out_scale, out_shift))
        mask = window_masks(sel)
        rec, vel = motion_loss(pred, tgt, ctx, model, weights, mask=mask)
        # Moment matching with PRIOR latents: the posterior alone would let z absorb the person's
        # larger or smaller movements; per-channel mean and std of what inference samples must match.
        prior, _, _ = model(mel, vis, torch.zeros(B), zeros, zeros, torch.zeros(B), ctx,
                            style_vec=style_vec.expand(B, -1), out_affine=(out_scale, out_shift))
        moment = (weights * _moment_gap(model.normalise(prior), model.normalise(tgt), mask)).mean()
        reg = 1e-3 * ((out_scale - 1).pow(2).sum() + out_shift.pow(2).sum())
        return rec + vel + moment + reg

    model.eval()  # no dropout; gradients still flow to the style parameters
    probe = rng.choice(starts, size=min(64, len(starts)), replace=False)
    with torch.no_grad():
        before = float(loss_on(probe))
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        loss = loss_on(rng.choice(starts, size=batch_size))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    with torch.no_grad():
        after = float(loss_on(probe))
    return {"style_vec": style_vec.detach(), "out_scale": out_scale.detach(), "out_shift": out_shift.detach(),
            "steps": torch.tensor(steps), "loss_before": torch.tensor(before), "loss_after": torch.tensor(after),
            "seconds": torch.tensor(wall), "cpu_seconds": torch.tensor(cpu),
            "face_fraction": torch.tensor(float(found.mean()))}


def check_style_name(name: str) -> None:
    """Raise ValueError unless `name` is a usable style name ([A-Za-z0-9_-]{1,64})."""
    if not _NAME.match(name):
        raise ValueError(f"style name {name!r} must be 1-64 letters, digits, '_' or '-'")


def save_style(fit: dict[str, torch.Tensor], styles_dir: Path, name: str) -> Path:
    """Write `<styles_dir>/<name>.pt`. Raises ValueError for a name that is not [A-Za-z0-9_-]{1,64}."""
    check_style_name(name)
    styles_dir.mkdir(parents=True, exist_ok=True)
    path = styles_dir / f"{name}.pt"
    torch.save({k: v.half() if v.is_floating_point() and v.ndim else v for k, v in fit.items()}, path)
    return path
