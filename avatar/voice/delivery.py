"""Emotion-aware delivery: how fast, how high and how loud the avatar speaks."""

from __future__ import annotations

from dataclasses import dataclass

from avatar.voice.base import VoiceSettings
from emotion import Emotion, EmotionState
from emotion.labels import TABLE


@dataclass(frozen=True, slots=True)
class Delivery:
    """Multipliers over an engine's neutral delivery.

    rate: speaking rate (> 1 faster, duration / rate); pitch: fundamental frequency factor;
    gain: linear amplitude factor.
    """

    rate: float = 1.0
    pitch: float = 1.0
    gain: float = 1.0


# (rate, pitch, gain) of each label at intensity 1, from the label table (emotion.labels):
# sadness slow/low/soft; joy, surprise and anger faster and higher or louder; fear fast and high.
_FULL: dict[Emotion, tuple[float, float, float]] = {Emotion(s.name): s.delivery for s in TABLE}

_LIMITS = {"rate": (0.5, 2.0), "pitch": (0.6, 1.6), "gain": (0.3, 2.0)}


def delivery_for(emotion: EmotionState, voice: VoiceSettings) -> Delivery:
    """Delivery for `emotion` on top of the persona's `voice` rate and pitch.

    Each factor moves from 1 towards the label's full-intensity value in proportion to
    `emotion.intensity`, then multiplies the voice's own rate/pitch. Results are clipped to
    safe ranges (rate 0.5-2, pitch 0.6-1.6, gain 0.3-2).
    """
    k = emotion.intensity
    rate, pitch, gain = (1.0 + (full - 1.0) * k for full in _FULL[emotion.label])
    return Delivery(
        rate=_clip(rate * voice.rate, "rate"),
        pitch=_clip(pitch * voice.pitch, "pitch"),
        gain=_clip(gain, "gain"),
    )


def _clip(value: float, name: str) -> float:
    lo, hi = _LIMITS[name]
    return min(max(value, lo), hi)
