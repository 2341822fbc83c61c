"""Embedded LLM latency: load time, first-sentence latency, full-reply time and tokens/s.

    /work/venv/bin/python -m bench.llm_latency [--runs 5] [--threads 2]

Prints a table and writes bench/results/llm_latency.json. Figures are medians over the prompts
(after one unmeasured warm-up reply); the machine is shared, so the load average is recorded too.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import time
from pathlib import Path

PROMPTS = [
    "I got the job today!",
    "My cat died this morning.",
    "What should I cook tonight?",
    "I'm so angry at my boss.",
    "Can you tell me something interesting about the moon?",
    "I feel a bit lonely this evening.",
    "Do you like music?",
]

RESULTS = Path(__file__).resolve().parent / "results" / "llm_latency.json"


class _Stats(logging.Handler):
    """Collects the per-reply figures the embedded backend logs (new_tokens, reply_s)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        if hasattr(record, "new_tokens"):
            self.records.append({"new_tokens": record.new_tokens, "prompt_tokens": record.prompt_tokens,
                                 "reply_s": record.reply_s})


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="prompts to time (max %d)" % len(PROMPTS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    stats = _Stats()
    emb_log = logging.getLogger("dialogue.llm.embedded")
    emb_log.addHandler(stats)
    emb_log.setLevel(logging.INFO)

    t0 = time.perf_counter()
    import torch  # noqa: F401  (timed apart: the app pays it once at start)
    import transformers  # noqa: F401
    import_s = time.perf_counter() - t0

    from dialogue.llm import PersonaBrief, make_llm
    from dialogue.settings import LLMSettings
    from dialogue.turns import AvatarRole, EmotionCues, Speaker, Turn

    import tempfile

    from dialogue.llm.embedded import default_model_path, load_fresh

    with tempfile.TemporaryDirectory(prefix="warmchat-llm-bench-") as tmp:
        # cold: parse + dequantize the GGUF, then write the converted copy; warm: load that copy
        t0 = time.perf_counter()
        load_fresh(default_model_path(), args.threads, Path(tmp))
        gguf_load_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        load_fresh(default_model_path(), args.threads, Path(tmp))
        cached_load_s = time.perf_counter() - t0

    llm = make_llm(LLMSettings(backend="embedded", embedded_threads=args.threads, timeout_s=120))
    t0 = time.perf_counter()
    llm.warm_up()  # the app's path: the default cache folder (converted on its first use)
    load_s = time.perf_counter() - t0

    persona = PersonaBrief(name="Ada", system_prompt="You are Ada, a warm and curious companion.", temperature=0.3)
    greeting = Turn(speaker=Speaker.AVATAR, avatar_role=AvatarRole.SPEAKING, text="Hi, I'm Ada. How was your day?")

    def reply(text: str) -> dict:
        path = [greeting, Turn(speaker=Speaker.USER, avatar_role=AvatarRole.LISTENING, text=text)]
        t = time.perf_counter()
        first = None
        final = None
        for chunk in llm.stream_reply(persona, path, EmotionCues()):
            if chunk.sentence and first is None:
                first = time.perf_counter() - t
            if chunk.final is not None:
                final = chunk.final
        total = time.perf_counter() - t
        gen = stats.records[-1]
        return {"prompt": text, "first_sentence_s": first if first is not None else total, "reply_s": total,
                "new_tokens": gen["new_tokens"], "prompt_tokens": gen["prompt_tokens"],
                "tokens_per_s": gen["new_tokens"] / gen["reply_s"] if gen["reply_s"] > 0 else 0.0,
                "reply": final.text if final else "", "emotion": final.emotion.value if final else ""}

    reply("Hello!")  # warm-up: first generate() pays one-off setup
    rows = [reply(p) for p in PROMPTS[: max(1, min(args.runs, len(PROMPTS)))]]

    def med(key: str) -> float:
        return statistics.median(r[key] for r in rows)

    result = {
        "backend": "embedded (transformers, SmolLM2-135M-Instruct Q4_1 GGUF dequantized to float32)",
        "threads": args.threads,
        "cpu_count": os.cpu_count(),
        "loadavg_1m": os.getloadavg()[0],
        "python": platform.python_version(),
        "import_s": import_s,
        "gguf_load_s": gguf_load_s,
        "cached_load_s": cached_load_s,
        "app_warm_up_s": load_s,
        "median_first_sentence_s": med("first_sentence_s"),
        "median_reply_s": med("reply_s"),
        "median_tokens_per_s": med("tokens_per_s"),
        "median_new_tokens": med("new_tokens"),
        "runs": rows,
    }
    print(f"embedded LLM, {args.threads} threads, {os.cpu_count()} CPUs, load average {result['loadavg_1m']:.1f}")
    print(f"import torch+transformers {import_s:6.2f} s")
    print(f"load from GGUF + convert  {gguf_load_s:6.2f} s")
    print(f"load from converted copy  {cached_load_s:6.2f} s")
    print(f"{'prompt':<44} {'first s':>8} {'reply s':>8} {'tokens':>7} {'tok/s':>7}")
    for r in rows:
        print(f"{r['prompt'][:44]:<44} {r['first_sentence_s']:8.2f} {r['reply_s']:8.2f} {r['new_tokens']:7d} "
              f"{r['tokens_per_s']:7.1f}")
    print(f"{'median':<44} {result['median_first_sentence_s']:8.2f} {result['median_reply_s']:8.2f} "
          f"{result['median_new_tokens']:7.0f} {result['median_tokens_per_s']:7.1f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
