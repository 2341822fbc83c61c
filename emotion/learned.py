"""The person's feeling read by a small trained classifier, with the lexicon as its fallback.

The lexicon (`emotion.text.recognize`) reads words; many messages carry their feeling in events
("My grandfather passed away last night", "Wait, my brother is getting married?"). A multinomial
logistic regression over all-MiniLM-L6-v2 sentence embeddings (384 numbers per message, computed
by the app's embedder, app.text_emotion) reads those. It is trained by `python -m app.text_emotion`
on the labelled messages in assets/emotion/messages.txt, written for warmchat.

Where the classifier is confident (its top probability >= `CONFIDENT`) its label decides;
otherwise the lexicon's reading stands. This module needs numpy only: no torch, no model files
beyond the weights (assets/emotion/classifier.npz, about 11 KB).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotion.state import Emotion, EmotionState
from emotion.text import recognize, recognize_as

# The classifier's top probability from which its label decides (chosen by 5-fold cross-validation
# on the 383 training messages: 97 % of its readings at or above it were right, covering 68 %).
CONFIDENT = 0.6

WEIGHTS = Path(__file__).resolve().parent.parent / "assets" / "emotion" / "classifier.npz"


class ClassifierError(ValueError):
    """The classifier's weights cannot be used (missing, malformed, unknown labels)."""


@dataclass(frozen=True)
class MessageClassifier:
    """softmax(W @ embedding + b) over `labels`; W is (labels, dims), the embedding unit-length."""

    labels: tuple[Emotion, ...]
    weights: np.ndarray
    bias: np.ndarray

    @classmethod
    def load(cls, path: Path = WEIGHTS) -> "MessageClassifier":
        """The weights saved by `save`. Raises ClassifierError naming the file and the fault."""
        try:
            with np.load(path, allow_pickle=False) as data:
                names, weights, bias = data["labels"], data["weights"], data["bias"]
        except (OSError, KeyError, ValueError) as exc:
            raise ClassifierError(f"{path}: not a text-emotion classifier ({exc})") from exc
        try:
            labels = tuple(Emotion(str(n)) for n in names)
        except ValueError as exc:
            raise ClassifierError(f"{path}: {exc}") from exc
        if weights.shape != (len(labels), weights.shape[1]) or bias.shape != (len(labels),):
            raise ClassifierError(f"{path}: weights {weights.shape} and bias {bias.shape} do not match {len(labels)} labels")
        return cls(labels, weights.astype(np.float32), bias.astype(np.float32))

    def save(self, path: Path) -> None:
        np.savez(path, labels=np.array([e.value for e in self.labels]), weights=self.weights, bias=self.bias)

    @property
    def dims(self) -> int:
        return int(self.weights.shape[1])

    def probabilities(self, embedding: np.ndarray) -> dict[Emotion, float]:
        """Each label's probability for one embedding ((dims,) float)."""
        z = self.weights @ np.asarray(embedding, np.float32).reshape(-1) + self.bias
        p = np.exp(z - z.max())
        p /= p.sum()
        return {label: float(x) for label, x in zip(self.labels, p)}


def read_feeling(text: str, probabilities: Mapping[Emotion, float] | None) -> EmotionState:
    """The feeling of a person's message: the classifier's label where it is confident, built as
    `emotion.text.recognize_as` builds it (the lexicon's own reading when it names the same label);
    else, or with no probabilities (no embedder), the lexicon's reading."""
    lexical = recognize(text)
    if not probabilities:
        return lexical
    label = max(probabilities, key=probabilities.__getitem__)
    confidence = probabilities[label]
    if confidence < CONFIDENT or label is lexical.label:
        return lexical
    return recognize_as(text, label, confidence)
