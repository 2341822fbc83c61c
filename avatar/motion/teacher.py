"""The procedural teacher: speech timings + prosody + emotion + role -> plausible motion.

It is the motion generator's training signal and a fallback generator in its own right. Pure
numpy and deterministic for a given request seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avatar.motion.base import MotionRequest
from avatar.motion.clip import ARKIT_INDEX, FPS, MotionClip, Role
from avatar.motion.features import find_pauses, rms_energy
from avatar.motion.procedural import (
    blink_track, bump, coarticulated_mouth, expression_vector, eye_look_coefficients, frame_times,
    gaussian_smooth, gaze_saccades, plateau, smooth_noise,
)
from avatar.motion.visemes import is_vowel
from emotion import Emotion

MAX_SECONDS = 3600.0  # a request longer than an hour is a bug upstream
_J = ARKIT_INDEX


@dataclass(frozen=True, slots=True)
class TeacherConfig:
    anticipation_s: float = 0.05  # mouth shapes lead the sound (coarticulation)
    blink_rate_per_min: tuple[float, float] = (14.0, 22.0)  # drawn per clip
    emotion_ramp_s: float = 0.3  # onset of the emotion expression
    continuity_s: float = 0.3  # ramp from the previous clip's last frame
    nod_prob_at_pause: float = 0.85  # listening: chance of a nod at each partner pause
    smile_prob_at_pause: float = 0.35  # listening: back-channel smile
    beat_spacing_s: float = 0.7  # speaking: minimum time between head beats


def num_frames_of(request: MotionRequest) -> int:
    """Frames the request covers: duration_s if given, else the speech length.

    Raises:
        ValueError: neither is given, or the duration is not finite / out of range.
    """
    seconds = request.duration_s
    if seconds is None and request.speech is not None:
        seconds = request.speech.duration
    if seconds is None:
        raise ValueError("a motion request needs speech or duration_s")
    if not np.isfinite(seconds) or seconds < 0 or seconds > MAX_SECONDS:
        raise ValueError(f"duration {seconds} s is outside [0, {MAX_SECONDS}]")
    return max(int(np.ceil(seconds * FPS - 1e-9)), 1)


def normalised_energy(request: MotionRequest, num_frames: int) -> np.ndarray:
    """(T,) speech RMS energy / its 95th percentile, clipped to [0, 1.5]; zeros without speech."""
    if request.speech is None or len(request.speech.pcm) == 0:
        return np.zeros(num_frames, np.float32)
    e = rms_energy(request.speech.pcm, request.speech.sample_rate, num_frames)
    ref = float(np.percentile(e, 95))
    return np.clip(e / ref, 0, 1.5).astype(np.float32) if ref > 1e-4 else np.zeros(num_frames, np.float32)


def teacher_motion(request: MotionRequest, config: TeacherConfig = TeacherConfig()) -> MotionClip:
    """Motion for `request` (see MotionRequest). Never NaN; expression in [0, 1]."""
    rng = np.random.default_rng(request.seed)
    n = num_frames_of(request)
    energy = normalised_energy(request, n)
    listening = request.role is Role.LISTENING
    state, profile = request.emotion, request.profile
    arousal = float(state.arousal)
    gain = 1.0 + 0.5 * arousal  # livelier heads when aroused, calmer when sad
    pose = np.zeros((n, 6), np.float32)
    pose[:, 5] = 1.0
    expr = np.zeros((n, len(ARKIT_INDEX)), np.float32)

    # Idle sway: low-frequency noise on every pose channel (smaller while listening).
    sway = 0.6 if listening else 1.0
    for c, (knot, amp) in enumerate(((1.2, 0.035), (1.0, 0.02), (1.5, 0.018), (1.3, 0.01), (1.1, 0.008), (2.0, 0.006))):
        pose[:, c] += smooth_noise(rng, n, knot * rng.uniform(0.8, 1.25), amp * sway * gain)
    if state.label in (Emotion.SAD, Emotion.FEARFUL):
        pose[:, 1] += 0.06 * state.intensity  # head lowered (pitch > 0 looks down)
    if listening:
        pose[:, 2] += rng.uniform(-0.04, 0.04)  # an attentive tilt

    if listening:
        _listening(request, rng, n, energy, pose, expr, config)
    else:
        _speaking(request, rng, n, energy, gain, pose, expr, config)

    # Emotion expression: the profile's dictionary, ramped in (mirrored while listening).
    emo = expression_vector(profile.expression(state, listening=listening))
    onset = 0.6 if listening else 0.0  # a listener mirrors after a beat
    ramp = plateau(n, onset, np.inf, config.emotion_ramp_s)
    expr = np.maximum(expr, 0) + ramp[:, None] * emo[None, :]

    # Blinks (renewal process) and gaze (saccades) with matching eyeLook coefficients.
    blinks = blink_track(rng, n, rng.uniform(*config.blink_rate_per_min))
    expr[:, _J["eyeBlinkLeft"]] = np.maximum(expr[:, _J["eyeBlinkLeft"]] * (1 - blinks), blinks)
    expr[:, _J["eyeBlinkRight"]] = np.maximum(expr[:, _J["eyeBlinkRight"]] * (1 - blinks), blinks)
    gaze = gaze_saccades(rng, n, 2.2 if listening else 1.3, 0.1 if listening else 0.3)
    expr += eye_look_coefficients(gaze)

    clip = MotionClip(pose=pose, gaze=gaze, expression=np.clip(expr, 0, 1).astype(np.float32), role=request.role)
    return continue_from(clip, request.previous, config.continuity_s)


def _speaking(request, rng, n, energy, gain, pose, expr, config) -> None:
    speech = request.speech
    phonemes = speech.phonemes if speech is not None else ()
    mouth, gate = coarticulated_mouth(phonemes, n, config.anticipation_s)
    # Louder syllables open the jaw wider; the articulation scale varies per clip.
    loud = gaussian_smooth(energy, 2.0)
    scale = rng.uniform(0.85, 1.15) * (1.0 + 0.25 * request.emotion.arousal)
    mouth *= scale
    mouth[:, _J["jawOpen"]] *= 0.65 + 0.5 * np.clip(loud, 0, 1.2)
    expr += mouth
    # Head beats on stressed syllables: the loudest long vowels, at least beat_spacing_s apart.
    times = frame_times(n)
    cands = []
    for ph in phonemes:
        if is_vowel(ph.symbol):
            sel = (times >= ph.start) & (times < ph.end)
            if sel.any():
                cands.append((float(energy[sel].mean()) * (ph.end - ph.start), ph.start))
    chosen: list[float] = []
    for score, t0 in sorted(cands, reverse=True)[: max(1, int(len(cands) * 0.3))]:
        if all(abs(t0 - c) >= config.beat_spacing_s for c in chosen):
            chosen.append(t0)
    for t0 in chosen:
        amp = rng.uniform(0.02, 0.05) * gain
        pose[:, 1] += amp * bump(n, t0 + 0.06, 0.11)  # a small downward nod on the stress
        pose[:, 0] += rng.normal(0, 0.012) * bump(n, t0 + 0.06, 0.18)
        expr[:, _J["browInnerUp"]] += 0.25 * amp / 0.05 * rng.random() * bump(n, t0, 0.12)
    # Speech keeps the head a little more active than idle.
    pose[:, 1] += 0.012 * gate * np.sin(2 * np.pi * 0.4 * times + rng.uniform(0, 6.3))


def _listening(request, rng, n, energy, pose, expr, config) -> None:
    speech = request.speech
    duration = n / FPS
    if speech is not None:
        pauses = find_pauses(speech.words, energy if not speech.words else None, min(speech.duration, duration))
    else:  # idle listening (the partner types): an occasional nod
        pauses, t = [], rng.uniform(3, 6)
        while t < duration:
            pauses.append((t, t + 0.5))
            t += rng.uniform(4, 9)
    for start, _end in pauses:
        if rng.random() < config.nod_prob_at_pause:
            t0 = start + rng.uniform(0.2, 0.55)
            amp = rng.uniform(0.05, 0.09)
            pose[:, 1] += amp * bump(n, t0, 0.13)
            if rng.random() < 0.3:  # a double nod
                pose[:, 1] += 0.7 * amp * bump(n, t0 + 0.4, 0.12)
        if rng.random() < config.smile_prob_at_pause:
            s = plateau(n, start + 0.1, start + rng.uniform(0.5, 1.0), 0.3) * rng.uniform(0.2, 0.35)
            s *= request.emotion.valence >= 0  # no back-channel smile at a sad, angry or afraid partner
            expr[:, _J["mouthSmileLeft"]] += s
            expr[:, _J["mouthSmileRight"]] += s
            expr[:, _J["cheekSquintLeft"]] += 0.4 * s
            expr[:, _J["cheekSquintRight"]] += 0.4 * s
        if rng.random() < 0.3:
            expr[:, _J["browInnerUp"]] += 0.15 * bump(n, start + 0.3, 0.25)


def continue_from(clip: MotionClip, previous: MotionClip | None, ramp_s: float = 0.3) -> MotionClip:
    """`clip` offset so that it starts at `previous`'s last frame and returns to itself over ramp_s."""
    if previous is None or previous.num_frames == 0:
        return clip
    n = clip.num_frames
    x = np.clip((np.arange(n) + 1) / (ramp_s * clip.fps), 0, 1)
    w = (1 - x * x * (3 - 2 * x))[:, None].astype(np.float32)
    pose = clip.pose + (previous.pose[-1] - clip.pose[0]) * w
    gaze = clip.gaze + (previous.gaze[-1] - clip.gaze[0]) * w
    expr = np.clip(clip.expression + (previous.expression[-1] - clip.expression[0]) * w, 0, 1)
    return MotionClip(pose.astype(np.float32), gaze.astype(np.float32), expr.astype(np.float32),
                      fps=clip.fps, role=clip.role, meta=dict(clip.meta))
