"""Speech recognition interface and its result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


class AudioError(ValueError):
    """Audio that cannot be used (corrupt, empty, too long); the message is for users."""


@dataclass(frozen=True, slots=True)
class TimedWord:
    text: str
    start: float  # seconds from the start of the audio
    end: float


@dataclass(frozen=True, slots=True)
class Prosody:
    """Frame-wise prosody of speech at `hop_s` spacing: RMS energy (linear) and pitch in Hz (0 = unvoiced)."""

    hop_s: float
    energy: np.ndarray  # (F,) float32
    pitch_hz: np.ndarray  # (F,) float32


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    words: tuple[TimedWord, ...]
    duration: float
    prosody: Prosody
    pauses: tuple[tuple[float, float], ...] = ()  # (start, end) of silences >= 300 ms inside the speech
    reason: str = ""  # why `text` is empty (e.g. silence), or a quality warning (e.g. clipping)


class ASR(Protocol):
    def transcribe(self, pcm: np.ndarray, sample_rate: int) -> Transcript:
        """Transcribe mono float32 audio. Raises AudioError for unusable audio."""
        ...
