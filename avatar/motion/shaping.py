"""Deterministic shaping of generated motion: the emotion's face from the profile, emotion ramps,
a mouth that rests naturally in pauses, and a livelier head.

The transformer learned its emotion faces from the teacher's corpus; the face an emotion shows is
the label table's (emotion.labels) through the avatar's profile, so after generation the
expression channels that carry emotion are set from the profile (the model's own movement on
them, such as brow raises on stressed words, is kept as deviations from its clip level), and a
change of emotion from the previous clip ramps in over RAMP_S instead of popping.
"""

from __future__ import annotations

import numpy as np

from avatar.motion.base import MotionRequest
from avatar.motion.clip import ARKIT_INDEX, FPS, MotionClip, Role
from avatar.motion.procedural import expression_vector, plateau

RAMP_S = 0.3            # an emotion change between clips ramps over this long (0.2-0.5 s)
LISTENER_ONSET_S = 0.6  # a listener mirrors the partner after a beat (as the teacher does)

# A listener's back-channel smile (teacher, live listener): held back for a partner whose feeling is negative.
BACKCHANNEL_SMILE = ("mouthSmileLeft", "mouthSmileRight", "cheekSquintLeft", "cheekSquintRight")
# Channels that only carry emotion (speech barely uses them): set from the profile.
_AFFECT = ("browInnerUp", "browDownLeft", "browDownRight", "browOuterUpLeft", "browOuterUpRight",
           "eyeSquintLeft", "eyeSquintRight", "eyeWideLeft", "eyeWideRight", "cheekSquintLeft",
           "cheekSquintRight", "noseSneerLeft", "noseSneerRight", "mouthSmileLeft", "mouthSmileRight",
           "mouthFrownLeft", "mouthFrownRight", "mouthDimpleLeft", "mouthDimpleRight", "mouthShrugLower",
           "mouthUpperUpLeft", "mouthUpperUpRight", "mouthPressLeft", "mouthPressRight")
AFFECT_COLUMNS = np.array([ARKIT_INDEX[n] for n in _AFFECT])
_SMILE_IN_AFFECT = np.array([_AFFECT.index(n) for n in BACKCHANNEL_SMILE])
# Channels an emotion may also hold (surprise drops the jaw, fear stretches the lips, sadness
# lowers the lids): the profile's value is a floor under the speech movement and the blinks.
_FLOOR = ("jawOpen", "mouthFunnel", "mouthStretchLeft", "mouthStretchRight", "eyeBlinkLeft", "eyeBlinkRight")
FLOOR_COLUMNS = np.array([ARKIT_INDEX[n] for n in _FLOOR])
# At a join the emotion's channels (its floors included: sad's heavy lids and stretched lips)
# crossfade from the previous clip's last frame: the model continues its context for a few frames
# and then drops, which an offset alone would pass through as a jump. The speech channels among
# the floors (jaw, funnel) are offset instead, so the first syllable keeps its movement.
_SPEECH_FLOORS = np.array([ARKIT_INDEX["jawOpen"], ARKIT_INDEX["mouthFunnel"]])
_FADED_COLUMNS = np.array([c for c in np.concatenate([AFFECT_COLUMNS, FLOOR_COLUMNS]) if c not in _SPEECH_FLOORS])


