"""Speech recognition: backends by name, audio loading, prosody and end-of-speech detection."""

from __future__ import annotations

from dialogue.asr.audio import load_audio, read_recording, to_float32, to_mono_16k
from dialogue.asr.base import ASR, AudioError, Prosody, TimedWord, Transcript
from dialogue.settings import ASRSettings

BACKENDS = ("whisper",)


def make_asr(settings: ASRSettings) -> ASR:
    """The ASR backend named by settings.backend (nothing loads until first use).

    Raises:
        ValueError: unknown backend.
    """
    if settings.backend == "whisper":
        from dialogue.asr.whisper import WhisperASR

        return WhisperASR(settings)
    raise ValueError(f"unknown ASR backend {settings.backend!r}; expected one of: {', '.join(BACKENDS)}")


__all__ = ["ASR", "AudioError", "BACKENDS", "Prosody", "TimedWord", "Transcript", "load_audio", "make_asr", "read_recording",
           "to_float32", "to_mono_16k"]
