"""Text emotion recognition: a sentence or chat message -> `EmotionState`.

Method (no learned model, nothing downloaded): a hand-written cue lexicon (`emotion.lexicon`:
words, stems, phrases, emoji, elongated interjections) scores each of the six non-neutral
emotions, with simple negation handling; VADER's compound sentiment (vaderSentiment, MIT, pure
Python) adds evidence for joy when positive and for the strongest negative emotion (sadness by
default) when negative. The best-scoring emotion wins if its score clears `NEUTRAL_THRESHOLD`,
else the text is neutral. About 0.1-0.3 ms per sentence on one CPU core.

Limits, stated plainly: it reads words, not meaning. Sarcasm, irony, context from earlier turns and
emotion carried only by events ("I didn't get the job") are read through VADER's sentiment at best.
English only; other scripts come out neutral unless they carry emoji.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from dataclasses import dataclass

from emotion.lexicon import CUES, ELONGATED, NEGATION_BREAKERS, NEGATION_WINDOW, NEGATORS
from emotion.state import PROTOTYPES, Emotion, EmotionState

log = logging.getLogger(__name__)

# Texts longer than this are read from their last MAX_CHARS characters (where a message ends is
# what the reply answers); keeps the time per call bounded for pasted documents.
MAX_CHARS = 2000
# The best emotion must score at least this much, else the text reads as neutral.
NEUTRAL_THRESHOLD = 0.45
# Share of VADER's negative compound added to the strongest cued negative emotion, or (no
# negative cue) to sadness / anger.
VADER_TO_CUED_NEGATIVE = 0.5
VADER_TO_UNCUED_NEGATIVE = 0.8
# Joy added per "!" (at most 3) to an exclaimed statement with no negative cue.
EXCLAIM_JOY = 0.3
# A negated joy cue ("not happy") counts this much of its weight towards sadness.
NEGATED_JOY_TO_SAD = 0.6

_EMOJI = "\U0001F300-\U0001FAFF\u2600-\u27BF"
_TOKEN_RE = re.compile(rf"[^\W_]+(?:'[^\W_]+)?|[!?]|[{_EMOJI}]")
_NEGATIVE = (Emotion.SAD, Emotion.ANGRY, Emotion.FEARFUL, Emotion.DISGUSTED)


@dataclass(frozen=True, slots=True)
class _Lexicon:
    """The cue lexicon compiled for lookup."""

    words: dict[str, tuple[tuple[Emotion, float], ...]]
    stems: tuple[tuple[str, Emotion, float], ...]
    phrases: dict[str, tuple[tuple[tuple[str, ...], Emotion, float], ...]]  # by first token
    elongated: tuple[tuple[re.Pattern[str], Emotion, float], ...]


@functools.lru_cache(maxsize=1)
def _lexicon() -> _Lexicon:
    words: dict[str, list[tuple[Emotion, float]]] = {}
    stems: list[tuple[str, Emotion, float]] = []
    phrases: dict[str, list[tuple[tuple[str, ...], Emotion, float]]] = {}
    for emo, cues in CUES.items():
        for cue, weight in cues.items():
            parts = tuple(_TOKEN_RE.findall(cue))
            if len(parts) > 1:
                phrases.setdefault(parts[0], []).append((parts, emo, weight))
            elif cue.endswith("*"):
                stems.append((cue[:-1], emo, weight))
            else:
                words.setdefault(cue, []).append((emo, weight))
    return _Lexicon(
        words={w: tuple(v) for w, v in words.items()},
        stems=tuple(stems),
        # longest phrase first, so "oh my god" wins over a shorter phrase at the same place
        phrases={k: tuple(sorted(v, key=lambda p: -len(p[0]))) for k, v in phrases.items()},
        elongated=tuple((re.compile(rf"^{p}$"), e, w) for p, e, w in ELONGATED),
    )


@functools.lru_cache(maxsize=1)
def _vader():
    """The VADER analyzer, built on first use (it reads its lexicon file, ~30 ms)."""
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError as exc:  # optional at import time, required to recognise
        raise ImportError(
            "text emotion recognition needs vaderSentiment: pip install vaderSentiment"
        ) from exc
    return SentimentIntensityAnalyzer()


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens (apostrophes kept inside words), `!`, `?` and single emoji."""
    return _TOKEN_RE.findall(text.lower().replace("\u2019", "'"))


def _negated(tokens: list[str], i: int) -> bool:
    """Whether a negator ("not", "never", "don't", ...) precedes token i within the window."""
    for j in range(max(0, i - NEGATION_WINDOW), i):
        tok = tokens[j]
        if tok in ("!", "?"):
            return False
        if (tok.replace("'", "") in NEGATORS or tok.endswith("n't")) and tokens[j + 1] not in NEGATION_BREAKERS:
            return True
    return False


def _word_cues(lex: _Lexicon, tok: str) -> list[tuple[Emotion, float]]:
    hits = list(lex.words.get(tok, ()))
    if not hits:
        hits = [(e, w) for stem, e, w in lex.stems if tok.startswith(stem)]
    if not hits:
        hits = [(e, w) for pat, e, w in lex.elongated if pat.match(tok)]
    return hits


