"""Emotion profiles: how an avatar feels by default and how its face shows each emotion."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from emotion.labels import spec
from emotion.state import Emotion, EmotionState


class ProfileError(ValueError):
    """A profile file is missing, unreadable or invalid; the message names the file and field."""


# A listener shows the label table's default face at this share (the speaker at full strength).
LISTENER_SCALE = 0.55

# How strongly a face shows an emotion of a given intensity: a saturating curve, so that a clear
# feeling (0.6) shows most of its face (0.77) while a faint one (0.2) stays faint (0.30).
STRENGTH_EXPONENT = 1.6


def shown_strength(intensity: float) -> float:
    """The share of an emotion's full face shown at `intensity` in [0, 1]: 1 - (1 - i) ** 1.6."""
    i = min(max(float(intensity), 0.0), 1.0)
    return 1.0 - (1.0 - i) ** STRENGTH_EXPONENT


# Expression coefficients (ARKit blendshape name -> weight in [0, 1]) at full intensity.
Expression = dict[str, float]


class EmotionProfile(BaseModel):
    """An avatar's emotional temperament.

    Attributes:
        baseline: the resting emotion the avatar decays back to.
        expressiveness: scales every expression coefficient (0 = stone face, 1.5 = theatrical).
        mirroring: fraction of the user's emotion the avatar takes on while listening (0..1).
        decay_half_life_s: seconds for an emotion to fall half way back to the baseline.
        speaker: emotion -> expression while the avatar speaks.
        listener: emotion -> expression while it listens (usually softer).
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    description: str = ""
    baseline: EmotionState = EmotionState.of(Emotion.NEUTRAL, 0.0)
    expressiveness: float = Field(1.0, ge=0.0, le=1.5)
    mirroring: float = Field(0.5, ge=0.0, le=1.0)
    decay_half_life_s: float = Field(20.0, gt=0.0, le=3600.0)
    speaker: dict[Emotion, Expression] = Field(default_factory=dict)
    listener: dict[Emotion, Expression] = Field(default_factory=dict)

    @field_validator("speaker", "listener")
    @classmethod
    def _check_expressions(cls, table: dict[Emotion, Expression]) -> dict[Emotion, Expression]:
        for emo, coeffs in table.items():
            for name, w in coeffs.items():
                if not 0.0 <= w <= 1.0:
                    raise ValueError(f"{emo.value}.{name} = {w} is outside [0, 1]")
        return table

    def expression(self, state: EmotionState, listening: bool) -> Expression:
        """Expression coefficients for `state`: the table entry x shown_strength(intensity) x expressiveness,
        clipped to [0, 1]. Falls back to the speaker table when the listener table lacks the label,
        and to the label table's default face (emotion.labels) when neither has it (a listener
        shows it at LISTENER_SCALE: a listener's face is softer).
        """
        table = self.listener if listening and state.label in self.listener else self.speaker
        if state.label in table:
            base = table[state.label]
        else:
            soft = LISTENER_SCALE if listening else 1.0
            base = {name: soft * w for name, w in spec(state.label).face.items()}
        k = shown_strength(state.intensity) * self.expressiveness
        return {name: min(max(w * k, 0.0), 1.0) for name, w in base.items()}


def load_profile(path: Path, shown: str | None = None) -> EmotionProfile:
    """Read a profile from a JSON file.

    shown: how messages name the file (default: its path); built-ins are shown without the
        install path.
    Raises:
        ProfileError: naming the file, and the field when the content is invalid.
    """
    where = shown or str(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ProfileError(f"{where}: cannot read emotion profile ({reason})") from exc
    except json.JSONDecodeError as exc:
        raise ProfileError(f"{where}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    try:
        return EmotionProfile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(root)"
        raise ProfileError(f"{where}: field {field}: {first['msg']}") from exc
