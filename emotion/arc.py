"""How a reply's emotion moves over its sentences (the emotion arc).

A reply's emotion is settled before its first sentence is spoken (the model's tag, or a clear
reading of the person), and the first sentence is said with it: nothing waits for later text.
Each later sentence is placed relative to that settled emotion, once, when it is released, by
`sentence_emotion`; voice and face then say sentence k with arc[k] (no re-guessing downstream).

The rule is deliberately small and conservative: a sentence never turns the reply into its
opposite and never says it more strongly than the reply.

- a neutral reply stays neutral;
- a sentence whose own reading is clear (intensity >= CLEAR) and of a *related* label (same
  valence sign, prototypes within RELATED_COSINE in direction on the valence/arousal plane:
  sad ~ disgusted, angry ~ disgusted ~ fearful, happy ~ surprised) moves to that label at the
  reply's intensity;
- a sentence that turns towards the person softens the reply (intensity x SOFTEN): a clear reading
  of the opposite valence (a warm "I am glad you told me." in a sad reply, "I'm sorry it was
  hard." in a happy one), or a question in an unpleasant reply ("Do you want to talk about it?");
- anything else keeps the reply's emotion.
"""

from __future__ import annotations

import math

from emotion.state import PROTOTYPES, Emotion, EmotionState

CLEAR = 0.55           # a sentence's own reading must be at least this intense to move or soften it
RELATED_COSINE = 0.6   # labels whose prototypes are this close in direction are related
SOFTEN = 0.7           # a warm turn towards the person says the reply's emotion this much as strongly


def related(a: Emotion, b: Emotion) -> bool:
    """Whether two non-neutral labels are neighbours on the circumplex: the same valence sign and
    a cosine of their prototypes' directions >= RELATED_COSINE. A label is related to itself,
    neutral to none."""
    if Emotion.NEUTRAL in (a, b):
        return False
    (va, aa), (vb, ab) = PROTOTYPES[a], PROTOTYPES[b]
    return va * vb > 0 and (va * vb + aa * ab) / (math.hypot(va, aa) * math.hypot(vb, ab)) >= RELATED_COSINE


def _valence(label: Emotion) -> float:
    return PROTOTYPES[label][0]


def sentence_emotion(reply: EmotionState, sentence: str, reading: EmotionState | None) -> EmotionState:
    """The emotion a later sentence (not the first) of a reply said with `reply` is said with.

    sentence: the sentence's text (a question ends with "?").
    reading: the text recognizer's reading of this sentence alone (None: no recognizer).
    Pure; the result's label is `reply`'s or one related to it, its intensity at most `reply`'s.
    """
    if reply.label is Emotion.NEUTRAL or reply.intensity <= 0.0:
        return reply
    clear = reading is not None and reading.label is not Emotion.NEUTRAL and reading.intensity >= CLEAR
    if clear and reading.label is not reply.label and related(reply.label, reading.label):
        return EmotionState.of(reading.label, reply.intensity)
    opposite = clear and _valence(reading.label) * _valence(reply.label) < 0
    question = sentence.rstrip().endswith("?") and _valence(reply.label) < 0
    if opposite or question:
        return reply.scaled(SOFTEN)
    return reply

