"""Benchmark of the two readers of a person's feeling: the lexicon (`emotion.text.recognize`)
and the app's trained classifier (`app.text_emotion.FeelingReader`, the lexicon where it is unsure).

Run: python -m bench.text_emotion
Prints per-label precision/recall, 7-way accuracy and the time per sentence of each reader on the
test split of tests/data/emotion_sentences.csv and on the last user message of each item of the
reply benchmark (bench/data/replies.json, its writer's label), plus the confusion matrix of the
latter; writes bench/results/text_emotion.json.
The lexicon was adjusted on the csv's dev split only; the classifier was trained on that split and
assets/emotion/messages.txt, minus every message close to a test message (app.text_emotion). One
caveat for both: the same team wrote the sentences, the lexicon and the training messages, so even
test accuracy is likely above what a reader reaches on real users' messages.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path

from app.text_emotion import FeelingReader, sentence_rows
from bench.machine import cpu_model
from bench.replies import load_items
from emotion.state import Emotion
from emotion.text import recognize

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "emotion_sentences.csv"
RESULTS = ROOT / "bench" / "results" / "text_emotion.json"
LABELS = [e.value for e in Emotion]


def load_rows(path: Path = DATA) -> list[dict[str, str]]:
    """Rows of the labelled set: text, label, source, split."""
    return sentence_rows(path)


def reply_messages() -> list[dict[str, str]]:
    """The last user message of each reply-benchmark item, labelled by its writer."""
    return [{"text": item["turns"][-1], "label": item["emotion"]} for item in load_items()]


def evaluate(rows: list[dict[str, str]], read=recognize) -> dict:
    """Accuracy, per-label precision/recall and confusion matrix (rows: truth, columns: predicted)
    of `read` (text -> EmotionState)."""
    confusion = {t: {p: 0 for p in LABELS} for t in LABELS}
    errors = []
    for row in rows:
        pred = read(row["text"]).label.value
        confusion[row["label"]][pred] += 1
        if pred != row["label"]:
            errors.append({"text": row["text"], "label": row["label"], "predicted": pred})
    per_label = {}
    for lab in LABELS:
        tp = confusion[lab][lab]
        n_true = sum(confusion[lab].values())
        n_pred = sum(confusion[t][lab] for t in LABELS)
        per_label[lab] = {
            "precision": tp / n_pred if n_pred else 0.0,
            "recall": tp / n_true if n_true else 0.0,
            "support": n_true,
        }
    correct = sum(confusion[lab][lab] for lab in LABELS)
    return {
        "n": len(rows),
        "accuracy": correct / len(rows) if rows else 0.0,
        "per_label": per_label,
        "confusion": confusion,
        "errors": errors,
    }


def time_per_sentence(texts: list[str], read=recognize, repeats: int = 5) -> dict[str, float]:
    """Median and max over `repeats` passes of the mean milliseconds per sentence."""
    read("warm up")  # builds the VADER analyzer and the compiled lexicon (and loads a model) once
    per_pass = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for t in texts:
            read(t)
        per_pass.append((time.perf_counter() - t0) * 1000 / len(texts))
    return {"median_ms": statistics.median(per_pass), "max_ms": max(per_pass)}


def _print_report(name: str, res: dict) -> None:
    print(f"\n== {name}: accuracy {res['accuracy']:.1%} ({res['n']} sentences)")
    print(f"{'label':<10} {'prec':>6} {'recall':>6} {'n':>4}")
    for lab, m in res["per_label"].items():
        print(f"{lab:<10} {m['precision']:>6.2f} {m['recall']:>6.2f} {m['support']:>4}")


def _print_confusion(res: dict) -> None:
    print("\nconfusion (rows: truth, columns: predicted)")
    print(" " * 10 + "".join(f"{lab[:5]:>6}" for lab in LABELS))
    for t in LABELS:
        print(f"{t:<10}" + "".join(f"{res['confusion'][t][p]:>6}" for p in LABELS))


def main() -> None:
    rows = load_rows()
    sets = {"test": [r for r in rows if r["split"] == "test"], "replies": reply_messages()}
    readers = {"lexicon": recognize, "learned": FeelingReader()}
    if not readers["learned"].load():
        raise SystemExit("the text-emotion classifier did not load (see the log)")
    load0 = os.getloadavg()
    results = {name: {s: evaluate(r, read) for s, r in sets.items()} for name, read in readers.items()}
    timing = {name: time_per_sentence([r["text"] for r in sets["test"]], read, repeats=3)
              for name, read in readers.items()}
    for name in readers:
        for s in sets:
            _print_report(f"{name}, {s}", results[name][s])
    for name in readers:
        print(f"\n{name}, replies", end="")
        _print_confusion(results[name]["replies"])
    print(f"\n{'reader':<8} {'test':>6} {'replies':>8} {'ms/msg':>7}")
    for name in readers:
        print(f"{name:<8} {results[name]['test']['accuracy']:6.1%} {results[name]['replies']['accuracy']:8.1%} "
              f"{timing[name]['median_ms']:7.2f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    out = {
        "methods": {"lexicon": "hand-written cue lexicon + VADER compound (emotion/text.py)",
                    "learned": "logistic regression over all-MiniLM-L6-v2 embeddings where its top probability "
                               ">= emotion.learned.CONFIDENT, else the lexicon (app/text_emotion.py)"},
        "data": {"test": str(DATA.relative_to(ROOT)) + " (test split)",
                 "replies": "bench/data/replies.json (the last user message of each item)"},
        "caveat": "the same team wrote the sentences, the lexicon and the classifier's training messages: "
                  "expect lower accuracy on real chat text",
        **results,
        "timing": timing,
        "machine": {"python": platform.python_version(), "cpu": cpu_model(), "loadavg": [load0, os.getloadavg()]},
    }
    RESULTS.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
