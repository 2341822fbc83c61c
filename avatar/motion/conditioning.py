"""Per-frame conditioning of the motion model, shared by inference, training and personalisation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avatar.motion.clip import MotionClip, Role
from avatar.motion.features import N_MELS, log_mel
from avatar.motion.visemes import NUM_VISEMES, viseme_track
from avatar.voice.base import SpeechClip
from emotion import Emotion, EmotionState

SILENCE_MEL = float(np.log(1e-6))  # log-mel of digital silence (features.log_mel's floor)
EMOTIONS: tuple[Emotion, ...] = tuple(Emotion)


@dataclass(frozen=True, slots=True)
class Conditioning:
    """mel (T, N_MELS), visemes (T, NUM_VISEMES) one-hot or zeros, and the clip-wide codes."""

    mel: np.ndarray
    visemes: np.ndarray
    has_visemes: bool
    role: int  # 0 speaking, 1 listening
    emotion: int  # index into EMOTIONS
    intensity: float


def build_conditioning(speech: SpeechClip | None, num_frames: int, role: Role, emotion: EmotionState,
                       use_visemes: bool = True) -> Conditioning:
    """Conditioning for `num_frames` frames. Audio shorter than the clip is padded with silence.
    Visemes are used only when speaking with phoneme timings (the partner's mouth is not ours)."""
    if speech is not None and len(speech.pcm) > 0:
        mel = log_mel(speech.pcm, speech.sample_rate, num_frames)
    else:
        mel = np.full((num_frames, N_MELS), SILENCE_MEL, np.float32)
    has_vis = bool(use_visemes and role is Role.SPEAKING and speech is not None and speech.phonemes)
    vis = viseme_track(speech.phonemes, num_frames) if has_vis else np.zeros((num_frames, NUM_VISEMES), np.float32)
    return Conditioning(mel=np.nan_to_num(mel, nan=SILENCE_MEL), visemes=vis, has_visemes=has_vis,
                        role=0 if role is Role.SPEAKING else 1, emotion=EMOTIONS.index(emotion.label),
                        intensity=float(emotion.intensity))


def motion_array(clip: MotionClip) -> np.ndarray:
    """(T, 60) float32: pose 6 | gaze 2 | expression 52 (the model's motion vector)."""
    return np.concatenate([clip.pose, clip.gaze, clip.expression], axis=1).astype(np.float32)


def still_frame() -> np.ndarray:
    """(60,) the neutral frame (scale 1, everything else 0)."""
    f = np.zeros(60, np.float32)
    f[5] = 1.0
    return f


def window_slices(cond: Conditioning, motion: np.ndarray | None, start: int, context: int, window: int,
                  prefix: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Inputs of the window [start, start + window) with `context` frames before it.

    Frames outside [0, T) get silence (mel), no viseme and, for motion, the neutral frame; the
    context before frame 0 comes from `prefix` (P, 60) when given (the previous clip's last frames).
    Returns mel (K + W, M), visemes (K + W, V), context (K, 60), target (W, 60) or None.
    """
    T = cond.mel.shape[0]
    idx = np.arange(start - context, start + window)
    inside = (idx >= 0) & (idx < T)
    clipped = np.clip(idx, 0, max(T - 1, 0))
    mel = np.where(inside[:, None], cond.mel[clipped], SILENCE_MEL).astype(np.float32)
    vis = np.where(inside[:, None], cond.visemes[clipped], 0.0).astype(np.float32)
    target = None
    if motion is not None:
        full = np.where(inside[:, None], motion[clipped], still_frame())
        ctx, target = full[:context], full[context:]
    else:
        ctx = np.tile(still_frame(), (context, 1))
    if prefix is not None and len(prefix):
        before = idx[:context] < 0
        k = int(before.sum())
        pre = prefix[-k:] if len(prefix) >= k else np.concatenate([np.tile(prefix[:1], (k - len(prefix), 1)), prefix])
        ctx = ctx.copy()
        ctx[:k] = pre
    return mel, vis, ctx.astype(np.float32), None if target is None else target.astype(np.float32)
