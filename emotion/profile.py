"""Emotion profiles: how an avatar feels by default and how its face shows each emotion."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from emotion.labels import spec
from emotion.state import Emotion, EmotionState


class ProfileError(ValueError):
    """A profile file is missing, unreadable or invalid; the message names the file and field."""


# A label without a listener face (emotion.labels LabelSpec.listener) is shown by a listener as
# its speaker's face at this share.
LISTENER_SCALE = 0.55

# How strongly a face shows an emotion of a given intensity: a saturating curve, so that a clear
# feeling (0.6) shows most of its face (0.77) while a faint one (0.2) stays faint (0.30).
STRENGTH_EXPONENT = 1.6


def shown_strength(intensity: float, exponent: float = STRENGTH_EXPONENT) -> float:
    """The share of an emotion's full face shown at `intensity` in [0, 1]: 1 - (1 - i) ** exponent."""
    i = min(max(float(intensity), 0.0), 1.0)
    return 1.0 - (1.0 - i) ** exponent


# A listener takes on `mirroring` x the partner's intensity of the partner's feeling, shown through
# a steeper curve than a speaker's: the listener faces are quiet faces (closed lips), so a clear
# mirror (mirroring 0.6 x intensity 0.8 = 0.48) shows 0.81 of its face and a faint one (0.1) 0.23.
LISTENER_EXPONENT = 2.5


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
        listener: partner's emotion -> the listener's expression taking it on (a quiet face:
            closed or slightly parted lips); missing labels take the label table's listener face.
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
        """Expression coefficients the avatar shows, clipped to [0, 1].

        Speaking (`state` is the avatar's emotion): the speaker table entry (else the label
        table's face, emotion.labels) x shown_strength(intensity) x expressiveness.
        Listening (`state` is the partner's emotion, mirrored): the listener table entry (else the
        label table's listener face; else its face x LISTENER_SCALE) x listener_strength(state) x
        expressiveness. The same face drives listening clips and the live listener.
        """
        if listening:
            return self.listener_face(state.label, self.listener_strength(state))
        base = self.speaker[state.label] if state.label in self.speaker else dict(spec(state.label).face)
        return _scaled(base, shown_strength(state.intensity) * self.expressiveness)

    def listener_face(self, label: Emotion, strength: float) -> Expression:
        """The listener's face for `label` (the profile's listener table, else the label table's
        listener face, else its face x LISTENER_SCALE) x strength x expressiveness, in [0, 1]."""
        base = self.listener.get(label)
        if base is None:
            row = spec(label)
            base = dict(row.listener) if row.listener is not None else \
                {name: LISTENER_SCALE * w for name, w in row.face.items()}
        return _scaled(base, strength * self.expressiveness)

    def listener_strength(self, partner: EmotionState) -> float:
        """The share of its listener face the avatar shows to a partner feeling `partner`:
        shown_strength(mirroring x intensity, LISTENER_EXPONENT) (0.81 at 0.6 x 0.8)."""
        return shown_strength(self.mirroring * float(partner.intensity), LISTENER_EXPONENT)


def _scaled(face: Expression, k: float) -> Expression:
    return {name: min(max(w * k, 0.0), 1.0) for name, w in face.items()}


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
