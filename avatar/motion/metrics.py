"""Motion quality measures that need no downloaded evaluator. Pure numpy.

- lip sync: mouth aperture vs audio RMS energy (50 ms windows), both min-max normalised over speech
  frames: mean absolute difference (MAD) and the audio-video offset at the cross-correlation peak
  (frames; > 0 means the mouth lags the audio).
- mouth level in pauses >= 300 ms (silent-lip stability).
- blinks: rate per minute and durations.
- head motion: variance of yaw/pitch/roll and SID, the Shannon index (natural-log entropy) of the
  distribution of 1-second head-motion windows over k-means clusters. Clusters must be shared by
  everything compared (fit `kmeans` on the pooled codes), else the indices are not comparable;
  SID ranges from 0 (one kind of motion) to ln k (all kinds equally often).
- listening: fraction of the partner's pauses answered by a nod within 1 s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avatar.motion.clip import ARKIT_INDEX, MotionClip
from avatar.motion.features import rms_energy, speech_activity
from avatar.motion.procedural import gaussian_smooth


@dataclass(frozen=True, slots=True)
class LipSync:
    mad: float  # mean |aperture - energy| over speech frames, both normalised to [0, 1]
    offset_frames: int  # lag of the cross-correlation peak (> 0: mouth after audio)
    correlation: float  # Pearson correlation at that lag


def mouth_aperture(clip: MotionClip) -> np.ndarray:
    """(T,) jaw-based aperture: jawOpen minus lips pressed shut (mouthClose), clipped at 0."""
    return np.clip(clip.coeff("jawOpen") - 0.5 * clip.coeff("mouthClose"), 0, None).astype(np.float64)


def _minmax(x: np.ndarray, sel: np.ndarray) -> np.ndarray:
    lo, hi = float(x[sel].min()), float(x[sel].max())
    return (x - lo) / (hi - lo) if hi - lo > 1e-9 else np.zeros_like(x)


def lip_sync_signals(aperture: np.ndarray, energy: np.ndarray, max_lag: int = 10) -> LipSync:
    """Lip sync of two (T,) frame signals (any units). Speech frames come from the energy.

    Returns LipSync with NaN mad if there is no speech."""
    n = min(len(aperture), len(energy))
    a, e = np.asarray(aperture[:n], np.float64), np.asarray(energy[:n], np.float64)
    speech = speech_activity(e)
    if speech.sum() < 3:
        return LipSync(float("nan"), 0, float("nan"))
    an, en = _minmax(a, speech), _minmax(e, speech)
    mad = float(np.abs(an - en)[speech].mean())
    best, best_lag = -np.inf, 0
    for lag in range(-max_lag, max_lag + 1):  # aperture[t + lag] against energy[t]
        x, y = (an[lag:], en[: n - lag]) if lag >= 0 else (an[: n + lag], en[-lag:])
        if len(x) < 3 or x.std() < 1e-9 or y.std() < 1e-9:
            continue
        c = float(np.corrcoef(x, y)[0, 1])
        if c > best:
            best, best_lag = c, lag
    return LipSync(mad, best_lag, best if np.isfinite(best) else float("nan"))


def lip_sync(clip: MotionClip, pcm: np.ndarray, sample_rate: int) -> LipSync:
    """Lip sync of a clip against its audio (50 ms RMS windows at the clip's frame centres)."""
    return lip_sync_signals(mouth_aperture(clip), rms_energy(pcm, sample_rate, clip.num_frames, clip.fps))


def pause_mouth_level(clip: MotionClip, pcm: np.ndarray, sample_rate: int, min_pause_s: float = 0.3) -> float:
    """Mean aperture over frames of pauses >= min_pause_s inside or after speech (NaN if none)."""
    energy = rms_energy(pcm, sample_rate, clip.num_frames, clip.fps)
    act = speech_activity(energy)
    if not act.any():
        return float("nan")
    ap = mouth_aperture(clip)
    first = int(np.argmax(act))
    vals, run = [], []
    for t in range(first, clip.num_frames):
        if not act[t]:
            run.append(t)
        if act[t] or t == clip.num_frames - 1:
            if len(run) >= min_pause_s * clip.fps:
                vals += list(ap[run[2:-2]] if len(run) > 6 else ap[run])  # skip the closing edges
            run = []
    return float(np.mean(vals)) if vals else float("nan")


def blink_stats(clip: MotionClip, threshold: float = 0.2) -> tuple[float, np.ndarray]:
    """(blinks per minute, (N,) durations in s): runs of mean eyeBlink above `threshold`."""
    lid = 0.5 * (clip.coeff("eyeBlinkLeft") + clip.coeff("eyeBlinkRight")) > threshold
    edges = np.diff(np.concatenate([[0], lid.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    minutes = clip.num_frames / clip.fps / 60.0
    return (len(starts) / minutes if minutes > 0 else 0.0), (ends - starts) / clip.fps


def head_variance(clip: MotionClip) -> float:
    """Sum of the variances of yaw, pitch and roll (rad^2)."""
    return float(clip.pose[:, :3].var(axis=0).sum())


def head_motion_codes(clip: MotionClip, window: int = 25, hop: int = 12) -> np.ndarray:
    """(N, 9) per 1-s window: mean rotation, rotation std and mean |velocity| (yaw, pitch, roll),
    each in degrees (per frame for velocity)."""
    rot = np.degrees(clip.pose[:, :3].astype(np.float64))
    vel = np.abs(np.diff(rot, axis=0, prepend=rot[:1]))
    rows = [np.concatenate([rot[s:s + window].mean(0), rot[s:s + window].std(0), vel[s:s + window].mean(0)])
            for s in range(0, max(len(rot) - window + 1, 1), hop)]
    return np.asarray(rows)


def kmeans(x: np.ndarray, k: int, seed: int = 0, iters: int = 50) -> np.ndarray:
    """(k, d) centroids by Lloyd's algorithm with k-means++ seeding."""
    rng = np.random.default_rng(seed)
    k = min(k, len(x))
    cent = [x[rng.integers(len(x))]]
    for _ in range(k - 1):
        d = np.min(((x[:, None] - np.asarray(cent)[None]) ** 2).sum(-1), axis=1)
        cent.append(x[rng.choice(len(x), p=d / d.sum())] if d.sum() > 0 else x[rng.integers(len(x))])
    c = np.asarray(cent, np.float64)
    for _ in range(iters):
        lab = assign(x, c)
        new = np.array([x[lab == j].mean(0) if (lab == j).any() else c[j] for j in range(k)])
        if np.allclose(new, c):
            break
        c = new
    return c


def assign(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    return np.argmin(((x[:, None] - centroids[None]) ** 2).sum(-1), axis=1)


def shannon_index(labels: np.ndarray, k: int) -> float:
    """-sum p ln p of the cluster frequencies (0 .. ln k)."""
    p = np.bincount(labels, minlength=k) / max(len(labels), 1)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def nods(clip: MotionClip, threshold_rad: float = 0.025) -> np.ndarray:
    """(N,) times (s) of nods: local maxima of pitch above its 1-s moving baseline by > threshold."""
    pitch = clip.pose[:, 1].astype(np.float64)
    hp = pitch - gaussian_smooth(pitch.astype(np.float32), clip.fps * 0.5)
    peaks = [t for t in range(1, len(hp) - 1) if hp[t] > threshold_rad and hp[t] >= hp[t - 1] and hp[t] > hp[t + 1]]
    return (np.asarray(peaks, np.float64) + 0.5) / clip.fps


def nods_answered(clip: MotionClip, pauses: list[tuple[float, float]], within_s: float = 1.0) -> float:
    """Fraction of pauses (start_s, end_s) followed by a nod within `within_s` (NaN if none)."""
    if not pauses:
        return float("nan")
    times = nods(clip)
    hit = [bool(((times >= s) & (times <= s + within_s)).any()) for s, _ in pauses]
    return float(np.mean(hit))


def seam_ratio(clip: MotionClip, window: int, columns: slice = slice(None)) -> tuple[float, float]:
    """(mean max-abs per-frame change at window joins, same inside windows) over motion columns."""
    x = np.concatenate([clip.pose, clip.gaze, clip.expression], axis=1)[:, columns]
    step = np.abs(np.diff(x, axis=0)).max(axis=1)  # step[t] = change from frame t to t + 1
    joins = np.arange(window - 1, len(step), window)
    inside = np.setdiff1d(np.arange(len(step)), joins)
    if not len(joins):
        return float("nan"), float(step.mean()) if len(step) else float("nan")
    return float(step[joins].mean()), float(step[inside].mean())


def blink_column_indices() -> list[int]:
    return [ARKIT_INDEX["eyeBlinkLeft"], ARKIT_INDEX["eyeBlinkRight"]]


# The channels that shape the mouth for speech (visemes), as opposed to expression or blinks.
MOUTH_SHAPE_NAMES = ("jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthStretchLeft",
                     "mouthStretchRight", "mouthRollLower", "mouthRollUpper", "mouthPressLeft",
                     "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
                     "mouthUpperUpRight")


def mouth_shape_error(clip: MotionClip, reference: MotionClip) -> float:
    """Mean absolute difference of the mouth-shape coefficients (MOUTH_SHAPE_NAMES) from a
    reference clip of the same speech, e.g. the teacher's coarticulated visemes. An energy-only
    mouth opens the jaw at the right times yet has no rounded, closed or spread shapes."""
    cols = [ARKIT_INDEX[n] for n in MOUTH_SHAPE_NAMES]
    t = min(clip.num_frames, reference.num_frames)
    return float(np.abs(clip.expression[:t, cols] - reference.expression[:t, cols]).mean())
