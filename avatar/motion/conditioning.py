"""Per-frame conditioning of the motion model, shared by inference, training and personalisation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avatar.motion.clip import FPS, MotionClip, Role
from avatar.motion.features import N_MELS, find_pauses, log_mel, rms_energy, speech_activity
from avatar.motion.visemes import NUM_VISEMES, viseme_track
from avatar.voice.base import SpeechClip
from emotion import Emotion, EmotionState

SILENCE_MEL = float(np.log(1e-6))  # log-mel of digital silence (features.log_mel's floor)
EMOTIONS: tuple[Emotion, ...] = tuple(Emotion)  # the label table's order (emotion.labels)
LABEL_NAMES: tuple[str, ...] = tuple(e.value for e in EMOTIONS)
# Checkpoints written before they stored their label names were trained on these, in this order.
LEGACY_LABELS: tuple[str, ...] = ("neutral", "happy", "sad", "angry", "surprised", "fearful", "disgusted")
N_CUES = 3  # speech activity | in a pause | time since the pause began (s, capped at 1)
PAUSE_RAMP_S = 1.0


@dataclass(frozen=True, slots=True)
class Conditioning:
    """mel (T, N_MELS), visemes (T, NUM_VISEMES) one-hot or zeros, the clip-wide codes and the
    speech cues (T, N_CUES) of `speech_cues` (None = all zeros)."""

    mel: np.ndarray
    visemes: np.ndarray
    has_visemes: bool
    role: int  # 0 speaking, 1 listening
    emotion: int  # index into EMOTIONS
    intensity: float
    cues: np.ndarray | None = None


def speech_cues(speech: SpeechClip | None, num_frames: int) -> np.ndarray:
    """(T, N_CUES) float32 explicit turn-taking cues from the audio energy alone (any speech, with or
    without word timings): [speech active, inside a pause (features.find_pauses: >= 0.25 s between
    or after speech), seconds since that pause began / PAUSE_RAMP_S capped at 1]. The partner's
    pauses are where a listener nods; the speaker's own pauses are where the mouth rests."""
    cues = np.zeros((num_frames, N_CUES), np.float32)
    if speech is None or len(speech.pcm) == 0 or num_frames == 0:
        return cues
    energy = rms_energy(speech.pcm, speech.sample_rate, num_frames)
    cues[:, 0] = speech_activity(energy)
    t = (np.arange(num_frames) + 0.5) / FPS
    for start, end in find_pauses((), energy, num_frames / FPS):
        sel = (t >= start) & (t < end)
        cues[sel, 1] = 1.0
        cues[sel, 2] = np.minimum((t[sel] - start) / PAUSE_RAMP_S, 1.0)
    return cues


def label_index(emotion: Emotion, labels: tuple[str, ...]) -> int:
    """Index of `emotion` in a model's label order `labels` (names, as its checkpoint stores them).

    Raises:
        ValueError: the model was not trained with this label (the message lists its labels).
    """
    try:
        return labels.index(emotion.value)
    except ValueError:
        raise ValueError(f"the motion model was trained with the labels {', '.join(labels)} and does not know "
                         f"{emotion.value!r}; retrain it (warmchat train-motion) or use the teacher generator") from None


def build_conditioning(speech: SpeechClip | None, num_frames: int, role: Role, emotion: EmotionState,
                       use_visemes: bool = True, labels: tuple[str, ...] | None = None) -> Conditioning:
    """Conditioning for `num_frames` frames. Audio shorter than the clip is padded with silence.
    Visemes are used only when speaking with phoneme timings (the partner's mouth is not ours).
    labels: the model's label order (default: the label table's, EMOTIONS).

    Raises:
        ValueError: `emotion`'s label is not in `labels`.
    """
    if speech is not None and len(speech.pcm) > 0:
        mel = log_mel(speech.pcm, speech.sample_rate, num_frames)
    else:
        mel = np.full((num_frames, N_MELS), SILENCE_MEL, np.float32)
    has_vis = bool(use_visemes and role is Role.SPEAKING and speech is not None and speech.phonemes)
    vis = viseme_track(speech.phonemes, num_frames) if has_vis else np.zeros((num_frames, NUM_VISEMES), np.float32)
    return Conditioning(mel=np.nan_to_num(mel, nan=SILENCE_MEL), visemes=vis, has_visemes=has_vis,
                        role=0 if role is Role.SPEAKING else 1, emotion=label_index(emotion.label, labels or LABEL_NAMES),
                        intensity=float(emotion.intensity), cues=speech_cues(speech, num_frames))


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
    Returns mel (K + W, M + N_CUES) (log-mel, then the speech cues; a model uses the cue columns
    its config asks for), visemes (K + W, V), context (K, 60), target (W, 60) or None.
    """
    T = cond.mel.shape[0]
    idx = np.arange(start - context, start + window)
    inside = (idx >= 0) & (idx < T)
    clipped = np.clip(idx, 0, max(T - 1, 0))
    mel = np.where(inside[:, None], cond.mel[clipped], SILENCE_MEL).astype(np.float32)
    cues = np.zeros((len(idx), N_CUES), np.float32) if cond.cues is None else \
        np.where(inside[:, None], cond.cues[clipped], 0.0).astype(np.float32)
    mel = np.concatenate([mel, cues], axis=1)
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