def emotion_face(expression: np.ndarray, request: MotionRequest, own_gain: np.ndarray | None = None) -> np.ndarray:
    """(T, 52) expression with the request's emotion face from its profile.

    Affect channels: profile value x onset ramp + the model's movement above its clip median
    (times `own_gain` (52,), a style's gain on that movement: mimic's calibration; None: 1);
    floor channels: at least the profile value. Listening shows the profile's listener face for
    the partner's emotion (EmotionProfile.expression: mirroring x the partner's intensity).
    The onset ramps from neutral, except for speech that continues a previous clip (`ramp_from`
    then fades from where that one ended).
    """
    n = len(expression)
    listening = request.role is Role.LISTENING
    face = expression_vector(request.profile.expression(request.emotion, listening=listening))
    joined = not listening and request.previous is not None and request.previous.num_frames > 0
    ramp = np.ones((n, 1), np.float32) if joined else \
        plateau(n, LISTENER_ONSET_S if listening else 0.0, np.inf, RAMP_S)[:, None]
    out = expression.copy()
    a = AFFECT_COLUMNS
    own = np.maximum(expression[:, a] - np.median(expression[:, a], axis=0, keepdims=True), 0.0)
    if listening and request.emotion.valence < 0:
        own[:, _SMILE_IN_AFFECT] = 0.0  # no back-channel smiles at a person who is sad, angry or afraid
    if own_gain is not None:
        own = own * np.asarray(own_gain, np.float32)[a]
    out[:, a] = ramp * face[a] + own
    f = FLOOR_COLUMNS
    out[:, f] = np.maximum(expression[:, f], ramp * face[f])
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def ramp_from(clip: MotionClip, previous: MotionClip | None, seconds: float = RAMP_S) -> MotionClip:
    """`clip` starting from `previous`'s last frame (head pose, gaze and the emotion's channels)
    and easing into its own over `seconds` (smoothstep), so neither an emotion change nor the head
    layer pops at the join between sentences: the emotion's channels crossfade (_FADED_COLUMNS),
    pose, gaze, jaw and funnel are offset by the gap at the join (their own movement kept)."""
    if previous is None or previous.num_frames == 0 or clip.num_frames == 0:
        return clip
    x = np.clip((np.arange(clip.num_frames) + 1) / (seconds * FPS), 0.0, 1.0)
    w = (1.0 - x * x * (3.0 - 2.0 * x))[:, None]
    expr = clip.expression.copy()
    fade, off = _FADED_COLUMNS, _SPEECH_FLOORS
    expr[:, fade] = (1.0 - w) * clip.expression[:, fade] + w * previous.expression[-1, fade]
    expr[:, off] += (previous.expression[-1, off] - clip.expression[0, off]) * w
    pose = clip.pose + (previous.pose[-1] - clip.pose[0]) * w
    gaze = clip.gaze + (previous.gaze[-1] - clip.gaze[0]) * w
    return MotionClip(pose.astype(np.float32), gaze.astype(np.float32), np.clip(expr, 0.0, 1.0).astype(np.float32),
                      fps=clip.fps, role=clip.role, meta=dict(clip.meta))


# --- the mouth at rest -----------------------------------------------------------------------
# In the speaker's own pauses a real mouth is not frozen: the lips part and settle with breathing
# and swallowing (median absolute deviation of the aperture about 0.026 eye distances in real
# footage, 0.002 in the model's output). In each pause the jaw parts the lips and lets them settle
# again, a raised cosine between PAUSE_JAW's two levels, once per PAUSE_BREATH_S (at least once a
# pause, whatever its length), faded in and out over PAUSE_RAMP_S. Locking the movement to the pause
# (not a random wander) gives every pause the same spread of openings, so the aperture's deviation
# in pauses does not depend on the seed; the low level keeps the lips just apart (below jawOpen 0.1
# they barely part on hopper, below 0.25 mediapipe hardly sees the astronaut's part). Widest 0.38,
# not 0.36, since the warp renders her commanded pitch (avatar.render.rotation): her head tips
# further and the pause opening foreshortens (aperture deviation 0.007-0.010 at 0.36, 0.016 at 0.38).
PAUSE_JAW = (0.13, 0.38)  # jawOpen at the lips' closest and widest in a pause
PAUSE_BREATH_S = 0.9
PAUSE_RAMP_S = 0.08


