"""Speech recognised while it is spoken: a growing utterance re-transcribed now and then.

Whisper is not a streaming model: each call transcribes the audio it is given (padded to 30 s
inside, so one call costs about the same whatever the length). `StreamingTranscriber` keeps the
utterance so far and re-transcribes all of it for `partial()` only when enough new audio has come
in: at least `partial_every_s` seconds, and at least twice the last call's own duration, so
recognition never takes more than about half of one core however slow the machine is.
`finish()` transcribes the whole utterance once more (unless the last partial already covered it).
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np

from dialogue.asr.audio import ASR_RATE, to_mono_16k
from dialogue.asr.base import ASR, Transcript

_LOG = logging.getLogger(__name__)


class StreamingTranscriber:
    """The transcript of one utterance as it grows (feed -> partial ... -> finish -> reset).

    Args:
        asr: the recogniser (dialogue.asr.make_asr; a fake in tests).
        sample_rate: Hz of the fed audio (any rate >= 4 kHz; resampled to 16 kHz when transcribed).
        partial_every_s: seconds of new audio before `partial()` transcribes again.
        max_duration_s: the longest utterance kept; audio beyond it is dropped (logged once).
        clock: monotonic seconds (tests pass a fake to make a transcription "take" time).

    Thread-safe: the microphone may feed while another thread asks for partials.
    """

    def __init__(self, asr: ASR, sample_rate: int = ASR_RATE, partial_every_s: float = 1.0,
                 max_duration_s: float = 120.0, clock=time.monotonic) -> None:
        if sample_rate <= 0 or partial_every_s <= 0 or max_duration_s <= 0:
            raise ValueError(f"sample_rate, partial_every_s and max_duration_s must be > 0, got "
                             f"{sample_rate}, {partial_every_s}, {max_duration_s}")
        self.asr, self.sample_rate = asr, int(sample_rate)
        self.partial_every_s, self.max_duration_s = float(partial_every_s), float(max_duration_s)
        self._clock = clock
        self._lock = threading.Lock()  # buffer and cached results
        self._asr_lock = threading.Lock()  # one transcription at a time
        self.reset()

    def reset(self) -> None:
        """Forget the utterance (the next fed sample starts a new one)."""
        with self._lock:
            self._generation = getattr(self, "_generation", 0) + 1  # results of an older utterance are dropped
            self._chunks: list[np.ndarray] = []
            self._samples = 0
            self._done_samples = 0  # audio covered by the cached transcript
            self._text = ""
            self._transcript: Transcript | None = None
            self._min_new_s = self.partial_every_s
            self._dropped = False

    @property
    def duration_s(self) -> float:
        """Seconds of audio in the utterance so far."""
        return self._samples / self.sample_rate

    @property
    def transcript(self) -> Transcript | None:
        """The last full result (words, prosody, pauses) of `partial` or `finish`, if any."""
        return self._transcript

    def feed(self, pcm: np.ndarray) -> None:
        """Append mono samples (float32 in [-1, 1], or int16) at `sample_rate`, any length."""
        x = np.asarray(pcm)
        x = x.reshape(-1).astype(np.float32) / 32768.0 if x.dtype == np.int16 else x.reshape(-1).astype(np.float32)
        with self._lock:
            room = int(self.max_duration_s * self.sample_rate) - self._samples
            if room < len(x) and not self._dropped:
                self._dropped = True
                _LOG.warning("utterance longer than %.0f s: the rest is not transcribed", self.max_duration_s)
            x = x[:max(room, 0)]
            if len(x):
                self._chunks.append(x)
                self._samples += len(x)

    def partial(self) -> str:
        """The transcript so far. Transcribes again (blocking, ~0.3-1.5 s on 2 cores) only when
        enough new audio has come in (see the module docstring); otherwise returns the last text."""
        with self._lock:
            new_s = (self._samples - self._done_samples) / self.sample_rate
            if self._samples == 0 or new_s < self._min_new_s:
                return self._text
        return self._transcribe()

    def finish(self) -> str:
        """The transcript of the whole utterance (transcribed now unless the last partial covered
        all of it). Empty for silence or no audio. Raises AudioError for unusable audio."""
        with self._lock:
            if self._samples == 0 or self._done_samples == self._samples:
                return self._text
        return self._transcribe()

    def _transcribe(self) -> str:
        with self._asr_lock:
            with self._lock:
                if self._samples == self._done_samples:  # a call that ended meanwhile covered it all
                    return self._text
                if len(self._chunks) > 1:
                    self._chunks = [np.concatenate(self._chunks)]
                audio, n, generation = self._chunks[0], self._samples, self._generation
            t0 = self._clock()
            result = self.asr.transcribe(to_mono_16k(audio, self.sample_rate), ASR_RATE)
            took = self._clock() - t0
            with self._lock:
                if generation == self._generation:  # not reset meanwhile
                    self._done_samples, self._transcript = n, result
                    self._text = result.text.strip()
                    self._min_new_s = max(self.partial_every_s, 2.0 * took)
                return self._text


def settled(partial: str) -> str:
    """The words of a partial transcript that the final one will likely begin with: all but the
    last. Whisper guesses the word being spoken where the audio stops and ends a cut-off utterance
    with a full stop, so the last word of a partial is the one that changes."""
    return " ".join(partial.split()[:-1])
