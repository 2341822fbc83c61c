"""Phoneme and word timings: from engine alignments, by energy-based forced alignment, and the
small operations on timed clips (scale, shift, concatenate).

Word timings are derived the same way for every engine: the engine's phoneme string is split into
*phonetic words* at spaces and punctuation, then the text's words are matched to phonetic words by
`assign_words` (a monotone alignment that allows eSpeak's merges, e.g. "I am" -> one phonetic word
"aɪɐm", and splits, e.g. "25" -> "twenty five"); a phonetic word shared by several text words is
divided between them in proportion to their letter counts.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from avatar.voice.base import SpeechClip, TimedUnit

STRESS = frozenset("ˈˌ")
SILENT = frozenset("^$_")  # piper's begin/end/pad symbols: time passes, no phoneme


@dataclass(frozen=True, slots=True)
class PhoneticWord:
    """A run of phonemes between spaces/punctuation: times in seconds and its phoneme count."""

    start: float
    end: float
    n_phonemes: int


def _is_modifier(symbol: str) -> bool:
    """Length marks, diacritics and other modifiers that lengthen the phoneme before them."""
    return all(unicodedata.category(c) in ("Lm", "Mn", "Sk") for c in symbol) and symbol not in STRESS


def _is_boundary(symbol: str) -> bool:
    """Spaces and punctuation: word boundaries that may carry a pause."""
    return symbol.isspace() or all(unicodedata.category(c)[0] in "PZS" for c in symbol)


def units_from_alignments(
    alignments: Sequence[tuple[str, int]], sample_rate: int
) -> tuple[list[TimedUnit], list[PhoneticWord]]:
    """Timed phonemes and phonetic words from piper alignments (phoneme, number of samples).

    Stress marks carry no sound of their own: their time is given to the phoneme that follows.
    Length marks and diacritics extend the phoneme before them. Spaces and punctuation end a
    phonetic word; their time is a gap between units. Piper's ^ and $ are silence.
    """
    phonemes: list[TimedUnit] = []
    words: list[PhoneticWord] = []
    t = 0.0
    pending_start: float | None = None  # start of a stress mark waiting for its phoneme
    word_start: float | None = None
    word_count = 0

    def close_word() -> None:
        nonlocal word_start, word_count
        if word_start is not None and word_count:
            words.append(PhoneticWord(word_start, phonemes[-1].end, word_count))
        word_start, word_count = None, 0

    for symbol, n in alignments:
        dur = float(n) / sample_rate
        if symbol in SILENT:
            close_word()
            pending_start = None
        elif symbol in STRESS:
            pending_start = t if pending_start is None else pending_start
        elif _is_modifier(symbol):
            if phonemes and word_start is not None:
                last = phonemes[-1]
                phonemes[-1] = TimedUnit(last.symbol + symbol, last.start, t + dur)
        elif _is_boundary(symbol):
            close_word()
            pending_start = None
        else:
            start = pending_start if pending_start is not None else t
            pending_start = None
            phonemes.append(TimedUnit(symbol, start, t + dur))
            if word_start is None:
                word_start = start
            word_count += 1
        t += dur
    close_word()
    return phonemes, words


def _word_weight(word: str) -> float:
    """Expected phoneme count of a written word: letters, with digits spoken as ~4 phonemes each."""
    return sum(4.0 if c.isdigit() else 1.0 for c in word if c.isalnum()) or 1.0


def assign_words(text_words: Sequence[str], groups: Sequence[PhoneticWord]) -> list[TimedUnit]:
    """Time each text word by matching it to phonetic words (see the module docstring).

    A monotone dynamic programme pairs 1 text word with 1-4 phonetic words, or 2-3 text words
    with 1 phonetic word, minimising the difference of their shares of the sentence (letters vs
    phonemes) plus a small penalty per merge or split. Returns [] when either side is empty.
    """
    W, G = len(text_words), len(groups)
    if W == 0 or G == 0:
        return []
    w = np.array([_word_weight(x) for x in text_words])
    g = np.array([float(x.n_phonemes) for x in groups])
    cw = np.concatenate([[0.0], np.cumsum(w / w.sum())])
    cg = np.concatenate([[0.0], np.cumsum(g / g.sum())])
    moves = [(1, 1)] + [(1, k) for k in (2, 3, 4)] + [(k, 1) for k in (2, 3)]
    inf = float("inf")
    cost = np.full((W + 1, G + 1), inf)
    back: dict[tuple[int, int], tuple[int, int]] = {}
    cost[0, 0] = 0.0
    for i in range(W + 1):
        for j in range(G + 1):
            if cost[i, j] == inf:
                continue
            for di, dj in moves:
                ni, nj = i + di, j + dj
                if ni > W or nj > G:
                    continue
                c = cost[i, j] + abs((cw[ni] - cw[i]) - (cg[nj] - cg[j])) + 0.02 * (di + dj - 2)
                if c < cost[ni, nj]:
                    cost[ni, nj] = c
                    back[(ni, nj)] = (i, j)
    if cost[W, G] == inf:  # e.g. far more phonetic words than the moves allow: spread evenly
        return _spread(text_words, groups[0].start, groups[-1].end)
    out: list[TimedUnit] = []
    node = (W, G)
    spans = []
    while node != (0, 0):
        prev = back[node]
        spans.append((prev, node))
        node = prev
    for (i, j), (ni, nj) in reversed(spans):
        start, end = groups[j].start, groups[nj - 1].end
        if ni - i == 1:
            out.append(TimedUnit(text_words[i], start, end))
        else:
            share = np.concatenate([[0.0], np.cumsum(w[i:ni] / w[i:ni].sum())])
            for k in range(ni - i):
                a = start + (end - start) * share[k]
                b = start + (end - start) * share[k + 1]
                out.append(TimedUnit(text_words[i + k], float(a), float(b)))
    return out


def _spread(text_words: Sequence[str], start: float, end: float) -> list[TimedUnit]:
    w = np.array([_word_weight(x) for x in text_words])
    edges = start + (end - start) * np.concatenate([[0.0], np.cumsum(w / w.sum())])
    return [TimedUnit(x, float(edges[k]), float(edges[k + 1])) for k, x in enumerate(text_words)]


# ----------------------------------------------------------------------------------------------
# Energy-based forced alignment (engines without native timings: eSpeak CLI, Coqui)

FRAME_S = 0.010
_VOWEL_CHARS = frozenset("aeiouæɐɑɒɔəɚɛɜɝɪʊʌʏøœɨɯɤyɘɵɞ")


def speech_regions(
    pcm: np.ndarray, sample_rate: int, threshold_db: float = -35.0, min_gap_s: float = 0.08
) -> list[tuple[float, float]]:
    """(start, end) seconds of the loud parts of `pcm`: 10 ms frames whose RMS is within
    `threshold_db` of the loudest frames (95th percentile), with gaps shorter than `min_gap_s`
    closed. Returns [] for silence."""
    hop = max(int(round(FRAME_S * sample_rate)), 1)
    n = len(pcm) // hop
    if n == 0:
        return []
    frames = pcm[: n * hop].astype(np.float64).reshape(n, hop)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    ref = np.percentile(rms, 95)
    if ref <= 1e-6:
        return []
    loud = rms >= ref * 10 ** (threshold_db / 20)
    regions: list[list[float]] = []
    for i in np.flatnonzero(loud):
        t0, t1 = float(i * FRAME_S), float((i + 1) * FRAME_S)
        if regions and t0 - regions[-1][1] < min_gap_s:
            regions[-1][1] = t1
        else:
            regions.append([t0, t1])
    return [(float(a), float(b)) for a, b in regions]


def energy_align(
    pcm: np.ndarray, sample_rate: int, word_phonemes: Sequence[Sequence[str]]
) -> tuple[list[TimedUnit], list[PhoneticWord]]:
    """Place phonetic words (each a list of phoneme symbols) on the loud regions of `pcm`.

    Method: the audio's loud regions are found (`speech_regions`); each gap between regions is
    snapped to the word boundary whose share of the phonemes is nearest the share of speech time
    before the gap; inside a region, time is divided between its phonemes in proportion to a
    weight (vowels 1.6, other phonemes 1.0). Accuracy is that of a pause-aware proportional
    model (tens of ms on fluent speech), enough for visemes, not for phonetics.
    """
    words = [list(p) for p in word_phonemes if len(p)]
    regions = speech_regions(pcm, sample_rate)
    if not words or not regions:
        return [], []
    weights = [np.array([1.6 if set(s) & _VOWEL_CHARS else 1.0 for s in p]) for p in words]
    word_w = np.array([x.sum() for x in weights])
    cum_words = np.concatenate([[0.0], np.cumsum(word_w / word_w.sum())])
    lens = np.array([b - a for a, b in regions])
    cum_speech = np.cumsum(lens / lens.sum())[:-1]
    # word index where each region starts (monotone): region r holds words cut[r]..cut[r+1]
    cut = [0]
    for share in cum_speech:
        k = int(np.argmin(np.abs(cum_words - share)))
        cut.append(max(k, cut[-1]))
    cut.append(len(words))
    phonemes: list[TimedUnit] = []
    groups: list[PhoneticWord] = []
    for r, (a, b) in enumerate(regions):
        members = range(cut[r], cut[r + 1])
        if not members:
            continue  # a noise blip or a breath: no words placed on it
        total = float(sum(word_w[m] for m in members))
        t = a
        for m in members:
            w_start = t
            for sym, wt in zip(words[m], weights[m]):
                d = float((b - a) * wt / total)
                phonemes.append(TimedUnit(sym, t, t + d))
                t += d
            groups.append(PhoneticWord(w_start, t, len(words[m])))
    return phonemes, groups


# ----------------------------------------------------------------------------------------------
# Operations on timed clips


def scale_units(units: Sequence[TimedUnit], factor: float, offset: float = 0.0) -> tuple[TimedUnit, ...]:
    """Units with times multiplied by `factor`, then shifted by `offset` seconds."""
    return tuple(TimedUnit(u.symbol, u.start * factor + offset, u.end * factor + offset) for u in units)


def speech_end(pcm: np.ndarray, sample_rate: int, threshold_db: float = -40.0) -> float:
    """Seconds at which the last loud 10 ms frame ends (0.0 for silence)."""
    regions = speech_regions(pcm, sample_rate, threshold_db=threshold_db)
    return regions[-1][1] if regions else 0.0


def concat_clips(clips: Sequence[SpeechClip], gap_s: float = 0.25) -> SpeechClip:
    """One clip from consecutive sentence clips with `gap_s` of silence between them.

    Raises:
        ValueError: no clips, or sample rates differ.
    """
    if not clips:
        raise ValueError("concat_clips needs at least one clip")
    sr = clips[0].sample_rate
    if any(c.sample_rate != sr for c in clips):
        raise ValueError("cannot concatenate clips of different sample rates")
    gap = np.zeros(int(round(gap_s * sr)), dtype=np.float32)
    pcm, phonemes, words = [], [], []
    offset_samples = 0
    for i, clip in enumerate(clips):
        if i:
            pcm.append(gap)
            offset_samples += len(gap)
        offset = offset_samples / sr
        pcm.append(clip.pcm.astype(np.float32, copy=False))
        phonemes.extend(scale_units(clip.phonemes, 1.0, offset))
        words.extend(scale_units(clip.words, 1.0, offset))
        offset_samples += len(clip.pcm)
    return SpeechClip(
        pcm=np.concatenate(pcm),
        sample_rate=sr,
        phonemes=tuple(phonemes),
        words=tuple(words),
        text=" ".join(c.text for c in clips),
    )