def resting_mouth(expression: np.ndarray, request: MotionRequest, seed: int | None) -> np.ndarray:
    """(T, 52) expression with the lips parting and settling in the speaker's pauses (speaking
    with speech only; otherwise returned unchanged). The seed varies each pause's widest opening
    a little (0.9-1.0 of PAUSE_JAW's span)."""
    from avatar.motion.features import find_pauses, rms_energy
    from avatar.motion.procedural import frame_times, plateau

    n = len(expression)
    speech = request.speech
    if request.role is not Role.SPEAKING or speech is None or len(speech.pcm) == 0 or n == 0:
        return expression
    # the speaker's pauses as the teacher and the benches define them (features.find_pauses)
    pauses = find_pauses((), rms_energy(speech.pcm, speech.sample_rate, n), n / FPS)
    rng = np.random.default_rng(None if seed is None else seed + 7717)
    t = frame_times(n)
    lo, hi = PAUSE_JAW
    weight = np.zeros(n, np.float32)
    jaw = np.zeros(n, np.float32)
    for start, end in pauses:
        w = plateau(n, start, end - PAUSE_RAMP_S, PAUSE_RAMP_S)
        breaths = max(1, round((end - start) / PAUSE_BREATH_S))
        u = np.clip((t - start) / max(end - start, 1e-3), 0.0, 1.0)
        part = lo + (hi - lo) * rng.uniform(0.9, 1.0) * np.sin(np.pi * breaths * u) ** 2
        jaw = np.where(w > weight, part, jaw)
        weight = np.maximum(weight, w)
    out = expression.copy()
    j = ARKIT_INDEX["jawOpen"]
    out[:, j] = np.maximum(out[:, j], weight * jaw)
    c = ARKIT_INDEX["mouthClose"]                    # the lips are not held together in a pause
    out[:, c] *= 1.0 - weight
    return out


# --- the mouth while speaking ------------------------------------------------------------------
# The mouth opens with the voice: the model's jaw follows the visemes but only loosely the
# loudness (aperture vs speech energy r about 0.4 on its output), so the jaw (and the lower lip's
# own drop) is scaled by the frame's energy relative to the clip's loud frames. The visemes'
# closures stay closed (a product) and the mean opening stays about the same.
ENERGY_JAW = 0.6          # share of the jaw that follows the energy
_ENERGY_COLS = np.array([ARKIT_INDEX[n] for n in ("jawOpen", "mouthLowerDownLeft", "mouthLowerDownRight")])
# On m, b and p the lips meet: mouthClose lifts the lower lip by half the jaw's drop at 1 (rig),
# so the seal sets it to twice the (reduced) jaw opening, easing in and out over SEAL_RAMP_S.
BILABIALS = ("m", "b", "p")
SEAL_RAMP_S = 0.04
SEAL_HOLD_S = 0.08   # closed for at least this long (TTS gives a bilabial 20-40 ms, real lips 60-100 ms)
SEAL_PRESS = 0.05    # mouthClose beyond the exact closure: the lips press a little
SEAL_JAW = 0.5       # share of the jaw opening taken back on a bilabial


def energy_jaw(expression: np.ndarray, request: MotionRequest) -> np.ndarray:
    """(T, 52) expression whose jaw opening follows the speech energy (speaking with speech only)."""
    from avatar.motion.features import rms_energy

    speech, n = request.speech, len(expression)
    if request.role is not Role.SPEAKING or speech is None or len(speech.pcm) == 0 or n == 0:
        return expression
    energy = rms_energy(speech.pcm, speech.sample_rate, n)
    loud = energy[energy > 0.1 * energy.max()] if energy.max() > 0 else energy
    if loud.size == 0:
        return expression
    level = np.clip(energy / max(float(np.percentile(loud, 90)), 1e-6), 0.0, 1.2)
    out = expression.copy()
    out[:, _ENERGY_COLS] *= ((1.0 - ENERGY_JAW) + ENERGY_JAW * 1.6 * level)[:, None]
    return np.clip(out, 0.0, 1.0)


