"""Embedded LLM latency: process start, first-sentence latency, decode speed and KV-cache reuse.

    python -m bench.llm_latency [--model qwen2.5-coder-1.5b] [--threads 2] [--nice 0] [--turns 8]

One model process (as the app runs it), one conversation of --turns turns with a persona, each turn
answered with the exact prompt the app sends (dialogue.prompts via the model's PromptStyle) and
parsed by the same sentence/tag assembler; the stream is read to its end so llama.cpp reports its
timings (prompt tokens evaluated vs reused from the cache, decode tokens/s). As in the app, the
conversation so far is evaluated once each reply is in (LiveSession.prefill_with), untimed. The
conversation is answered twice: "cold" (the message reaches the model only when it is sent) and
"draft" (as the app does while the person types: the prompt with their message is evaluated
ahead, after a pause in typing, and the clock starts at send). Prints a table and writes
bench/results/llm_latency[_MODEL].json with the CPU model and load average.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.text_emotion import FeelingReader
from dialogue.cues import path_cues
from dialogue.llm.base import PersonaBrief
from dialogue.llm.embedded import style_for
from dialogue.llm.models import DEFAULT_MODEL, model_path, model_spec
from dialogue.llm.structured import ReplyAssembler
from dialogue.llm.supervisor import ModelProcess
from dialogue.prompts import PromptStyle
from dialogue.turns import AvatarRole, EmotionCues, Speaker, Turn
from emotion import EmotionState, recognize
from bench.machine import cpu_model

RESULTS = Path(__file__).resolve().parent / "results"

# A conversation the latency is measured on (not the reply-quality set).
TURNS = [
    "Hi! I just got back from a long walk by the river.",
    "It was lovely, the trees are turning orange already.",
    "Honestly though, work has been stressing me out lately.",
    "My manager keeps moving the deadline forward.",
    "Maybe I should just take a day off next week.",
    "Thanks, that actually makes me feel a bit better.",
    "What do you like doing on a free day?",
    "I might bake some bread then, I haven't in ages.",
]


Prime = Callable[[PersonaBrief, list[Turn], EmotionCues], Any]  # OpenAIChatLLM.prime, as EmbeddedLLM.prefill uses


def timed_reply(client: Any, spec_max_tokens: int, style: PromptStyle, persona: PersonaBrief, path: list[Turn],
                cues: EmotionCues, *, temperature: float, repeat_penalty: float, prime: Prime | None = None) -> dict:
    """One reply as the app asks for it, timed: first token, first complete sentence (as the
    assembler releases it), the whole stream, and llama.cpp's own timings. prime: given, the
    prompt is evaluated with it first, untimed, as the app's typed-draft prefill does
    (EmbeddedLLM.prefill)."""
    messages = style.messages(persona, path, cues)
    draft_s = None
    if prime is not None:
        t0 = time.perf_counter()
        prime(persona, path, cues)
        draft_s = time.perf_counter() - t0
    asm = ReplyAssembler(persona, emotion_of=recognize, max_sentences=style.max_sentences, max_chars=style.max_chars,
                         expect_tag=style.ask_tag, companion=style.companion, person_tag=style.person_tag,
                         heard=cues.user_current)  # as the app's stream assembles it (stream_structured)
    t0 = time.perf_counter()
    first_token = first_sentence = None
    timings: dict = {}
    finish = None
    stream = client.chat.completions.create(
        model="embedded", messages=messages, stream=True, temperature=temperature,
        max_tokens=min(persona.max_tokens or spec_max_tokens, spec_max_tokens),
        extra_body={"cache_prompt": True, "repeat_penalty": repeat_penalty})
    for chunk in stream:
        extra = getattr(chunk, "model_extra", None) or {}
        if isinstance(extra.get("timings"), dict):
            timings = extra["timings"]
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        finish = choice.finish_reason or finish
        text = getattr(choice.delta, "content", None)
        if not text:
            continue
        if first_token is None:
            first_token = time.perf_counter() - t0
        if asm.feed(text) and first_sentence is None:
            first_sentence = time.perf_counter() - t0
    total = time.perf_counter() - t0
    sentences, reply = asm.finish(truncated=finish == "length")
    if first_sentence is None:
        first_sentence = total  # the first sentence came with the end of the stream
    return {
        "draft_prefill_s": draft_s,
        "first_token_s": first_token if first_token is not None else total,
        "first_sentence_s": first_sentence,
        "stream_s": total,
        "prompt_tokens": timings.get("prompt_n"),
        "cached_tokens": timings.get("cache_n"),
        "prompt_tok_s": timings.get("prompt_per_second"),
        "decode_tokens": timings.get("predicted_n"),
        "decode_tok_s": timings.get("predicted_per_second"),
        "reply": reply.text,
        "emotion": reply.emotion.value,
        "intensity": reply.intensity,
        "emotion_source": reply.emotion_source,
        "raw": asm.raw,
    }


def run_conversation(client: Any, spec_name: str, persona: PersonaBrief, texts: list[str], prime: Prime, *,
                     draft: bool = False, feeling: Callable[[str], EmotionState] = recognize) -> list[dict]:
    """Answer `texts` one after another as a conversation (the replies join the path); `prime`
    evaluates a prompt ahead (after each reply, and with `draft` before each message is sent:
    see timed_reply); `feeling` reads the person's messages (the app's Services.person_feeling)."""
    spec = model_spec(spec_name)
    style = style_for(spec)
    path = [Turn(speaker=Speaker.AVATAR, avatar_role=AvatarRole.SPEAKING, text="Hi, I'm Ada. How was your day?")]
    rows = []
    temperature = min(persona.temperature if persona.temperature is not None else 0.7, spec.max_temperature)
    for text in texts:
        u = Turn(speaker=Speaker.USER, avatar_role=AvatarRole.LISTENING, text=text, emotion=feeling(text),
                 parent=path[-1].id)
        path.append(u)
        cues = path_cues(path)  # the app's traversal (emotion_cues) on a tree without siblings
        row = timed_reply(client, spec.max_tokens, style, persona, path, cues, temperature=temperature,
                          repeat_penalty=spec.repeat_penalty, prime=prime if draft else None)
        row["message"] = text
        rows.append(row)
        path.append(Turn(speaker=Speaker.AVATAR, avatar_role=AvatarRole.SPEAKING, text=row["reply"],
                         emotion=EmotionState.of(row["emotion"], row["intensity"]), parent=u.id))
        # As the app does once a reply is in (LiveSession.prefill_with): the conversation so far,
        # its last reply as the next prompt renders it, is evaluated while the reply plays.
        prime(persona, path, path_cues(path))
    return rows


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--nice", type=int, default=0, help="the model process's nice (the app uses 5)")
    ap.add_argument("--turns", type=int, default=len(TURNS))
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    import openai

    spec = model_spec(args.model)
    persona = PersonaBrief(name="Ada", description="A warm, curious companion who loves hearing about your day.",
                           system_prompt="You are Ada, a warm and curious companion. You listen closely, ask one "
                                         "gentle question at a time, and celebrate small wins.\nSpeak naturally "
                                         "and briefly, as in a spoken conversation.", temperature=0.7)
    feeling = FeelingReader()  # the app's reading of the person's messages, loaded before the clock
    if not feeling.load():
        raise SystemExit("the text-emotion classifier did not load (see the log)")
    load_before = os.getloadavg()
    proc = ModelProcess(model_path(spec.name), threads=args.threads, nice=args.nice, start_timeout_s=600)
    try:
        started, _ = proc.ensure_running()
        client = openai.OpenAI(base_url=started.base_url, api_key="not-needed", timeout=600, max_retries=0)
        t0 = time.perf_counter()
        from dialogue.llm.openai_backend import OpenAIChatLLM
        from dialogue.settings import LLMSettings

        prime = OpenAIChatLLM(LLMSettings(backend="openai", base_url=started.base_url, model=spec.name),
                              style=style_for(spec), extra_body={"cache_prompt": True}).prime
        prime(persona, [Turn(speaker=Speaker.USER, avatar_role=AvatarRole.LISTENING, text="Hello!")], EmotionCues())
        prime_s = time.perf_counter() - t0
        rows = run_conversation(client, spec.name, persona, TURNS[: args.turns], prime, feeling=feeling)
        draft_rows = run_conversation(client, spec.name, persona, TURNS[: args.turns], prime, draft=True,
                                      feeling=feeling)
        rss = _rss_mib(started.pid)
    finally:
        proc.stop()

    def med(key: str, of: list[dict] = rows) -> float | None:
        vals = [r[key] for r in of if r[key] is not None]
        return statistics.median(vals) if vals else None

    result = {
        "model": spec.title,
        "runtime": "xllamacpp (llama.cpp) in its own process, OpenAI API on 127.0.0.1",
        "threads": args.threads,
        "nice": args.nice,
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "python": platform.python_version(),
        "process_start_s": started.load_s,
        "prime_prompt_s": prime_s,
        "model_rss_mib": rss,
        "median_first_token_s": med("first_token_s"),
        "median_first_sentence_s": med("first_sentence_s"),
        "median_stream_s": med("stream_s"),
        "median_decode_tok_s": med("decode_tok_s"),
        "median_prompt_tokens_evaluated": med("prompt_tokens"),
        "median_prompt_tokens_cached": med("cached_tokens"),
        "runs": rows,
        "draft": {
            "what": "the same conversation with each message's prompt evaluated before send, as the app's "
                    "typed-draft prefill does after a 300 ms pause in typing",
            "median_draft_prefill_s": med("draft_prefill_s", draft_rows),
            "median_first_token_s": med("first_token_s", draft_rows),
            "median_first_sentence_s": med("first_sentence_s", draft_rows),
            "median_prompt_tokens_evaluated": med("prompt_tokens", draft_rows),
            "runs": draft_rows,
        },
    }
    print(f"{spec.title}, {args.threads} threads, nice {args.nice}; {result['cpu']} x{os.cpu_count()}; "
          f"load average {load_before[0]:.1f} -> {result['loadavg_after'][0]:.1f}")
    print(f"process start (model load) {started.load_s:6.2f} s; persona prompt primed in {prime_s:6.2f} s; "
          f"model process RSS {rss} MiB")
    for title, these in (("cold: the message reaches the model at send", rows),
                         ("draft: its prompt evaluated while the person types", draft_rows)):
        print(title)
        print(f"{'message':<46} {'1st tok':>7} {'1st sent':>8} {'stream':>7} {'eval':>5} {'cached':>6} {'tok/s':>6}")
        for r in these:
            print(f"{r['message'][:46]:<46} {r['first_token_s']:7.2f} {r['first_sentence_s']:8.2f} {r['stream_s']:7.2f} "
                  f"{r['prompt_tokens'] or 0:5d} {r['cached_tokens'] or 0:6d} {r['decode_tok_s'] or 0:6.1f}")
        print(f"{'median':<46} {med('first_token_s', these):7.2f} {med('first_sentence_s', these):8.2f} "
              f"{med('stream_s', these):7.2f}")
    out = args.out or RESULTS / ("llm_latency.json" if spec.name == DEFAULT_MODEL else f"llm_latency_{spec.name}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return result


def _rss_mib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    except OSError:
        return None
    return None


if __name__ == "__main__":
    main()
