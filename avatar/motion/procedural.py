"""Procedural motion primitives used by the teacher: coarticulated visemes, bumps, low-frequency
noise, blinks as a renewal process, gaze saccades. Pure numpy; every random draw comes from `rng`."""

from __future__ import annotations

import numpy as np

from avatar.motion.clip import ARKIT_INDEX, ARKIT_NAMES, FPS
from avatar.motion.visemes import NUM_VISEMES, TARGET_MATRIX, VISEMES, viseme_of
from avatar.voice.base import TimedUnit

# Viseme dominance in the blend: bilabials and labiodentals must win (lips have to meet).
_DOMINANCE = np.ones(NUM_VISEMES, np.float32)
for _v, _d in {"PP": 2.5, "FF": 1.8, "TH": 1.2, "CH": 1.3, "U": 1.3, "O": 1.2, "aa": 1.1}.items():
    _DOMINANCE[VISEMES.index(_v)] = _d


def frame_times(num_frames: int, fps: int = FPS) -> np.ndarray:
    """(T,) frame centres in seconds."""
    return (np.arange(num_frames) + 0.5) / fps


def gaussian_smooth(x: np.ndarray, sigma_frames: float) -> np.ndarray:
    """Gaussian smoothing along axis 0 with edge padding (sigma in frames)."""
    if sigma_frames <= 0 or len(x) == 0:
        return x
    r = int(np.ceil(3 * sigma_frames))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma_frames) ** 2)
    k /= k.sum()
    pad = [(r, r)] + [(0, 0)] * (x.ndim - 1)
    xp = np.pad(x, pad, mode="edge")
    if x.ndim == 1:
        return np.convolve(xp, k, mode="valid").astype(np.float32)
    return np.stack([np.convolve(xp[:, j], k, mode="valid") for j in range(x.shape[1])], 1).astype(np.float32)


def coarticulated_mouth(phonemes: tuple[TimedUnit, ...], num_frames: int, anticipation_s: float = 0.05,
                        fps: int = FPS) -> tuple[np.ndarray, np.ndarray]:
    """Mouth coefficients from phoneme timings by dominance blending (Cohen-Massaro style).

    Each phoneme contributes its viseme's ARKit target through a Gaussian kernel centred
    `anticipation_s` before its midpoint, width ~ its duration (so neighbours overlap); the blend is
    normalised, then gated by speech activity so the mouth closes in pauses.
    Returns (expression (T, 52) float32 with only mouth columns set, gate (T,) in [0, 1]).
    """
    t = frame_times(num_frames, fps)
    weights = np.zeros((num_frames, NUM_VISEMES), np.float32)
    active = np.zeros(num_frames, np.float32)
    for ph in phonemes:
        v = viseme_of(ph.symbol)
        dur = max(ph.end - ph.start, 1e-3)
        centre = 0.5 * (ph.start + ph.end) - anticipation_s
        sigma = float(np.clip(0.5 * dur, 0.04, 0.09))
        lo = max(int((centre - 3 * sigma) * fps), 0)
        hi = min(int((centre + 3 * sigma) * fps) + 2, num_frames)
        if hi > lo:
            weights[lo:hi, v] += _DOMINANCE[v] * np.exp(-0.5 * ((t[lo:hi] - centre) / sigma) ** 2)
        a, b = int((ph.start - anticipation_s) * fps), int(np.ceil((ph.end - anticipation_s) * fps))
        active[max(a, 0):max(min(b, num_frames), 0)] = 1.0
    gate = np.clip(gaussian_smooth(active, 0.06 * fps), 0.0, 1.0)
    total = weights.sum(axis=1, keepdims=True)
    blend = (weights / np.maximum(total, 1e-6)) @ TARGET_MATRIX  # (T, 52)
    blend *= np.clip(total * 4.0, 0.0, 1.0)  # fade where no kernel reaches (long gaps)
    return (blend * gate[:, None]).astype(np.float32), gate.astype(np.float32)


def bump(num_frames: int, centre_s: float, sigma_s: float, fps: int = FPS) -> np.ndarray:
    """(T,) Gaussian bump of height 1."""
    return np.exp(-0.5 * ((frame_times(num_frames, fps) - centre_s) / sigma_s) ** 2).astype(np.float32)


