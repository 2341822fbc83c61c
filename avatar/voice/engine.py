"""Shared machinery of the TTS backends: sentence streaming and delivery post-processing."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from fractions import Fraction

import numpy as np
from scipy.signal import resample_poly

from avatar.voice.base import SpeechClip, TimedUnit, VoiceSettings
from avatar.voice.delivery import Delivery, delivery_for
from avatar.voice.text import split_first_clause, split_sentences, words_of
from avatar.voice.timing import PhoneticWord, assign_words, concat_clips, speech_end
from emotion import EmotionState

_LOG = logging.getLogger(__name__)

PEAK = 0.6  # peak level of neutral speech: leaves headroom for gain > 1
SENTENCE_GAP_S = 0.25  # silence between sentences joined by `synthesize`
TAIL_S = 0.05  # audio kept after the end of speech


class SentenceTTS:
    """Base of the TTS backends: subclasses implement `_speak(sentence, voice, delivery)`.

    `synthesize` and `stream_synthesize` split text with `split_sentences` (long sentences at
    commas and words; nothing is dropped) and speak one sentence at a time.
    """

    sample_rate: int = 22050

    def _speak(self, sentence: str, voice: VoiceSettings, delivery: Delivery) -> SpeechClip:
        raise NotImplementedError

    def stream_synthesize(self, text: str, voice: VoiceSettings, emotion: EmotionState) -> Iterator[SpeechClip]:
        """Yield one SpeechClip per sentence; each is synthesized when the consumer asks for it
        (so the time goes into each `next()`); sentences without words are skipped. A long first
        sentence is spoken in two parts split at its first comma (`split_first_clause`), so the
        first audio comes sooner."""
        delivery = delivery_for(emotion, voice)
        for sentence in split_first_clause(split_sentences(text)):
            if words_of(sentence):
                yield self._speak(sentence, voice, delivery)

    def synthesize(self, text: str, voice: VoiceSettings, emotion: EmotionState) -> SpeechClip:
        """All of `text` as one clip (sentences joined by 250 ms pauses); an empty clip for text
        without words."""
        clips = list(self.stream_synthesize(text, voice, emotion))
        if not clips:
            return SpeechClip(pcm=np.zeros(0, dtype=np.float32), sample_rate=self.sample_rate, text=text)
        return concat_clips(clips, gap_s=SENTENCE_GAP_S)


def change_pitch(pcm: np.ndarray, factor: float) -> tuple[np.ndarray, float]:
    """Raise pitch by `factor` by playing the audio `factor` times faster (resampling).

    Duration shrinks by the same factor, so callers synthesize `factor` times slower first.
    Formants move with the pitch (a few percent is inaudible as such). Returns the new audio and
    the exact time scale (new length / old length) to apply to timings.
    """
    if abs(factor - 1.0) < 1e-3 or len(pcm) == 0:
        return pcm, 1.0
    ratio = Fraction(1.0 / factor).limit_denominator(200)
    out = resample_poly(pcm, ratio.numerator, ratio.denominator).astype(np.float32)
    return out, len(out) / len(pcm)


def finish_clip(
    pcm: np.ndarray,
    sample_rate: int,
    phonemes: list[TimedUnit],
    groups: list[PhoneticWord],
    text: str,
    gain: float,
) -> SpeechClip:
    """Level, trim and time-stamp one sentence.

    The audio is scaled to PEAK * gain. If speech energy continues past the last aligned
    phoneme (engines give the sentence-final punctuation the release of the last sound), that
    phoneme is extended to the end of the energy; the audio is cut TAIL_S after it. Words come
    from `assign_words`.
    """
    pcm = np.asarray(pcm, dtype=np.float32)
    peak = float(np.max(np.abs(pcm))) if len(pcm) else 0.0
    if peak > 0:
        pcm = pcm * (PEAK * gain / peak)
    end = speech_end(pcm, sample_rate)
    if phonemes:
        last = phonemes[-1]
        if end > last.end:
            phonemes[-1] = TimedUnit(last.symbol, last.start, end)
            if groups:
                g = groups[-1]
                groups[-1] = PhoneticWord(g.start, end, g.n_phonemes)
        end = max(end, phonemes[-1].end)
    cut = min(len(pcm), int(round((end + TAIL_S) * sample_rate)))
    pcm = np.clip(pcm[:cut], -1.0, 1.0)
    duration = cut / sample_rate
    phonemes = [TimedUnit(p.symbol, min(p.start, duration), min(p.end, duration)) for p in phonemes]
    words = assign_words(words_of(text), groups)
    return SpeechClip(pcm=pcm, sample_rate=sample_rate, phonemes=tuple(phonemes), words=tuple(words), text=text)


def scale_groups(groups: list[PhoneticWord], factor: float) -> list[PhoneticWord]:
    return [PhoneticWord(g.start * factor, g.end * factor, g.n_phonemes) for g in groups]
