"""Benchmark of `emotion.text.recognize` on tests/data/emotion_sentences.csv.

Run: python -m bench.text_emotion
Prints per-label precision/recall, 7-way accuracy on the test and dev splits, the confusion
matrix of the test split and the time per sentence; writes bench/results/text_emotion.json.
The lexicon was adjusted on the dev split only; the test split is the honest figure, with one
caveat: the same author wrote the sentences and, afterwards, the lexicon, so even test accuracy is
likely above what the recognizer reaches on real users' messages.
"""

from __future__ import annotations

import csv
import json
import platform
import statistics
import time
from pathlib import Path

from emotion.state import Emotion
from emotion.text import recognize

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "emotion_sentences.csv"
RESULTS = ROOT / "bench" / "results" / "text_emotion.json"
LABELS = [e.value for e in Emotion]


def load_rows(path: Path = DATA) -> list[dict[str, str]]:
    """Rows of the labelled set: text, label, source, split."""
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def evaluate(rows: list[dict[str, str]]) -> dict:
    """Accuracy, per-label precision/recall and confusion matrix (rows: truth, columns: predicted)."""
    confusion = {t: {p: 0 for p in LABELS} for t in LABELS}
    errors = []
    for row in rows:
        pred = recognize(row["text"]).label.value
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


def time_per_sentence(texts: list[str], repeats: int = 5) -> dict[str, float]:
    """Median and max over `repeats` passes of the mean milliseconds per sentence."""
    recognize("warm up")  # builds the VADER analyzer and the compiled lexicon once
    per_pass = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for t in texts:
            recognize(t)
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
    splits = {s: [r for r in rows if r["split"] == s] for s in ("test", "dev")}
    results = {s: evaluate(r) for s, r in splits.items()}
    timing = time_per_sentence([r["text"] for r in rows])
    for s in ("test", "dev"):
        _print_report(s, results[s])
    _print_confusion(results["test"])
    print(f"\ntime: {timing['median_ms']:.3f} ms/sentence (median of 5 passes, max {timing['max_ms']:.3f})")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    out = {
        "method": "hand-written cue lexicon + VADER compound (emotion/text.py)",
        "data": str(DATA.relative_to(ROOT)),
        "caveat": "lexicon tuned on dev only, but written by the author of all sentences after "
        "writing them: expect lower accuracy on real chat text",
        "test": results["test"],
        "dev": results["dev"],
        "timing": timing,
        "machine": {"python": platform.python_version(), "processor": platform.processor()},
    }
    RESULTS.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