def plateau(num_frames: int, start_s: float, end_s: float, ramp_s: float = 0.3, fps: int = FPS) -> np.ndarray:
    """(T,) 0 -> 1 over `ramp_s` from start_s (smoothstep), 1 until end_s, back to 0 over ramp_s."""
    t = frame_times(num_frames, fps)
    up = np.clip((t - start_s) / ramp_s, 0, 1)
    down = np.clip((end_s + ramp_s - t) / ramp_s, 0, 1)
    x = np.minimum(up, down)
    return (x * x * (3 - 2 * x)).astype(np.float32)


def smooth_noise(rng: np.random.Generator, num_frames: int, knot_s: float, amp: float, fps: int = FPS) -> np.ndarray:
    """(T,) low-frequency noise: random knots every `knot_s`, interpolated and smoothed; std ~amp."""
    n_knots = int(num_frames / (knot_s * fps)) + 3
    knots = rng.normal(0.0, 1.0, n_knots)
    x = np.interp(np.arange(num_frames), np.arange(n_knots) * knot_s * fps, knots)
    x = gaussian_smooth(x.astype(np.float32), 0.5 * knot_s * fps)
    return (x * amp / 0.7).astype(np.float32)  # smoothing shrinks the std to ~0.7


def blink_track(rng: np.random.Generator, num_frames: int, rate_per_min: float,
                duration_s: tuple[float, float] = (0.12, 0.35), shape: float = 3.0, fps: int = FPS) -> np.ndarray:
    """(T,) eyelid closure in [0, 1] from a renewal process with gamma inter-blink intervals.

    Mean interval 60 / rate_per_min; gamma shape > 1 keeps blinks from bunching. Each blink closes
    in 35% of its duration and reopens in the rest; each frame holds the max of 4 sub-samples so
    short blinks still reach full closure at 25 fps.
    """
    mean = 60.0 / max(rate_per_min, 1e-3)
    total = num_frames / fps
    sub = 4
    ts = (np.arange(num_frames * sub) + 0.5) / (fps * sub)
    out = np.zeros(num_frames * sub, np.float32)
    t = rng.uniform(0.1, mean)
    while t < total:
        d = rng.uniform(*duration_s)
        lo, hi = np.searchsorted(ts, t), np.searchsorted(ts, t + d)
        u = (ts[lo:hi] - t) / d
        out[lo:hi] = np.maximum(out[lo:hi], np.where(u < 0.35, u / 0.35, (1 - u) / 0.65))
        t += d + rng.gamma(shape, mean / shape)
    return np.clip(out.reshape(num_frames, sub).max(axis=1) * 1.15, 0.0, 1.0)


def gaze_saccades(rng: np.random.Generator, num_frames: int, mean_fixation_s: float, away_prob: float,
                  fps: int = FPS) -> np.ndarray:
    """(T, 2) gaze: fixations (gamma durations) near the partner, sometimes looking away; each
    saccade takes ~2 frames."""
    out = np.zeros((num_frames, 2), np.float32)
    i = 0
    while i < num_frames:
        n = max(int(rng.gamma(2.0, mean_fixation_s / 2.0) * fps), 3)
        if rng.random() < away_prob:
            target = rng.normal(0.0, [0.3, 0.12])
        else:
            target = rng.normal(0.0, 0.04, 2)
        out[i:i + n] = np.clip(target, -1, 1)
        i += n
    return gaussian_smooth(out, 0.6)


def eye_look_coefficients(gaze: np.ndarray) -> np.ndarray:
    """(T, 52) eyeLook* coefficients matching gaze (x > 0: the avatar looks to its left)."""
    out = np.zeros((len(gaze), len(ARKIT_NAMES)), np.float32)
    gx, gy = gaze[:, 0], gaze[:, 1]
    for name, val in (("eyeLookOutLeft", gx), ("eyeLookInRight", gx), ("eyeLookInLeft", -gx),
                      ("eyeLookOutRight", -gx), ("eyeLookUpLeft", gy), ("eyeLookUpRight", gy),
                      ("eyeLookDownLeft", -gy), ("eyeLookDownRight", -gy)):
        out[:, ARKIT_INDEX[name]] = np.clip(val, 0, 1)
    return out


def expression_vector(coeffs: dict[str, float]) -> np.ndarray:
    """(52,) from an {arkit_name: weight} dict; unknown names are skipped."""
    v = np.zeros(len(ARKIT_NAMES), np.float32)
    for name, w in coeffs.items():
        if name in ARKIT_INDEX:
            v[ARKIT_INDEX[name]] = w
    return v
