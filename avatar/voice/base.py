"""Speech records and the TTS backend interface."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from pydantic import BaseModel, Field

from emotion import EmotionState


@dataclass(frozen=True, slots=True)
class TimedUnit:
    """A phoneme (IPA symbol) or a word with its start and end in seconds from the clip start."""

    symbol: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class SpeechClip:
    """Synthesized or recorded speech.

    pcm: (N,) float32 mono samples in [-1, 1]; sample_rate in Hz. phonemes/words are ordered,
    non-overlapping and lie within [0, duration]. `text` is what was said (may be empty for
    recordings not yet transcribed).
    """

    pcm: np.ndarray
    sample_rate: int
    phonemes: tuple[TimedUnit, ...] = ()
    words: tuple[TimedUnit, ...] = ()
    text: str = ""

    @property
    def duration(self) -> float:
        return len(self.pcm) / float(self.sample_rate)


class VoiceSettings(BaseModel):
    """Per-persona voice choice. `backend` picks the TTS engine by name; `voice` is that engine's
    voice id (empty = its default); rate/pitch scale the engine's defaults before emotion is applied."""

    backend: str = "piper"
    voice: str = ""
    rate: float = Field(1.0, ge=0.5, le=2.0)
    pitch: float = Field(1.0, ge=0.5, le=2.0)


class TTS(Protocol):
    """A speech synthesizer with phoneme and word timings."""

    def synthesize(self, text: str, voice: VoiceSettings, emotion: EmotionState) -> SpeechClip:
        """Speak `text` (any length; split by sentence internally) with emotion-aware delivery."""
        ...

    def stream_synthesize(
        self, text: str, voice: VoiceSettings, emotion: EmotionState
    ) -> Iterator[SpeechClip]:
        """Yield one SpeechClip per sentence as soon as it is synthesized."""
        ...


class TTSError(RuntimeError):
    """Speech synthesis failed (engine missing, worker dead or timed out); the message says why."""
