"""Records of the talking tree: one turn, and the emotional cues gathered from the tree."""

from __future__ import annotations

import time
import uuid
from enum import Enum

from pathlib import PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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


def media_folder(conversation_id: str, turn_id: str, key: str = "") -> str:
    """The folder of a turn's media, relative to the data dir: `<conversation_media_folder>/<turn>`."""
    return f"{conversation_media_folder(conversation_id, key)}/{turn_id}"


def conversation_media_folder(conversation_id: str, key: str = "") -> str:
    """The folder of all of a conversation's media, relative to the data dir (removed with it):
    `media/<conversation>-<key>`, or `media/<conversation>` without a key.

    key: the app's private key of the conversation (app.access.folder_key: it makes the name
        impossible to derive from the id, since the web server serves data/media).
    """
    return f"media/{conversation_id}-{key}" if key else f"media/{conversation_id}"


class TurnMedia(BaseModel):
    """The files of one turn, every path relative to the data dir (POSIX separators).

    dir: the turn's media folder (`media_folder`), where the files below live.
    segments: the avatar's video segments (MP4) in playback order; each has a .npz beside it with
        the speech and motion it was made from (avatar.pipeline.save_segment). A segment played
        on the live stream has only its .npz until export renders the MP4.
    audio: the person's recorded voice for a spoken turn (a WAV file), played in export while the
        avatar listens.

    Rows saved before this record existed were free-form dicts ({"dir": ...}, {"video": ...},
    {"audio": ...}): they load, "video" becoming the only segment; other old keys are dropped.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    dir: str = ""
    segments: tuple[str, ...] = ()
    audio: str = ""

    @model_validator(mode="before")
    @classmethod
    def _from_old_dict(cls, data: Any) -> Any:
        if isinstance(data, dict) and "video" in data and not data.get("segments"):
            data = {**data, "segments": [data["video"]] if data["video"] else []}
        return data

    @property
    def empty(self) -> bool:
        return not (self.dir or self.segments or self.audio)

    def files(self) -> tuple[str, ...]:
        """Every file the record names (segments, then the voice)."""
        return self.segments + ((self.audio,) if self.audio else ())

    def with_segment(self, path: str) -> "TurnMedia":
        """This record with one more video segment at the end."""
        return self.model_copy(update={"segments": self.segments + (str(PurePosixPath(path)),)})


class SentenceEmotion(BaseModel):
    """One sentence of an avatar turn and the emotion it is said with (an entry of `Turn.arc`)."""

    model_config = ConfigDict(frozen=True)

    text: str
    emotion: EmotionState = EmotionState()


class Turn(BaseModel):
    """One node of the talking tree.

    parent is None only for the root (the persona's greeting or an empty system root).
    emotion: the turn's emotion (the badge; for the avatar, the one settled before its first sentence).
    arc: the avatar's sentences in order, each with the emotion its voice and face got
        (emotion.arc); arc[0].emotion is `emotion`. An avatar turn saved without one (before arcs
        existed, or made outside a reply stream, like the greeting) gets one entry: its whole text
        said with `emotion`. The person's turns have none.
    media: the turn's files (TurnMedia; old dict-shaped rows load into it).
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
    media: TurnMedia = Field(default_factory=TurnMedia)
    arc: tuple[SentenceEmotion, ...] = ()

    @field_validator("text")
    @classmethod
    def _valid_text(cls, text: str) -> str:
        return valid_text(text)  # a turn's text is stored and shown: it must encode as UTF-8

    @model_validator(mode="before")
    @classmethod
    def _default_arc(cls, data: Any) -> Any:
        """An avatar turn without an arc: its whole text said with its emotion."""
        if isinstance(data, dict) and not data.get("arc") and data.get("speaker") == Speaker.AVATAR.value:
            data = {**data, "arc": [{"text": data.get("text", ""), "emotion": data.get("emotion", EmotionState())}]}
        return data


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
