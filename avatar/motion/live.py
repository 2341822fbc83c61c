"""Listening motion made live, frame by frame, from the partner's audio as it arrives.

The teacher (teacher.py) and the transformer make a listening clip from a whole recording: they see
every pause before they move. Live, the avatar must react to audio it has only just heard, so
`LiveListener` runs the teacher's listening rules causally and incrementally:

- pause cues from energy (`SpeechCues`), as `conditioning.speech_cues` defines them (speech activity relative to the
  loudest recent speech, pauses >= 0.25 s after speech), detected as the audio is pushed;
- at each detected pause, with the teacher's probabilities: a nod (sometimes a double nod), a
  back-channel smile, a brow raise; idle nods when the partner has been silent for a while;
- prosody mirrored: stressed (loud) syllables get a small brow raise, and the partner's loudness makes
  the head livelier;
- the partner's emotion, once known (`set_partner_emotion`), ramps in through the profile's listener
  expressions x mirroring, with the teacher's head-down for sad or fearful partners; the avatar's own
  feeling from the reply it just spoke (`set_own_emotion`) stays on its face, fading, where it is the
  stronger, until the partner's next feeling (not neutral) is known; no back-channel smile at a
  partner whose feeling is negative;
- idle sway, blinks (renewal process) and gaze saccades, all evaluated at absolute stream time, so the
  output continues without seams however the frames are requested.

Clocks: frames are produced at `fps` from t = 0 (`time_s` = frames made / fps). Pushed audio has its
own clock (samples / rate); it is mapped onto frame time with an offset that only grows: audio pushed
later than the frames already made (a gap, or frames produced ahead of playback) counts as heard
"now", i.e. at the next frame to be made. A reaction never starts before the next frame to be made
(every gesture starts from zero), so it can lag its pause by the frames already buffered.

Cost: one numpy pass over each pushed chunk (10 ms RMS blocks) and O(frames) vector work per
`next_frames` call: a few ms of CPU per second of output, most of it per-call overhead
(bench/realtime.py measures it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avatar.motion.clip import ARKIT_INDEX, ARKIT_NAMES, FPS, POSE_NAMES, MotionClip, Role
from avatar.motion.procedural import eye_look_coefficients, expression_vector
from avatar.motion.teacher import TeacherConfig
from emotion import Emotion, EmotionState
from emotion.labels import spec
from emotion.profile import LISTENER_EXPONENT, EmotionProfile, shown_strength

_J = ARKIT_INDEX
_N_EXPR = len(ARKIT_NAMES)
_BLOCK_S = 0.010  # audio analysis block (RMS every 10 ms)
_TEACHER = TeacherConfig()


@dataclass(frozen=True, slots=True)
class LiveListenerConfig:
    """Rules of live listening (defaults follow the teacher's listening, TeacherConfig)."""

    pause_s: float = 0.25  # quiet after speech that makes a pause (features.find_pauses' minimum)
    activity_db: float = -30.0  # a block is speech within this of the loudest recent speech ...
    snr_db: float = 12.0  # ... and this far above the noise floor
    min_rms: float = 3e-4  # ... and above this absolute RMS (digital silence is never speech)
    min_speech_s: float = 0.05  # speech needed before a following quiet counts as a pause
    reference_half_life_s: float = 5.0  # how fast the loudest-speech reference forgets
    nod_prob_at_pause: float = _TEACHER.nod_prob_at_pause
    smile_prob_at_pause: float = _TEACHER.smile_prob_at_pause
    brow_prob_at_pause: float = 0.3
    double_nod_prob: float = 0.3
    nod_amp_rad: tuple[float, float] = (0.05, 0.09)  # head pitch of a nod (positive = down)
    nod_half_width_s: float = 0.3  # a nod rises and falls over 2 x this (raised cosine)
    nod_delay_s: tuple[float, float] = (0.2, 0.55)  # nod peak after the pause began (teacher)
    idle_nod_after_s: tuple[float, float] = (4.0, 9.0)  # a nod now and then while the partner is silent
    emphasis_ratio: float = 1.8  # a block this much louder than the running speech level is a stress
    emphasis_prob: float = 0.5
    emphasis_gap_s: float = 0.6
    emotion_tau_s: float = 0.35  # time constant of the mirrored emotion's ramp
    blink_rate_per_min: tuple[float, float] = _TEACHER.blink_rate_per_min
    continuity_s: float = 0.3  # blend from the clip given to start_from


@dataclass(frozen=True, slots=True)
class _Gesture:
    """A scheduled gesture: `column` of pose (kind "pose") or expression (kind "expr") gets
    amp x a raised cosine peaking at `t_s` over [t_s - half_s, t_s + half_s] (or, with hold_s > 0,
    a smoothstep up over half_s, held hold_s, down over half_s, starting at t_s - half_s)."""

    kind: str
    column: int
    t_s: float
    amp: float
    half_s: float
    hold_s: float = 0.0

    @property
    def start_s(self) -> float:
        return self.t_s - self.half_s

    @property
    def end_s(self) -> float:
        return self.t_s + self.half_s + self.hold_s

    def values(self, t: np.ndarray) -> np.ndarray:
        """(T,) the gesture at frame times `t` (s); exactly 0 outside [start_s, end_s]."""
        if self.hold_s <= 0:
            u = np.clip((t - self.t_s) / self.half_s, -1.0, 1.0)
            return self.amp * 0.5 * (1.0 + np.cos(np.pi * u))
        up = np.clip((t - self.start_s) / self.half_s, 0.0, 1.0)
        down = np.clip((self.end_s - t) / self.half_s, 0.0, 1.0)
        x = np.minimum(up, down)
        return self.amp * x * x * (3.0 - 2.0 * x)


class _Lag:
    """A first-order lag toward a target, stepped exactly frame by frame (the same values however
    many frames a call asks for). value: a float or an array."""

    def __init__(self, value, tau_s: float) -> None:
        self.value, self.target, self.tau_s = np.asarray(value, np.float64), np.asarray(value, np.float64), tau_s

    def follow(self, targets: np.ndarray, fps: int) -> np.ndarray:
        """(n, *shape) the next n values, easing towards a target that changes frame by frame."""
        a = np.exp(-1.0 / (self.tau_s * fps))
        out = np.empty((len(targets),) + self.value.shape)
        v = self.value
        for k, target in enumerate(targets):
            v = target + (v - target) * a
            out[k] = v
        if len(targets):
            self.value, self.target = out[-1].copy(), np.asarray(targets[-1], np.float64)
        return out

    def run(self, n: int, fps: int) -> np.ndarray:
        """(n, *shape) the next n values."""
        d = np.exp(-(np.arange(n) + 1) / (self.tau_s * fps)).reshape((n,) + (1,) * self.value.ndim)
        out = self.target + (self.value - self.target) * d
        self.value = out[-1].copy()
        return out


class _Knots:
    """Low-frequency noise at absolute time: N(0, 1) knots every `spacing_s`, Catmull-Rom
    interpolated (continuous, smooth), drawn lazily from its own generator; old knots are dropped."""

    def __init__(self, rng: np.random.Generator, spacing_s: float) -> None:
        self.rng, self.spacing = rng, spacing_s
        self.base = -1  # knot index of values[0]
        self.values = list(rng.normal(0.0, 1.0, 4))

    def __call__(self, t: np.ndarray) -> np.ndarray:
        u = t / self.spacing
        i = np.floor(u).astype(np.int64)
        need = int(i.max()) + 2 - self.base
        if need >= len(self.values):
            self.values.extend(self.rng.normal(0.0, 1.0, need - len(self.values) + 1))
        v = np.asarray(self.values)
        j = i - self.base  # index of knot i in values
        p0, p1, p2, p3 = v[j - 1], v[j], v[j + 1], v[j + 2]
        f = u - i
        out = 0.5 * (2 * p1 + (p2 - p0) * f + (2 * p0 - 5 * p1 + 4 * p2 - p3) * f * f
                     + (3 * p1 - p0 - 3 * p2 + p3) * f * f * f)
        return out

    def forget_before(self, t_s: float) -> None:
        drop = int(np.floor(t_s / self.spacing)) - 2 - self.base
        if drop > 0:
            del self.values[:drop]
            self.base += drop


class SpeechCues:
    """The teacher's pause cues (conditioning.speech_cues) computed causally, one 10 ms RMS block
    of the partner's audio at a time; times are seconds of audio since the stream began.

    A block is speech when its RMS is within `activity_db` of the loudest recent speech (a peak
    that halves every `reference_half_life_s`), `snr_db` above the noise floor and above `min_rms`.
    After `min_speech_s` of speech, `pause_s` of quiet is a pause; a block `emphasis_ratio` times
    the running speech level is a stress (at most one per `emphasis_gap_s`).
    """

    def __init__(self, config: LiveListenerConfig) -> None:
        self.config = config
        self.blocks = 0  # blocks seen
        self.speaking = False
        self.loudness = 0.0  # running share (~1 s) of blocks that are speech, in [0, 1]
        self._floor: float | None = None
        self._ref = 0.0
        self._level = 0.0  # running RMS of speech blocks
        self._run = 0  # speech blocks in a row
        self._spoke = False  # speech since the last pause
        self._last_active = 0.0
        self._last_stress = -1e9

    def step(self, rms: float) -> tuple[str, float] | None:
        """One block: ("pause", the time speech stopped) or ("stress", now) or None. The event is
        known at the block's end, `self.blocks * _BLOCK_S` after the call."""
        cfg = self.config
        self.blocks += 1
        now = self.blocks * _BLOCK_S
        # noise floor: down at once, up slowly (as the energy VAD learns it)
        self._floor = max(rms, 1e-6) if self._floor is None else max(min(rms, self._floor * 1.005), 1e-6)
        self._ref = max(rms, self._ref * 0.5 ** (_BLOCK_S / cfg.reference_half_life_s))
        active = rms > max(self._floor * 10 ** (cfg.snr_db / 20), self._ref * 10 ** (cfg.activity_db / 20), cfg.min_rms)
        self.loudness += (float(active) - self.loudness) * _BLOCK_S
        if active:
            self._run += 1
            self._last_active = now
            if self._run * _BLOCK_S >= cfg.min_speech_s:
                self.speaking = self._spoke = True
            level = self._level
            self._level = rms if level == 0 else level + (rms - level) * (_BLOCK_S / 0.5)
            if self.speaking and level > 0 and rms > cfg.emphasis_ratio * level and now - self._last_stress >= cfg.emphasis_gap_s:
                self._last_stress = now
                return ("stress", now)
            return None
        self._run = 0
        if self.speaking and now - self._last_active >= cfg.pause_s:
            self.speaking = False
            if self._spoke:
                self._spoke = False
                return ("pause", self._last_active)
        return None


class LiveListener:
    """Listening motion from the partner's live audio, continuing seamlessly across calls.

    Args:
        profile: the avatar's emotion profile (listener expressions, mirroring).
        fps: motion frame rate.
        seed: seed of every random choice (None = fresh); same seed and same calls = same motion.
        config: the listening rules.
        previous: the last frames shown before listening starts (see start_from).

    Use: `push_audio` whenever microphone audio arrives, `set_partner_emotion` when the partner's
    emotion is known, `next_frames(n)` for the next n frames. Not thread-safe: one owner.
    """

    def __init__(self, profile: EmotionProfile, fps: int = FPS, seed: int | None = None,
                 config: LiveListenerConfig = LiveListenerConfig(), previous: MotionClip | None = None) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        self.profile, self.fps, self.config = profile, int(fps), config
        # one generator per process, so what each draws does not depend on how frames are requested
        rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(9)]
        self._rng, self._blink_rng, self._gaze_rng = rngs[:3]  # reactions, blinks, gaze
        # Idle sway per pose channel (the teacher's knot spacings and amplitudes, x0.6 while listening).
        self._sway = [(_Knots(r, knot * r.uniform(0.8, 1.25)), 0.6 * amp / 0.8) for r, (knot, amp) in
                      zip(rngs[3:], ((1.2, 0.035), (1.0, 0.02), (1.5, 0.018), (1.3, 0.01), (1.1, 0.008), (2.0, 0.006)))]
        self._tilt = float(self._rng.uniform(-0.04, 0.04))  # an attentive head tilt (roll)
        self._frame = 0
        self._gestures: list[_Gesture] = []
        # blinks: (start, duration) of a renewal process with gamma intervals
        self._blink_mean = 60.0 / self._blink_rng.uniform(*config.blink_rate_per_min)
        self._blinks: list[tuple[float, float]] = []
        self._next_blink = float(self._blink_rng.uniform(0.1, self._blink_mean))
        # gaze: fixations (start, target); the eyes follow the target through a fast first-order lag
        self._fixations: list[tuple[float, np.ndarray]] = [(0.0, np.zeros(2))]
        self._gaze = np.zeros(2)
        # slow states (first-order lags toward targets, continuous across calls)
        self._emotion: EmotionState | None = None
        self._own: tuple[EmotionState, float] | None = None  # the avatar's own feeling and when it was set
        self._shown = Emotion.NEUTRAL  # the label whose listener face is shown
        self._emo = _Lag(np.zeros(_N_EXPR), config.emotion_tau_s)  # the listener's expression
        self._head_down = _Lag(0.0, 0.6)  # pitch offset: head lowered for a sad partner
        self._gain = _Lag(1.0, 0.6)  # liveliness of the sway (partner's arousal and loudness)
        self._gain_base = 1.0
        # audio analysis
        self._sr: int | None = None
        self._pending = np.zeros(0, np.float32)
        self._cues = SpeechCues(config)
        self._offset_s = 0.0  # frame time = audio time + offset
        self._next_idle_nod = float(self._rng.uniform(*config.idle_nod_after_s))
        self._blend: tuple[np.ndarray, int] | None = None  # (offset (60,), frame it starts at)
        if previous is not None:
            self.start_from(previous)

    # --- input -------------------------------------------------------------------------------

    @property
    def time_s(self) -> float:
        """Frame time (s) of the next frame to be made."""
        return self._frame / self.fps

    def push_audio(self, pcm: np.ndarray, sr: int) -> None:
        """Hear a chunk of the partner's audio: (N,) mono float32 in [-1, 1] (int16 accepted) at `sr` Hz,
        any length. A change of `sr` restarts the analysis of partial blocks.

        Raises:
            ValueError: sr <= 0 or not mono.
        """
        if sr <= 0:
            raise ValueError(f"sample rate must be > 0, got {sr}")
        x = np.asarray(pcm)
        if x.ndim != 1:
            raise ValueError(f"audio must be mono (N,), got shape {x.shape}")
        x = x.astype(np.float32) / 32768.0 if x.dtype == np.int16 else np.nan_to_num(x.astype(np.float32, copy=False))
        if sr != self._sr:
            self._sr, self._pending = int(sr), np.zeros(0, np.float32)
        # audio pushed after the frames already made is heard now (the offset only grows)
        self._offset_s = max(self._offset_s, self.time_s - self._cues.blocks * _BLOCK_S)
        block = max(int(round(_BLOCK_S * sr)), 1)
        buf = np.concatenate([self._pending, x]) if self._pending.size else x
        n = len(buf) // block
        if n:
            rms = np.sqrt(np.mean(buf[:n * block].astype(np.float64).reshape(n, block) ** 2, axis=1))
            for e in rms:
                event = self._cues.step(float(e))
                if event is not None:
                    self._react(*event)
        self._pending = buf[n * block:].copy()

    def set_partner_emotion(self, emotion: EmotionState | None) -> None:
        """Mirror the partner's emotion from now on (None: back to attentive neutrality). The face
        ramps to the profile's listener expression for it (EmotionProfile.expression: mirroring x
        intensity) over ~emotion_tau_s. A feeling (not neutral) ends the mood the avatar kept from
        its own last reply (set_own_emotion): a listener who has just laughed stops smiling when
        the person says they are scared, however faintly the mirror shows their fear; a neutral
        message leaves that mood to fade, where it shows more than the mirror."""
        self._emotion = emotion
        if emotion is not None and emotion.label is not Emotion.NEUTRAL:
            self._own = None
        if emotion is None:
            self._head_down.target = np.asarray(0.0)
            self._gain_base = 1.0
        else:
            sad = emotion.label in (Emotion.SAD, Emotion.FEARFUL)
            self._head_down.target = np.asarray(0.06 * emotion.intensity if sad else 0.0)  # as the teacher does
            self._gain_base = 1.0 + 0.5 * float(emotion.arousal)
        self._retarget()

    def set_own_emotion(self, emotion: EmotionState | None) -> None:
        """The avatar's own feeling (the reply it just spoke; None: forget it). Listening after a
        sad reply, its face stays with that mood (the listener face of its own label at its own
        intensity, as a full mirror would show it), fading over the profile's decay half-life,
        while the partner's mirrored feeling shows less; so the face does not contradict what it
        has just said."""
        self._own = None if emotion is None or emotion.label is Emotion.NEUTRAL else (emotion, self.time_s)
        self._retarget()

    def _retarget(self) -> None:
        """The label shown from now on, for the back-channel rule (the face itself: _targets)."""
        self._shown = self._face_at(np.array([self.time_s]))[0][0]

    def _face_at(self, t: np.ndarray) -> list[tuple[Emotion, float]]:
        """Per frame time: (label, strength) of the listener face shown: the stronger of the partner's
        mirror and the avatar's own mood, which fades with the profile's decay half-life."""
        partner = (Emotion.NEUTRAL, 0.0)
        if self._emotion is not None:
            partner = (self._emotion.label, self.profile.listener_strength(self._emotion))
        if self._own is None:
            return [partner] * len(t)
        own, since = self._own
        left = own.intensity * 0.5 ** (np.maximum(t - since, 0.0) / self.profile.decay_half_life_s)
        return [(own.label, s) if s > partner[1] else partner
                for s in (shown_strength(float(x), LISTENER_EXPONENT) for x in left)]

    def _targets(self, t: np.ndarray) -> np.ndarray:
        """(T, 52) the listener face to ease towards at each frame time `t`."""
        cache: dict[tuple[Emotion, float], np.ndarray] = {}
        out = np.zeros((len(t), _N_EXPR))
        for k, key in enumerate(self._face_at(t)):
            if key not in cache:
                cache[key] = expression_vector(self.profile.listener_face(*key))
            out[k] = cache[key]
        return out

    def start_from(self, previous: MotionClip | None) -> None:
        """Continue from `previous`'s last frame (e.g. the avatar just stopped speaking): the next
        frames blend from it into listening over continuity_s. Audio pushed from now on is heard at
        the next frame to be made, and reactions planned for audio not yet shown are dropped."""
        self._offset_s = self.time_s - self._cues.blocks * _BLOCK_S
        self._gestures = [g for g in self._gestures if g.start_s < self.time_s]
        if previous is None or previous.num_frames == 0:
            self._blend = None
            return
        last = np.concatenate([previous.pose[-1], previous.gaze[-1], previous.expression[-1]]).astype(np.float64)
        self._blend = (last, self._frame)

    # --- output ------------------------------------------------------------------------------

    def next_frames(self, n: int) -> MotionClip:
        """The next `n` listening frames (a LISTENING MotionClip at `fps`, T = n; pose (n, 6), gaze
        (n, 2), expression (n, 52) in [0, 1]). Frame k of the stream is at time (k + 0.5) / fps.

        Raises:
            ValueError: n < 0.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if n == 0:
            return MotionClip.still(0, fps=self.fps, role=Role.LISTENING)
        t = (self._frame + np.arange(n) + 0.5) / self.fps
        self._idle_nods(t[-1])
        pose = np.zeros((n, len(POSE_NAMES)))
        pose[:, 5] = 1.0
        expr = np.zeros((n, _N_EXPR))

        # slow states: exact first-order lags at frame steps (the same whatever n is)
        head_down = self._head_down.run(n, self.fps)
        self._gain.target = np.asarray(self._gain_base + 0.3 * self._cues.loudness)
        gain = self._gain.run(n, self.fps)
        emo = self._emo.follow(self._targets(t), self.fps)
        if self._own is not None:
            self._shown = self._face_at(t[-1:])[0][0]
        for c, (knots, amp) in enumerate(self._sway):
            pose[:, c] += amp * gain * knots(t)
            knots.forget_before(t[0])
        pose[:, 1] += head_down
        pose[:, 2] += self._tilt

        for g in self._gestures:
            if g.end_s >= t[0] and g.start_s <= t[-1]:
                (pose if g.kind == "pose" else expr)[:, g.column] += g.values(t)
        self._gestures = [g for g in self._gestures if g.end_s >= t[-1]]
        expr = np.maximum(expr, 0.0) + emo

        blinks = self._blink_values(t)
        for name in ("eyeBlinkLeft", "eyeBlinkRight"):
            expr[:, _J[name]] = np.maximum(expr[:, _J[name]] * (1 - blinks), blinks)
        gaze = self._gaze_values(t)
        expr += eye_look_coefficients(gaze.astype(np.float32))

        if self._blend is not None:
            offset, f0 = self._blend
            if self._frame == f0:  # the first frame made after start_from: measure the jump
                offset = offset - np.concatenate([pose[0], gaze[0], expr[0]])
                self._blend = (offset, f0)
            x = np.clip((self._frame - f0 + np.arange(n) + 1) / (self.config.continuity_s * self.fps), 0, 1)
            w = (1 - x * x * (3 - 2 * x))[:, None]
            pose += offset[None, :6] * w
            gaze = gaze + offset[None, 6:8] * w
            expr += offset[None, 8:] * w
            if x[-1] >= 1:
                self._blend = None
        self._frame += n
        pose[:, 5] = np.clip(pose[:, 5], 0.5, 2.0)
        return MotionClip(pose=pose.astype(np.float32), gaze=np.clip(gaze, -1, 1).astype(np.float32),
                          expression=np.clip(expr, 0, 1).astype(np.float32), fps=self.fps, role=Role.LISTENING)

    # --- reactions ---------------------------------------------------------------------------

    def _react(self, kind: str, t_audio: float) -> None:
        """A cue heard: map its audio time onto frame time and plan the listener's answer."""
        known = self._cues.blocks * _BLOCK_S + self._offset_s  # frame time at which it is known
        if kind == "pause":
            self._at_pause(t_audio + self._offset_s, known)
        elif self._rng.random() < self.config.emphasis_prob:
            self._emphasis(known)

    def _earliest(self, known_s: float) -> float:
        """The earliest start of a reaction known at frame time `known_s`: not before the next frame."""
        return max(known_s, self.time_s)

    def _at_pause(self, pause_start: float, known_s: float) -> None:
        """The teacher's reactions to a partner's pause (teacher._listening), causally timed."""
        cfg, rng = self.config, self._rng
        early = self._earliest(known_s)
        if rng.random() < cfg.nod_prob_at_pause:
            self._nod(max(pause_start + rng.uniform(*cfg.nod_delay_s), early + cfg.nod_half_width_s),
                      rng.uniform(*cfg.nod_amp_rad), double=rng.random() < cfg.double_nod_prob)
        if rng.random() < cfg.smile_prob_at_pause:
            amp, hold = rng.uniform(0.2, 0.35), rng.uniform(0.2, 0.7)
            if spec(self._shown).valence < 0 or (self._emotion is not None and self._emotion.valence < 0):
                amp = 0.0  # no back-channel smile in a sad, angry or afraid mood (as shaping.emotion_face)
            t0 = early + 0.15
            for name, k in (("mouthSmileLeft", 1.0), ("mouthSmileRight", 1.0),
                            ("cheekSquintLeft", 0.4), ("cheekSquintRight", 0.4)):
                self._gestures.append(_Gesture("expr", _J[name], t0, k * amp, 0.3, hold))
        if rng.random() < cfg.brow_prob_at_pause:
            self._gestures.append(_Gesture("expr", _J["browInnerUp"], max(pause_start + 0.3, early + 0.25), 0.15, 0.25))
        self._next_idle_nod = known_s + rng.uniform(*cfg.idle_nod_after_s)

    def _emphasis(self, known_s: float) -> None:
        """Mirror a stressed syllable: a small brow raise and a slight dip of the head."""
        t0 = self._earliest(known_s) + 0.2
        amp = self._rng.uniform(0.08, 0.15)
        self._gestures.append(_Gesture("expr", _J["browInnerUp"], t0, amp, 0.2))
        self._gestures.append(_Gesture("expr", _J["browOuterUpLeft"], t0, 0.6 * amp, 0.2))
        self._gestures.append(_Gesture("expr", _J["browOuterUpRight"], t0, 0.6 * amp, 0.2))
        self._gestures.append(_Gesture("pose", 1, t0 + 0.05, self._rng.uniform(0.01, 0.02), 0.2))

    def _nod(self, peak_s: float, amp: float, double: bool) -> None:
        half = self.config.nod_half_width_s
        self._gestures.append(_Gesture("pose", 1, peak_s, amp, half))
        if double:
            self._gestures.append(_Gesture("pose", 1, peak_s + 0.4, 0.7 * amp, 0.9 * half))

    def _idle_nods(self, until_s: float) -> None:
        """While the partner is silent (no speech for the idle interval), nod now and then."""
        if self._cues.speaking:
            self._next_idle_nod = max(self._next_idle_nod, self.time_s + self.config.idle_nod_after_s[0])
            return
        while self._next_idle_nod - self.config.nod_half_width_s <= until_s:
            self._nod(max(self._next_idle_nod, self.time_s + self.config.nod_half_width_s),
                      self._rng.uniform(*self.config.nod_amp_rad) * 0.7, double=False)
            self._next_idle_nod += self._rng.uniform(*self.config.idle_nod_after_s)

    # --- continuous processes ----------------------------------------------------------------

    def _blink_values(self, t: np.ndarray) -> np.ndarray:
        """(T,) eyelid closure of the renewal process (procedural.blink_track's shape, lazily drawn)."""
        end = t[-1] + 1.0
        while self._next_blink < end:
            d = float(self._blink_rng.uniform(0.12, 0.35))
            self._blinks.append((self._next_blink, d))
            self._next_blink += d + float(self._blink_rng.gamma(3.0, self._blink_mean / 3.0))
        sub = 4
        ts = t[:, None] + (np.arange(sub)[None, :] - (sub - 1) / 2) / (self.fps * sub)  # (T, 4)
        out = np.zeros(ts.shape)
        for start, d in self._blinks:
            if start + d < ts[0, 0] or start > ts[-1, -1]:
                continue
            u = (ts - start) / d
            inside = (u >= 0) & (u < 1)
            out = np.maximum(out, np.where(inside, np.where(u < 0.35, u / 0.35, (1 - u) / 0.65), 0.0))
        self._blinks = [(s, d) for s, d in self._blinks if s + d >= t[-1]]
        return np.clip(out.max(axis=1) * 1.15, 0.0, 1.0)

    def _gaze_values(self, t: np.ndarray) -> np.ndarray:
        """(T, 2) gaze: fixations near the partner (gamma durations, mean 2.2 s), looking away 10 % of
        the time; the eyes reach a new target in about two frames."""
        while self._fixations[-1][0] <= t[-1]:
            start = self._fixations[-1][0] + max(float(self._gaze_rng.gamma(2.0, 1.1)), 3 / self.fps)
            away = self._gaze_rng.random() < 0.1
            target = self._gaze_rng.normal(0.0, [0.3, 0.12]) if away else self._gaze_rng.normal(0.0, 0.04, 2)
            self._fixations.append((start, np.clip(target, -1, 1)))
        out = np.zeros((len(t), 2))
        starts = [s for s, _ in self._fixations]
        for k, tk in enumerate(t):
            target = self._fixations[int(np.searchsorted(starts, tk, side="right")) - 1][1]
            self._gaze = self._gaze + (target - self._gaze) * 0.6
            out[k] = self._gaze
        keep = int(np.searchsorted(starts, t[-1], side="right")) - 1
        self._fixations = self._fixations[max(keep, 0):]
        return out