def bilabial_seal(expression: np.ndarray, request: MotionRequest) -> np.ndarray:
    """(T, 52) expression with the lips closed on every m/b/p of the speech's phonemes."""
    from avatar.motion.procedural import plateau

    speech, n = request.speech, len(expression)
    if request.role is not Role.SPEAKING or speech is None or n == 0:
        return expression
    seal = np.zeros(n, np.float32)
    for ph in speech.phonemes:
        if ph.symbol.lstrip("ˈˌ")[:1] in BILABIALS:
            # closed over the phoneme, and for at least SEAL_HOLD_S before its release (the lips
            # shut ahead of the burst, so the next vowel opens on time), easing in and out
            shut = min(ph.start, ph.end - SEAL_HOLD_S)
            seal = np.maximum(seal, plateau(n, shut - SEAL_RAMP_S, ph.end, SEAL_RAMP_S))
    if not seal.any():
        return expression
    out = expression.copy()
    jaw, close = ARKIT_INDEX["jawOpen"], ARKIT_INDEX["mouthClose"]
    out[:, jaw] *= 1.0 - SEAL_JAW * seal                          # the jaw rises part way ...
    for name in ("mouthLowerDownLeft", "mouthLowerDownRight", "mouthFunnel"):
        out[:, ARKIT_INDEX[name]] *= 1.0 - seal
    need = np.clip(2.0 * out[:, jaw] + SEAL_PRESS, 0.0, 1.0)      # ... and the lips close the rest, pressed
    out[:, close] = np.maximum(out[:, close], seal * need)
    return out


# --- head motion -------------------------------------------------------------------------------
# The transformer regresses towards the mean head (yaw std about 1.4 deg speaking, 0.1 listening,
# measured in bench/expression.py); real talking footage moves 3-8 deg per axis. The layer below
# scales the model's own movement (its beats and nods stay where they are) and adds a slow sway,
# both shaped by the emotion (emotion.labels HeadStyle: sad slower and lower, happy and surprised
# livelier, angry firmer). Amplitudes are the commanded ones, and the warp renders the commanded
# rotation (its turn gain makes up for its flattened depth, and each portrait's yaw and pitch are
# calibrated on its own still renders: avatar.render.rotation; bench/expression.py measures the
# rendered/commanded ratio on re-detected landmarks of the clips).
# role -> (gain on the model's movement, sway std in degrees for yaw, pitch, roll, sway knot s)
HEAD_LAYER = {Role.SPEAKING: (1.4, (2.6, 2.0, 1.3), 1.3), Role.LISTENING: (2.5, (3.4, 3.6, 1.2), 1.8)}
MAX_YAW, MAX_PITCH, MAX_ROLL = 0.45, 0.30, 0.25  # rad: beyond this the warp shows its seams


def head_motion(pose: np.ndarray, request: MotionRequest, seed: int | None,
                limit: np.ndarray | None = None) -> np.ndarray:
    """(T, 6) pose with livelier rotation: the model's yaw/pitch/roll movement about its clip mean
    x the role's gain, plus a smooth sway (procedural.smooth_noise), both x the emotion's head gain
    (weighted by intensity), sway time-scaled by the emotion's speed, plus its pitch offset, within
    `limit` (3,) yaw, pitch, roll rad (None: MAX_YAW, MAX_PITCH, MAX_ROLL; a style learned from a
    person who turns further brings its own). Deterministic for a given seed."""
    from avatar.motion.procedural import smooth_noise
    from emotion.labels import spec

    n = len(pose)
    if n == 0:
        return pose
    gain, sway_deg, knot = HEAD_LAYER[request.role]
    style = spec(request.emotion.label).head
    k = float(request.emotion.intensity)
    e_gain = 1.0 + (style.gain - 1.0) * k
    e_speed = 1.0 + (style.speed - 1.0) * k
    rng = np.random.default_rng(None if seed is None else seed + 104729)
    out = pose.copy()
    rot = pose[:, :3]
    mean = rot.mean(axis=0, keepdims=True)
    out[:, :3] = mean + gain * e_gain * (rot - mean)
    for c, amp in enumerate(sway_deg):
        out[:, c] += smooth_noise(rng, n, knot / e_speed * rng.uniform(0.85, 1.2), np.radians(amp) * e_gain)
    out[:, 1] += style.pitch * k
    for c, lim in enumerate((MAX_YAW, MAX_PITCH, MAX_ROLL) if limit is None else limit):
        out[:, c] = np.clip(out[:, c], -lim, lim)
    return out.astype(np.float32)


__all__ = ["AFFECT_COLUMNS", "BACKCHANNEL_SMILE", "HEAD_LAYER", "RAMP_S", "bilabial_seal", "emotion_face", "energy_jaw", "head_motion",
           "ramp_from", "resting_mouth"]
