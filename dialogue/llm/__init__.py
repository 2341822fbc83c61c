"""LLM backends behind one Protocol, chosen by name in settings (`make_llm`)."""

from __future__ import annotations

from collections.abc import Callable

from dialogue.llm.base import LLM, LLMError, PersonaBrief, Reply, ReplyChunk
from dialogue.settings import LLMSettings
from emotion import EmotionState

__all__ = ["BACKENDS", "LLM", "LLMError", "PersonaBrief", "Reply", "ReplyChunk", "make_llm"]

BACKENDS = ("embedded", "openai")


def make_llm(settings: LLMSettings, emotion_of: Callable[[str], EmotionState] | None = None) -> LLM:
    """The LLM backend named by settings.backend. Nothing heavy is loaded here: the embedded model
    loads on its first reply (or `warm_up()`).

    emotion_of: computes a reply's emotion from its text when the model's tag is missing or unusable.
    Raises ValueError for an unknown backend name.
    """
    name = settings.backend.strip().lower()
    if name == "embedded":
        from dialogue.llm.embedded import EmbeddedLLM

        return EmbeddedLLM(settings, emotion_of)
    if name == "openai":
        from dialogue.llm.openai_backend import OpenAIChatLLM

        return OpenAIChatLLM(settings, emotion_of)
    raise ValueError(f"unknown LLM backend {settings.backend!r}; known: {', '.join(BACKENDS)}")
