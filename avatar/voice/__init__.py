"""Voice: TTS backends with phoneme/word timings, chosen by name.

Backends: "piper" (embedded default; subprocess worker), "espeak" (light fallback),
"coqui" (a local Coqui checkpoint). Heavy or GPL code never loads at import.
"""

from __future__ import annotations

from avatar.settings import TTSSettings
from avatar.voice.base import TTS, SpeechClip, TimedUnit, TTSError, VoiceSettings
from avatar.voice.delivery import Delivery, delivery_for

BACKENDS = ("piper", "espeak", "coqui")


def make_tts(name: str, settings: TTSSettings) -> TTS:
    """The TTS backend called `name` (see BACKENDS), configured by `settings`.

    Raises:
        ValueError: unknown name.
        TTSError: the backend's program, package or model is missing (the message says how to fix it).
    """
    key = (name or settings.default_backend).strip().lower()
    if key == "piper":
        from avatar.voice.piper import PiperTTS

        return PiperTTS(settings)
    if key == "espeak":
        from avatar.voice.espeak import EspeakTTS

        return EspeakTTS(settings)
    if key == "coqui":
        from avatar.voice.coqui import CoquiTTS

        return CoquiTTS(settings)
    raise ValueError(f"unknown TTS backend {name!r}; expected one of: {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "TTS", "Delivery", "SpeechClip", "TTSError", "TimedUnit", "VoiceSettings", "delivery_for", "make_tts"]