def cue_scores(tokens: list[str]) -> dict[Emotion, float]:
    """Summed lexicon cue weights per emotion (neutral cues weigh 0) for a token list (see `tokenize`).

    Phrases are matched first and their tokens are not read again as words. A word cue preceded
    by a negator within `NEGATION_WINDOW` tokens is dropped; a negated joy cue counts
    `NEGATED_JOY_TO_SAD` of its weight towards sadness instead.
    """
    lex = _lexicon()
    scores = {e: 0.0 for e in Emotion}
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        matched = 0
        for parts, emo, weight in lex.phrases.get(tok, ()):
            if tuple(tokens[i:i + len(parts)]) == parts and (matched in (0, len(parts))):
                scores[emo] += weight
                matched = len(parts)
        if matched:
            i += matched
            continue
        hits = _word_cues(lex, tok)
        if hits and _negated(tokens, i):
            for emo, weight in hits:
                if emo is Emotion.HAPPY:
                    scores[Emotion.SAD] += NEGATED_JOY_TO_SAD * weight
        else:
            for emo, weight in hits:
                scores[emo] += weight
        i += 1
    return scores


def _shouting(text: str) -> bool:
    """Whether the text has a word of 3+ letters in capitals ("STOP", "WHAT")."""
    return any(len(w) >= 3 and w.isupper() for w in re.findall(r"[^\W\d_]+", text))


def recognize(text: str) -> EmotionState:
    """The emotion expressed by `text` (one sentence or a short chat message).

    Returns an `EmotionState`: `label` is the recognised emotion (neutral for empty text or
    text without emotional cues); `intensity` in [0, 1] grows with the cue strength, VADER's
    sentiment magnitude, exclamation marks and shouting; `valence`/`arousal` are the label's
    prototype scaled by intensity, with valence pulled 40% of the way to VADER's compound score
    and arousal raised by exclamation marks. Text longer than `MAX_CHARS` is read from its end.

    Raises:
        ImportError: vaderSentiment is not installed (the message names the pip command).
    """
    text = _readable(text)
    if not text.strip():
        return EmotionState.neutral()
    tokens = tokenize(text)
    compound = float(_vader().polarity_scores(text)["compound"])
    exclaims = min(tokens.count("!"), 3)
    scores = _with_sentiment(cue_scores(tokens), compound, exclaims)
    label = max(scores, key=scores.__getitem__)
    top = scores[label]
    if top < NEUTRAL_THRESHOLD:
        label = Emotion.NEUTRAL
    return _state(label, math.tanh(top), text, compound, exclaims)


def recognize_as(text: str, label: Emotion, confidence: float) -> EmotionState:
    """`text` read as `label`, decided elsewhere with `confidence` in [0, 1] (a classifier's
    probability, emotion.learned): intensity and valence/arousal built as `recognize` builds them,
    the confidence standing in for the cue strength."""
    text = _readable(text)
    compound = float(_vader().polarity_scores(text)["compound"]) if text.strip() else 0.0
    exclaims = min(text.count("!"), 3)
    return _state(label, min(max(float(confidence), 0.0), 1.0), text, compound, exclaims)


def _readable(text: str) -> str:
    text = str(text or "")
    if len(text) > MAX_CHARS:
        log.debug("recognize: reading the last %d of %d characters", MAX_CHARS, len(text))
        text = text[-MAX_CHARS:]
    return text


def _state(label: Emotion, strength: float, text: str, compound: float, exclaims: int) -> EmotionState:
    """The state of `label` read with `strength` in [0, 1], VADER's `compound` and `exclaims`
    exclamation marks (at most 3); neutral: valence and arousal from the sentiment alone."""
    if label is Emotion.NEUTRAL:
        v, a = 0.3 * compound, 0.05 * exclaims
        return EmotionState(label=Emotion.NEUTRAL, valence=v, arousal=a, intensity=min(math.hypot(v, a), 1.0))
    k = 0.25 + 0.3 * strength + 0.25 * abs(compound) + 0.05 * exclaims
    k = min(max(k + (0.1 if _shouting(text) else 0.0), 0.05), 1.0)
    pv, pa = PROTOTYPES[label]
    v = min(max(0.6 * pv * k + 0.4 * compound, -1.0), 1.0)
    a = min(max(pa * k + 0.05 * exclaims, -1.0), 1.0)
    return EmotionState(label=label, valence=v, arousal=a, intensity=k)


def _with_sentiment(scores: dict[Emotion, float], compound: float, exclaims: int) -> dict[Emotion, float]:
    """Cue scores of the six non-neutral emotions plus the evidence of VADER's compound score
    (in [-1, 1]) and of the number of exclamation marks (at most 3)."""
    scores = {e: w for e, w in scores.items() if e is not Emotion.NEUTRAL}
    if compound > 0:
        scores[Emotion.HAPPY] += compound
    elif compound < 0:
        strongest = max(_NEGATIVE, key=scores.__getitem__)
        if scores[strongest] > 0:
            scores[strongest] += VADER_TO_CUED_NEGATIVE * -compound
        else:  # negative but no cue: sadness when calm, anger when exclaimed
            scores[Emotion.ANGRY if exclaims else Emotion.SAD] += VADER_TO_UNCUED_NEGATIVE * -compound
    if exclaims and compound >= 0 and max(scores[e] for e in _NEGATIVE) == 0:
        # "I got the job!!": an exclaimed statement without negative cues reads as excitement
        scores[Emotion.HAPPY] += EXCLAIM_JOY * exclaims
    return scores
