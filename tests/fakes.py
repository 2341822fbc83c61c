"""Scripted fakes for the backend Protocols (unit tests only)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from dialogue.llm.base import LLMError, PersonaBrief, Reply, ReplyChunk
from dialogue.turns import EmotionCues, Turn
from emotion import Emotion, EmotionState


class FakeLLM:
    """Answers with scripted replies in order (cycling); records what it was asked."""

    def __init__(self, replies: list[tuple[str, str, float]] | None = None, fail: bool = False):
        self.replies = replies or [("Hello there. Nice to meet you!", "happy", 0.6)]
        self.fail = fail
        self.calls: list[tuple[PersonaBrief, list[Turn], EmotionCues]] = []

    def stream_reply(self, persona: PersonaBrief, path: list[Turn], cues: EmotionCues) -> Iterator[ReplyChunk]:
        self.calls.append((persona, path, cues))
        if self.fail:
            raise LLMError("Cannot reach the LLM server at http://127.0.0.1:9/v1: connection refused")
        text, label, k = self.replies[(len(self.calls) - 1) % len(self.replies)]
        for sentence in text.replace("! ", "!|").replace(". ", ".|").split("|"):
            yield ReplyChunk(sentence=sentence, emotion=EmotionState.of(label, k), emotion_source="model")
        yield ReplyChunk(final=Reply(text=text, emotion=Emotion(label), intensity=k))


class PrefillLLM(FakeLLM):
    """A FakeLLM with a prompt cache to fill (as EmbeddedLLM.prefill): records each prefill's
    (persona, path, cues)."""

    def __init__(self, replies=None):
        super().__init__(replies)
        self.prefills: list[tuple[PersonaBrief, list[Turn], EmotionCues]] = []
        self.tags_ahead: list[bool] = []  # per prefill: was the reply's tag to be written ahead

    def prefill(self, persona: PersonaBrief, path: list[Turn], cues: EmotionCues, tag_ahead: bool = True) -> dict:
        self.prefills.append((persona, path, cues))
        self.tags_ahead.append(tag_ahead)
        return {"prompt_n": 7, "cache_n": 100}


def fake_emotion_of(text: str) -> EmotionState:
    """Keyword emotion: enough for orchestration tests."""
    t = text.lower()
    for word, label in (("sad", "sad"), ("angry", "angry"), ("great", "happy"), ("happy", "happy")):
        if word in t:
            return EmotionState.of(label, 0.7)
    return EmotionState.neutral()


class HangingLLM(FakeLLM):
    """A FakeLLM that hangs on messages containing "hang" until `release` is set (or `hold_s`
    passes), as a server that accepted the call and never answers. Observable state for tests:
    `entered` (a call is hanging), `hanging` (how many are now), `finished` (hung calls that
    returned)."""

    def __init__(self, replies=None, hold_s: float = 300.0):
        super().__init__(replies)
        self.hold_s = hold_s
        self.release = threading.Event()
        self.entered = threading.Event()
        self.hanging = 0
        self.finished = 0
        self._lock = threading.Lock()

    def stream_reply(self, persona: PersonaBrief, path: list[Turn], cues: EmotionCues) -> Iterator[ReplyChunk]:
        if "hang" in path[-1].text:
            with self._lock:
                self.hanging += 1
            self.entered.set()
            self.release.wait(self.hold_s)  # bounded so that a failing test cannot hang the suite
            with self._lock:
                self.hanging -= 1
                self.finished += 1
        yield from super().stream_reply(persona, path, cues)
