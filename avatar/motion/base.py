"""The motion generator interface: what the avatar's head and face do, speaking or listening."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from avatar.motion.clip import MotionClip, Role
from avatar.voice.base import SpeechClip
from emotion import EmotionState
from emotion.profile import EmotionProfile


@dataclass(frozen=True, slots=True)
class MotionRequest:
    """Everything one motion segment depends on.

    role SPEAKING: `speech` is the avatar's own synthesized speech (with phoneme timings);
    duration_s defaults to its length. role LISTENING: `speech` is the partner's speech if any
    (its pauses and emotion drive nods and mirroring), else the avatar idles attentively for
    duration_s (e.g. while the person types).
    emotion: the avatar's target emotion for this segment (speaking) or the partner's (listening).
    previous: the last frames already shown, so the new segment continues without a seam.
    """

    role: Role
    emotion: EmotionState
    profile: EmotionProfile
    speech: SpeechClip | None = None
    duration_s: float | None = None
    previous: MotionClip | None = None
    style: str | None = None
    seed: int | None = None


class MotionGenerator(Protocol):
    def generate(self, request: MotionRequest) -> MotionClip:
        """Motion at 25 fps covering the request's duration. Never returns NaN."""
        ...
