"""End-of-speech detection over a live microphone stream (energy with an adaptive noise floor)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class VadEvent:
    """`kind` is "speech_start" or "speech_end"; `time` in seconds from the first pushed sample
    (the start of the first speech frame, or the end of the last one)."""

    kind: str
    time: float


class EndOfSpeechDetector:
    """Streaming speech start/end detector: push audio chunks of any size, get events.

    A 20 ms frame is speech when its RMS exceeds the noise floor by `snr_db` (and `min_rms`).
    The floor follows quiet frames: it drops to a quieter frame at once and rises slowly
    (`floor_rise` per frame) so steady noise is learnt but speech is not. Speech starts after
    `min_speech_s` of speech frames in a row; it ends after `hangover_s` without speech (the
    end of utterance), reported at the end of the last speech frame.
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        frame_s: float = 0.02,
        hangover_s: float = 0.6,
        min_speech_s: float = 0.1,
        snr_db: float = 12.0,
        min_rms: float = 3e-4,
        floor_rise: float = 1.01,
    ):
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be > 0, got {sample_rate}")
        self.sample_rate = sample_rate
        self.frame = max(int(round(frame_s * sample_rate)), 1)
        self.frame_s = self.frame / sample_rate
        self.hangover_frames = int(np.ceil(hangover_s / self.frame_s))
        self.min_speech_frames = max(int(np.ceil(min_speech_s / self.frame_s)), 1)
        self.ratio = 10 ** (snr_db / 20)
        self.min_rms = min_rms
        self.floor_rise = floor_rise
        self.reset()

    def reset(self) -> None:
        """Forget all state (a new stream starts at time 0)."""
        self._buffer = np.zeros(0, np.float32)
        self._index = 0  # frames processed
        self._floor: float | None = None
        self.in_speech = False
        self._run = 0  # consecutive speech frames while not in speech
        self._silence = 0  # consecutive non-speech frames while in speech
        self._last_speech_end = 0.0

    def push(self, chunk: np.ndarray) -> list[VadEvent]:
        """Process a chunk of mono float samples; return the events it completes, in order."""
        x = np.asarray(chunk, dtype=np.float32).reshape(-1)
        self._buffer = np.concatenate([self._buffer, x])
        n = len(self._buffer) // self.frame
        events: list[VadEvent] = []
        for k in range(n):
            frame = self._buffer[k * self.frame : (k + 1) * self.frame]
            event = self._step(float(np.sqrt(np.mean(frame.astype(np.float64) ** 2))))
            if event is not None:
                events.append(event)
        self._buffer = self._buffer[n * self.frame :]
        return events

    def flush(self) -> list[VadEvent]:
        """End of stream: close an open utterance."""
        if self.in_speech:
            self.in_speech = False
            return [VadEvent("speech_end", self._last_speech_end)]
        return []

    def _step(self, rms: float) -> VadEvent | None:
        t0 = self._index * self.frame_s
        self._index += 1
        if self._floor is None:
            self._floor = max(rms, self.min_rms / self.ratio)
        is_speech = rms > max(self._floor * self.ratio, self.min_rms)
        if not is_speech:
            # learn the floor from quiet frames: down at once, up slowly
            self._floor = min(rms, self._floor * self.floor_rise) if rms > 0 else self._floor
            self._floor = max(self._floor, self.min_rms / self.ratio)
        if self.in_speech:
            if is_speech:
                self._silence = 0
                self._last_speech_end = t0 + self.frame_s
            else:
                self._silence += 1
                if self._silence >= self.hangover_frames:
                    self.in_speech = False
                    self._silence = 0
                    return VadEvent("speech_end", self._last_speech_end)
            return None
        self._run = self._run + 1 if is_speech else 0
        if self._run >= self.min_speech_frames:
            self.in_speech = True
            self._run = 0
            self._last_speech_end = t0 + self.frame_s
            return VadEvent("speech_start", t0 - (self.min_speech_frames - 1) * self.frame_s)
        return None
