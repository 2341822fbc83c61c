"""The LLM backend interface and the structured reply it produces."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from dialogue.turns import EmotionCues, SentenceEmotion, Turn
from emotion import Emotion, EmotionState


class LLMError(RuntimeError):
    """The LLM could not answer (server unreachable, timed out, refused). The message is for users."""


class PersonaBrief(BaseModel):
    """What the LLM needs to know of a persona (app.personas.Persona provides one)."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str = ""
    system_prompt: str = ""
    temperature: float | None = None
    max_tokens: int | None = None
    model: str | None = None
    fallback: str = ""  # said when the model's reply has nothing usable ("" = a generic line)


# where a reply's emotion came from: the model's own tag, the reply text (emotion_of), or a fallback
EmotionSource = Literal["model", "text", "fallback"]


class Reply(BaseModel):
    """The avatar's reply: text, the emotion it is said with, and that emotion's intensity.

    arc: its sentences, each with the emotion it was released with (the ReplyChunks'; () when the
    backend streams no arc).
    """

    text: str = Field(min_length=1)
    emotion: Emotion = Emotion.NEUTRAL
    intensity: float = Field(0.5, ge=0.0, le=1.0)
    emotion_source: EmotionSource = "model"
    # something the person should be told with this reply ("" = nothing), e.g. that the embedded
    # model's process had died and was restarted
    notice: str = ""
    arc: tuple[SentenceEmotion, ...] = ()


class ReplyChunk(BaseModel):
    """One streamed piece of a reply: a whole sentence, or the final record (`final` set).

    A sentence chunk carries the emotion this sentence is said with (`emotion`) and where the
    reply's emotion came from (`emotion_source`). The first sentence's is the reply's emotion,
    settled before it; a later one may move from it (emotion.arc.sentence_emotion), decided once
    here as the sentence is released, so voice and face say sentence k with exactly what the
    turn saves as arc[k]. None: the backend did not say (the conversation then reads the first
    sentence's text once and keeps that for every sentence).
    """

    sentence: str = ""
    final: Reply | None = None
    emotion: EmotionState | None = None
    emotion_source: EmotionSource | None = None


class LLM(Protocol):
    def stream_reply(self, persona: PersonaBrief, path: list[Turn], cues: EmotionCues) -> Iterator[ReplyChunk]:
        """Yield the reply sentence by sentence, then one chunk with `final` set (the whole Reply).

        `path` is the conversation from the root to the user turn being answered.
        Raises LLMError when no reply can be had (the caller keeps the user's turn).
        """
        ...
