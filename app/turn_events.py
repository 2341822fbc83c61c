"""The records a conversation turn takes and streams: the person's input (`RecordedVoice`, and
`InputError` when it cannot be used), the events a turn yields to the UI and the CLI (`TurnEvent`),
and the seam to the avatar pipeline (`SentenceSpeaker`, `SegmentTarget`). app.conversation
produces them; app.ui, app.chat_repl and app.demo consume them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from app.personas import Persona
from avatar.pipeline import Continuity, Segment, SegmentSink
from dialogue.turns import Turn
from emotion import EmotionState

class InputError(ValueError):
    """The user's input cannot be used (empty, too long); the message is for users."""


@dataclass(frozen=True, slots=True)
class RecordedVoice:
    """The person's recorded voice for a spoken turn: pcm (N,) float32 mono in [-1, 1] at
    sample_rate Hz. Saved as a WAV file beside the turn's media (TurnMedia.audio)."""

    pcm: np.ndarray
    sample_rate: int

    def __post_init__(self) -> None:
        if np.asarray(self.pcm).ndim != 1 or self.sample_rate <= 0:
            raise ValueError(f"voice must be mono (N,) audio at a positive rate, got shape "
                             f"{np.shape(self.pcm)} at {self.sample_rate} Hz")


# --- events streamed to the UI / CLI -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UserTurnSaved:
    turn: Turn


@dataclass(frozen=True, slots=True)
class ReplySentence:
    text: str
    index: int


@dataclass(frozen=True, slots=True)
class ReplyMedia:
    """A playable piece of the avatar's reply (of sentence `index`): an MP4 file
    (`segment.video`), or a segment already put on the live stream (`segment.video` is None)."""

    segment: Segment
    index: int

    @property
    def path(self) -> str | None:
        return str(self.segment.video) if self.segment.video is not None else None

    @property
    def duration_s(self) -> float:
        return self.segment.duration

    @property
    def ref(self) -> str | None:
        """The segment's MP4 name (TurnMedia.segments): its video, or for a live-stream segment
        the name export renders it to, beside its .npz."""
        if self.segment.video is not None:
            return str(self.segment.video)
        return str(self.segment.saved.with_suffix(".mp4")) if self.segment.saved is not None else None


@dataclass(frozen=True, slots=True)
class ReplySaved:
    turn: Turn
    timings: dict[str, float] = field(default_factory=dict)  # seconds: llm_first_sentence, first_media, total
    notice: str = ""  # something to tell the person with this reply (e.g. the model was restarted)


@dataclass(frozen=True, slots=True)
class TurnFailed:
    """The reply could not be produced; the user's turn is kept (already saved). interrupted: the
    person went on speaking before the reply's first sentence was said (no failure: it listens)."""

    message: str
    interrupted: bool = False


TurnEvent = UserTurnSaved | ReplySentence | ReplyMedia | ReplySaved | TurnFailed


@dataclass(frozen=True, slots=True)
class SegmentTarget:
    """Where a sentence's segments go: the turn's media `folder` (relative to the data dir),
    file names starting with `stem`; `first`: the reply's first sentence (encoded in a short
    first part so playback starts sooner); `live`: the session's live stream, else MP4 files."""

    folder: str
    stem: str
    first: bool = False
    live: SegmentSink | None = None


class SentenceSpeaker(Protocol):
    """Turns reply sentences into avatar segments (app.media.AvatarComponents; fakes in tests)."""

    def speak_sentence(self, sentence: str, emotion: EmotionState, persona: Persona, continuity: Continuity,
                       target: SegmentTarget) -> Iterator[Segment]:
        """Voice, motion and (clip mode) video for one sentence, continuing from `continuity`
        (updated); yields each playable segment."""
        ...

    def media_dir(self, conversation_id: str, turn_id: str) -> str:
        """Folder of a turn's media, relative to the data dir (stored in TurnMedia.dir)."""
        ...

    def listening_clip(self, persona: Persona, emotion: EmotionState | None = None) -> str:
        """Path of a short looping clip of the avatar listening, mirroring `emotion` if given."""
        ...
