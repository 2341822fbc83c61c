"""Hand-made motion for tests, frame strips and benchmarks (until the motion generator lands)."""

from __future__ import annotations

import numpy as np

from avatar.motion.clip import ARKIT_INDEX, ARKIT_NAMES, FPS, MotionClip

# One hand-made ARKit expression per emotion (both sides given where the names are sided).
EMOTION_EXPRESSIONS: dict[str, dict[str, float]] = {
    "neutral": {},
    "happy": {"mouthSmileLeft": 0.9, "mouthSmileRight": 0.9, "cheekSquintLeft": 0.6, "cheekSquintRight": 0.6,
              "eyeSquintLeft": 0.3, "eyeSquintRight": 0.3, "jawOpen": 0.12},
    "sad": {"browInnerUp": 0.9, "mouthFrownLeft": 0.8, "mouthFrownRight": 0.8, "eyeBlinkLeft": 0.25,
            "eyeBlinkRight": 0.25, "mouthPressLeft": 0.3, "mouthPressRight": 0.3},
    "angry": {"browDownLeft": 1.0, "browDownRight": 1.0, "eyeSquintLeft": 0.5, "eyeSquintRight": 0.5,
              "mouthPressLeft": 0.6, "mouthPressRight": 0.6, "noseSneerLeft": 0.4, "noseSneerRight": 0.4,
              "mouthFrownLeft": 0.3, "mouthFrownRight": 0.3},
    "surprised": {"browInnerUp": 0.9, "browOuterUpLeft": 0.9, "browOuterUpRight": 0.9, "eyeWideLeft": 0.9,
                  "eyeWideRight": 0.9, "jawOpen": 0.55, "mouthFunnel": 0.3},
    "fearful": {"browInnerUp": 1.0, "browOuterUpLeft": 0.3, "browOuterUpRight": 0.3, "eyeWideLeft": 0.8,
                "eyeWideRight": 0.8, "mouthStretchLeft": 0.8, "mouthStretchRight": 0.8, "jawOpen": 0.2},
    "disgusted": {"noseSneerLeft": 1.0, "noseSneerRight": 1.0, "mouthUpperUpLeft": 0.8, "mouthUpperUpRight": 0.8,
                  "browDownLeft": 0.5, "browDownRight": 0.5, "cheekSquintLeft": 0.5, "cheekSquintRight": 0.5,
                  "mouthFrownLeft": 0.4, "mouthFrownRight": 0.4},
}


def expression_vector(values: dict[str, float]) -> np.ndarray:
    """(52,) float32 ARKit coefficients from a {name: value} dict."""
    e = np.zeros(len(ARKIT_NAMES), np.float32)
    for name, v in values.items():
        e[ARKIT_INDEX[name]] = v
    return e


def single_frame(values: dict[str, float] | None = None, pose=(0, 0, 0, 0, 0, 1), gaze=(0, 0)) -> MotionClip:
    """A one-frame MotionClip."""
    return MotionClip(pose=np.array([pose], np.float32), gaze=np.array([gaze], np.float32),
                      expression=expression_vector(values or {})[None, :])


def demo_motion(num_frames: int, seed: int = 0, emotion: str = "neutral", jaw: np.ndarray | None = None) -> MotionClip:
    """Talking-like motion: jawOpen from `jaw` (T,) or a 3-5 Hz syllable sine, blinks every ~3 s,
    slow head sway within the generator's range, a gaze drift, and the emotion's expression."""
    rng = np.random.default_rng(seed)
    t = np.arange(num_frames) / FPS
    clip = MotionClip.still(num_frames)
    pose, gaze, ex = clip.pose.copy(), clip.gaze.copy(), clip.expression.copy()
    ex[:] = expression_vector(EMOTION_EXPRESSIONS[emotion])
    if jaw is None:
        rate = rng.uniform(3.0, 5.0)
        jaw = np.clip(0.45 * np.sin(2 * np.pi * rate * t) + 0.1, 0, None) * (0.6 + 0.4 * np.sin(0.7 * t) ** 2)
    ex[:, ARKIT_INDEX["jawOpen"]] = np.clip(ex[:, ARKIT_INDEX["jawOpen"]] + jaw, 0, 1)
    blink_at = np.arange(rng.uniform(0.5, 2.0), t[-1] + 1e-9 if num_frames else 0, 3.0)
    for b in blink_at:
        shape = np.clip(1 - np.abs(t - b) / 0.12, 0, 1)
        for name in ("eyeBlinkLeft", "eyeBlinkRight"):
            ex[:, ARKIT_INDEX[name]] = np.maximum(ex[:, ARKIT_INDEX[name]], shape)
    ph = rng.uniform(0, 2 * np.pi, 3)
    pose[:, 0] = 0.2 * np.sin(0.5 * t + ph[0])
    pose[:, 1] = 0.08 * np.sin(0.9 * t + ph[1])
    pose[:, 2] = 0.06 * np.sin(0.4 * t + ph[2])
    gaze[:, 0] = 0.3 * np.sin(0.3 * t)
    return MotionClip(pose=pose, gaze=gaze, expression=ex)


def energy_jaw(pcm: np.ndarray, sr: int, num_frames: int, fps: int = FPS) -> np.ndarray:
    """(num_frames,) jawOpen in [0, 0.7] from the audio's RMS energy in 50 ms windows centred on
    each frame (a trivial lip-sync driver for tests and benchmarks)."""
    pcm = np.asarray(pcm, np.float32)
    half = int(0.025 * sr)
    rms = np.zeros(num_frames, np.float32)
    for k in range(num_frames):
        c = int(round((k + 0.5) * sr / fps))
        w = pcm[max(0, c - half):c + half]
        rms[k] = float(np.sqrt(np.mean(w * w))) if len(w) else 0.0
    if rms.max() <= 0:
        return rms
    level = np.clip(rms / np.percentile(rms[rms > 0], 95), 0, 1)
    return (0.7 * level).astype(np.float32)


def energy_motion(pcm: np.ndarray, sr: int, emotion: str = "neutral", seed: int = 0, fps: int = FPS) -> MotionClip:
    """demo_motion whose jawOpen follows the audio energy."""
    n = max(1, int(round(len(pcm) / sr * fps)))
    return demo_motion(n, seed=seed, emotion=emotion, jaw=energy_jaw(pcm, sr, n, fps))
