"""The emotional state of a speaker: a categorical label placed on the valence/arousal plane.

Labels sit at fixed points of Russell's circumplex (valence: unpleasant -1 .. +1 pleasant;
arousal: calm -1 .. +1 excited). A state may carry any (valence, arousal); its `label` is the
prototype nearest in direction (distance from the origin is intensity, not kind), so scaling a
state towards the origin, as decay does, never turns one emotion into another.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, field_validator

from emotion.labels import TABLE, Emotion

# (valence, arousal) prototype of each label, from the label table (emotion.labels): spread so
# that nearest-prototype lookup separates every pair (check_table verifies it).
PROTOTYPES: dict[Emotion, tuple[float, float]] = {
    Emotion(s.name): (s.valence, s.arousal) for s in TABLE
}

# Below this distance from the origin a state reads as neutral, whatever its direction.
NEUTRAL_RADIUS = 0.2


def parse_emotion(value: str | Emotion) -> Emotion:
    """Return the `Emotion` named by `value` (case-insensitive; common synonyms accepted).

    Raises:
        ValueError: the name is not an emotion label or a known synonym.
    """
    if isinstance(value, Emotion):
        return value
    key = str(value).strip().lower()
    key = _SYNONYMS.get(key, key)
    try:
        return Emotion(key)
    except ValueError:
        known = ", ".join(e.value for e in Emotion)
        raise ValueError(f"unknown emotion {value!r}; expected one of: {known}") from None


_SYNONYMS = {
    "joy": "happy", "joyful": "happy", "glad": "happy", "excited": "happy", "cheerful": "happy",
    "content": "happy", "sadness": "sad", "unhappy": "sad", "anger": "angry", "mad": "angry",
    "annoyed": "angry", "surprise": "surprised", "amazed": "surprised", "fear": "fearful",
    "afraid": "fearful", "scared": "fearful", "anxious": "fearful", "disgust": "disgusted",
    "calm": "neutral", "none": "neutral", "": "neutral",
}


def label_for(valence: float, arousal: float) -> Emotion:
    """Label of a point of the valence/arousal plane: neutral within `NEUTRAL_RADIUS` of the
    origin, else the prototype nearest in direction (largest cosine similarity).

    Direction, not Euclidean distance: a weak anger (0.5 x the angry prototype) is nearer the
    disgusted prototype than the angry one in distance, but it is still anger.
    """
    r = math.hypot(valence, arousal)
    if r < NEUTRAL_RADIUS:
        return Emotion.NEUTRAL
    return max(
        (e for e in Emotion if e is not Emotion.NEUTRAL),
        key=lambda e: (PROTOTYPES[e][0] * valence + PROTOTYPES[e][1] * arousal)
        / math.hypot(*PROTOTYPES[e]),
    )


class EmotionState(BaseModel):
    """A speaker's emotion: label, its valence/arousal coordinates and an intensity in [0, 1].

    Build one with `EmotionState.of(label, intensity)` or `EmotionState.at(valence, arousal)`.
    Valence/arousal are the label's prototype scaled by intensity when built from a label.
    """

    model_config = ConfigDict(frozen=True)

    label: Emotion = Emotion.NEUTRAL
    valence: float = Field(0.0, ge=-1.0, le=1.0)
    arousal: float = Field(0.0, ge=-1.0, le=1.0)
    intensity: float = Field(0.0, ge=0.0, le=1.0)

    @field_validator("label", mode="before")
    @classmethod
    def _parse_label(cls, v: object) -> Emotion:
        return parse_emotion(v)  # type: ignore[arg-type]

    @classmethod
    def neutral(cls) -> "EmotionState":
        return cls()

    @classmethod
    def of(cls, label: str | Emotion, intensity: float = 0.7) -> "EmotionState":
        """The state of `label` at `intensity` (clipped to [0, 1])."""
        emo = parse_emotion(label)
        k = min(max(float(intensity), 0.0), 1.0)
        if emo is Emotion.NEUTRAL:
            return cls(label=emo, intensity=k)
        v, a = PROTOTYPES[emo]
        return cls(label=emo, valence=v * k, arousal=a * k, intensity=k)

    @classmethod
    def at(cls, valence: float, arousal: float) -> "EmotionState":
        """The state at a point of the plane; intensity is its distance from the origin (<= 1)."""
        v = min(max(float(valence), -1.0), 1.0)
        a = min(max(float(arousal), -1.0), 1.0)
        return cls(label=label_for(v, a), valence=v, arousal=a, intensity=min(math.hypot(v, a), 1.0))

    def scaled(self, factor: float) -> "EmotionState":
        """The same label with valence, arousal and intensity multiplied by `factor` (clipped)."""
        k = max(float(factor), 0.0)
        return EmotionState(
            label=self.label,
            valence=min(max(self.valence * k, -1.0), 1.0),
            arousal=min(max(self.arousal * k, -1.0), 1.0),
            intensity=min(self.intensity * k, 1.0),
        )


def blend(a: EmotionState, b: EmotionState, weight_b: float) -> EmotionState:
    """Linear blend on the plane: (1 - w) * a + w * b, relabelled by nearest prototype.

    `weight_b` is clipped to [0, 1]; weight 0 returns `a` and weight 1 returns `b` unchanged
    (a weak state keeps its label even where `label_for` would read it as neutral). A blend of two
    states of one label keeps that label.
    """
    w = min(max(float(weight_b), 0.0), 1.0)
    if w == 0.0:
        return a
    if w == 1.0:
        return b
    v = (1 - w) * a.valence + w * b.valence
    ar = (1 - w) * a.arousal + w * b.arousal
    k = (1 - w) * a.intensity + w * b.intensity
    label = a.label if a.label == b.label else label_for(v, ar)
    if k < 1e-6:
        label = Emotion.NEUTRAL
    return EmotionState(label=label, valence=v, arousal=ar, intensity=k)


def weighted_mean(states: list[tuple[EmotionState, float]]) -> EmotionState:
    """Weighted mean of states on the plane; the label is the label of largest summed weight x
    intensity (so a strong minority label is not averaged into a different one).

    Returns neutral for an empty list or all-zero weights.
    """
    total = sum(w for _, w in states if w > 0)
    if total <= 0:
        return EmotionState.neutral()
    v = sum(s.valence * w for s, w in states if w > 0) / total
    a = sum(s.arousal * w for s, w in states if w > 0) / total
    k = sum(s.intensity * w for s, w in states if w > 0) / total
    score: dict[Emotion, float] = {}
    for s, w in states:
        if w > 0:
            score[s.label] = score.get(s.label, 0.0) + w * max(s.intensity, 0.05)
    label = max(score, key=score.__getitem__)
    return EmotionState(label=label, valence=v, arousal=a, intensity=min(k, 1.0))


def decay(state: EmotionState, baseline: EmotionState, seconds: float, half_life_s: float) -> EmotionState:
    """Exponential return of `state` towards `baseline`: after one half-life, half way there.

    Raises:
        ValueError: `half_life_s` is not positive or `seconds` is negative.
    """
    if half_life_s <= 0:
        raise ValueError(f"half_life_s must be > 0, got {half_life_s}")
    if seconds < 0:
        raise ValueError(f"seconds must be >= 0, got {seconds}")
    remaining = 0.5 ** (seconds / half_life_s)
    return blend(baseline, state, remaining)
