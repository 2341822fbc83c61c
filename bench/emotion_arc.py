"""How the emotion arc rule (emotion/arc.py) moves the later sentences of real replies.

Run: python -m bench.emotion_arc
Replays the replies stored by bench/replies.py (bench/results/replies.json: the embedded models'
answers to 88 messages) through the rule, each reply's settled emotion taken as its label at
intensity 0.6 (replies.json keeps the label only), each later sentence read by the text recognizer:
prints how many later sentences keep the reply's emotion, soften or move to a related label, and
every changed sentence for a hand review; writes bench/results/emotion_arc.json. Pure and fast
(no model runs), so the figures do not depend on the machine's load.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

from bench.machine import cpu_model
from dialogue.llm.sentences import split_sentences
from emotion import EmotionState, recognize
from emotion.arc import sentence_emotion

ROOT = Path(__file__).resolve().parents[1]
REPLIES = ROOT / "bench" / "results" / "replies.json"
RESULTS = ROOT / "bench" / "results" / "emotion_arc.json"
SETTLED_INTENSITY = 0.6


def step_kind(reply: EmotionState, said: EmotionState) -> str:
    """keep | soften | move: what the rule did to one later sentence."""
    if said == reply:
        return "keep"
    return "soften" if said.label is reply.label else "move"


def replay(rows: list[dict]) -> tuple[Counter, list[dict]]:
    """(counts of keep/soften/move over the later sentences, the changed sentences)."""
    counts: Counter = Counter()
    changed = []
    for row in rows:
        reply = EmotionState.of(row["emotion"], SETTLED_INTENSITY)
        for sentence in split_sentences(row["reply"])[1:]:
            said = sentence_emotion(reply, sentence, recognize(sentence))
            kind = step_kind(reply, said)
            counts[kind] += 1
            if kind != "keep":
                changed.append({"id": row["id"], "reply": reply.label.value, "sentence": sentence, "kind": kind,
                                "said": said.label.value, "intensity": round(said.intensity, 2)})
    return counts, changed


def main() -> int:
    load_before = os.getloadavg()
    models = json.loads(REPLIES.read_text(encoding="utf-8"))["models"]
    out = {"cpu": cpu_model(), "loadavg_before": load_before, "settled_intensity": SETTLED_INTENSITY, "models": {}}
    print(f"{'model':22s} {'replies':>7s} {'later':>6s} {'keep':>5s} {'soften':>6s} {'move':>5s}")
    for name, model in models.items():
        counts, changed = replay(model["rows"])
        later = sum(counts.values())
        print(f"{name:22s} {len(model['rows']):7d} {later:6d} {counts['keep']:5d} {counts['soften']:6d} {counts['move']:5d}")
        out["models"][name] = {"replies": len(model["rows"]), "later_sentences": later, **dict(counts),
                               "changed": changed}
    for name, result in out["models"].items():
        for c in result["changed"]:
            print(f"  {name[:5]} {c['id']:8s} {c['reply']:9s} -> {c['kind']:6s} {c['said']:9s} {c['intensity']:.2f}  "
                  f"{c['sentence'][:70]}")
    out["loadavg_after"] = os.getloadavg()
    RESULTS.write_text(json.dumps(out, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
