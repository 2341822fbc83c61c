"""How the avatar answers a person's emotion when the LLM did not say how it feels.

A small LLM rarely labels its own reply, and the reply text alone can be tone-deaf ("Lovely!"
to a person in grief). The avatar's emotion is then chosen between the text's own emotion and an
empathic response to the person's current emotion, the latter weighted by the profile's
`mirroring` (how much this avatar takes on other people's feelings):

    response  = EMPATHY[user.label] at user.intensity x (0.5 + 0.5 x mirroring)
    w         = 0.4 + 0.6 x mirroring                         (0.4 .. 1.0)
    result    = weighted_mean([(text, 1 - w), (response, w)])  (label of the larger weight x intensity)

Anger and fear are answered with concern (sad: soft brows, lowered mouth), never mirrored as such.
"""

from __future__ import annotations

from emotion.labels import TABLE
from emotion.state import Emotion, EmotionState, weighted_mean

# Which label answers which (from the label table, emotion.labels).
EMPATHY: dict[Emotion, Emotion] = {Emotion(s.name): Emotion(s.empathy) for s in TABLE}

MIN_USER_INTENSITY = 0.15  # below this the person reads as neutral: the text decides alone


def respond_to(user: EmotionState, reply_text: EmotionState, mirroring: float = 0.5) -> EmotionState:
    """The avatar's emotion for a reply whose text reads as `reply_text`, said to a person
    feeling `user`. `mirroring` in [0, 1] (EmotionProfile.mirroring)."""
    m = min(max(float(mirroring), 0.0), 1.0)
    if user.label is Emotion.NEUTRAL or user.intensity < MIN_USER_INTENSITY:
        return reply_text
    response = EmotionState.of(EMPATHY[user.label], user.intensity * (0.5 + 0.5 * m))
    w = 0.4 + 0.6 * m
    return weighted_mean([(reply_text, 1.0 - w), (response, w)])
