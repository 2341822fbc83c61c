"""Records of the talking tree: one turn, and the emotional cues gathered from the tree."""

from __future__ import annotations

import time
import uuid
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from emotion import Emotion, EmotionState


class Speaker(str, Enum):
    USER = "user"
    AVATAR = "avatar"


class AvatarRole(str, Enum):
    """What the avatar is doing during a turn: speaking its reply, or listening to the user."""

    SPEAKING = "speaking"
    LISTENING = "listening"


def new_id() -> str:
    return uuid.uuid4().hex[:12]


def valid_text(text: str) -> str:
    """`text` as valid Unicode: a lone surrogate (what Python makes of invalid UTF-8 read with
    `surrogateescape`, or what a client can send through the JSON API) becomes U+FFFD; a
    surrogate pair written as two code points becomes the one character it encodes.

    Such text could not be written as UTF-8 at all: not to SQLite, not to the browser."""
    if text.isascii():
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


class Turn(BaseModel):
    """One node of the talking tree.

    parent is None only for the root (the persona's greeting or an empty system root).
    media: named references to files in the data dir ("audio", "video", "motion": relative paths).
    """

    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=new_id)
    parent: str | None = None
    speaker: Speaker
    avatar_role: AvatarRole
    text: str
    emotion: EmotionState = EmotionState()
    created_at: float = Field(default_factory=time.time)
    started_at: float | None = None  # when the turn began (speech start), seconds since epoch
    ended_at: float | None = None
    media: dict[str, str] = Field(default_factory=dict)

    @field_validator("text")
    @classmethod
    def _valid_text(cls, text: str) -> str:
        return valid_text(text)  # a turn's text is stored and shown: it must encode as UTF-8


class SalientMoment(BaseModel):
    """A turn whose emotion stood out (strong intensity, or a sharp change from its parent)."""

    model_config = ConfigDict(frozen=True)

    turn_id: str
    speaker: Speaker
    emotion: EmotionState
    text: str
    weight: float


class EmotionCues(BaseModel):
    """What reverse-level traversal of the tree tells about the conversation's emotional history.

    dominant: the distance-weighted dominant emotion (user and avatar turns together).
    user_trend / avatar_trend: (valence, arousal) change per turn along the path, weighted
    towards recent turns (positive valence trend = warming up).
    salient: the few strongest moments, most important first.
    avatar_recent: the avatar's own emotions on the path, most recent first (at most 3).
    user_current: the user's emotion in the turn being answered.
    """

    model_config = ConfigDict(frozen=True)

    dominant: EmotionState = EmotionState()
    user_current: EmotionState = EmotionState()
    user_trend: tuple[float, float] = (0.0, 0.0)
    avatar_trend: tuple[float, float] = (0.0, 0.0)
    salient: tuple[SalientMoment, ...] = ()
    avatar_recent: tuple[EmotionState, ...] = ()

    def summary(self) -> str:
        """One or two plain sentences for an LLM prompt."""
        parts = [f"The conversation's mood so far is mostly {self.dominant.label.value}"]
        dv = self.user_trend[0]
        if dv > 0.1:
            parts.append("and the person is warming up")
        elif dv < -0.1:
            parts.append("and the person is becoming more upset")
        text = " ".join(parts) + "."
        if self.user_current.label is not Emotion.NEUTRAL:
            text += f" Right now the person seems {self.user_current.label.value}."
        return text
