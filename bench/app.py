"""The app's own figures on this machine: send -> first playable avatar segment (LLM time shown
apart), export of a 5-minute conversation, and resident memory of the running stages.

Run: python -m bench.app [--turns 5] [--export-minutes 5]
Uses the embedded defaults (Qwen2.5-Coder-1.5B, piper, the shipped motion generator, the warp renderer)
in a temporary data dir. Writes bench/results/app.json and prints a table.

- first segment: from `send()` to the first reply sentence's MP4 on disk, minus the time the LLM
  took to produce that sentence (reported apart): voice + motion + render + encode of sentence 1.
- export: a conversation whose replies were rendered during the chat (as in the app) is exported
  to MP4 + SRT + JSON + CSV; the chat itself (the set-up) is not timed. Long replies come from a
  scripted LLM so that the set-up reaches the length quickly; every stage after the LLM is real.
- memory: peak resident set (VmHWM) of this process plus the current RSS of its children (the
  piper worker) after all stages ran.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "app.json"

PROMPTS = (
    "Hi! I just got back from a wonderful trip to the mountains.",
    "I am worried about my exam tomorrow.",
    "My neighbour keeps playing loud music at night and it makes me furious.",
    "Guess what, I won a prize at work today!",
    "Can you tell me something calming before I sleep?",
    "I feel a bit lonely this evening.",
)

LONG_REPLY = ("That sounds like quite a day. I am glad you told me about it. Tell me a little more about how "
              "it felt, and what you would like to do next. I am here and I am listening.")


def _kib(field: str, pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _children_rss_kib() -> int:
    total = 0
    for task in Path("/proc/self/task").iterdir():
        children = (task / "children")
        if children.is_file():
            for pid in children.read_text().split():
                try:
                    total += _kib("VmRSS", pid)
                except OSError:
                    pass
    return total


def first_segment(settings, turns: int) -> dict:
    from app.conversation import Conversation
    from app.turn_events import ReplySaved
    from app.personas import get_persona
    from app.services import build_services

    services = build_services(settings, with_media=True)
    persona = get_persona(settings.persona, settings.personas_dir)
    conv = Conversation.start(services, persona)
    t0 = time.perf_counter()
    list(conv.send("Hello! Nice to meet you."))  # loads every stage once: not counted
    warmup = time.perf_counter() - t0
    rows = []
    for text in PROMPTS[:turns]:
        for event in conv.send(text):
            if isinstance(event, ReplySaved):
                t = event.timings
                if "first_media" in t:
                    rows.append({"llm_first_sentence_s": t["llm_first_sentence"],
                                 "first_segment_s": t["first_media"],
                                 "first_segment_without_llm_s": t["first_media"] - t["llm_first_sentence"],
                                 "reply_total_s": t["total"]})
    return {"warmup_s": warmup, "turns": rows, "services": services}


def export_long(settings, services, minutes: float) -> dict:
    from app.conversation import Conversation
    from app.export import export_path
    from app.personas import get_persona
    from tests.fakes import FakeLLM

    persona = get_persona(settings.persona, settings.personas_dir)
    scripted = dataclasses.replace(services, llm=FakeLLM([(LONG_REPLY, "happy", 0.6)]))
    conv = Conversation.start(scripted, persona, title="bench export")
    t0 = time.perf_counter()
    n = 0
    spoken = 0.0
    while spoken < minutes * 60:
        for event in conv.send(PROMPTS[n % len(PROMPTS)]):
            spoken += getattr(event, "duration_s", 0.0)
        n += 1
    setup = time.perf_counter() - t0
    out = Path(tempfile.mkdtemp(prefix="warmchat-bench-export-"))
    t1 = time.perf_counter()
    result = export_path(settings, conv.id, out, pipeline=services.avatar)
    elapsed = time.perf_counter() - t1
    return {"user_turns": n, "video_s": result.duration_s, "setup_chat_s": setup, "export_s": elapsed,
            "mp4_mb": result.mp4.stat().st_size / 1e6}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--export-minutes", type=float, default=5.0)
    args = parser.parse_args(argv)

    from app.settings import Settings

    data = Path(tempfile.mkdtemp(prefix="warmchat-bench-app-"))
    settings = Settings(data_dir=data)
    fs = first_segment(settings, args.turns)
    ex = export_long(settings, fs.pop("services"), args.export_minutes)
    mem = {"main_peak_mib": _kib("VmHWM") / 1024, "children_mib": _children_rss_kib() / 1024}
    mem["total_mib"] = mem["main_peak_mib"] + mem["children_mib"]

    seg = [r["first_segment_without_llm_s"] for r in fs["turns"]]
    llm = [r["llm_first_sentence_s"] for r in fs["turns"]]
    summary = {
        "first_segment_without_llm_median_s": statistics.median(seg),
        "first_segment_without_llm_max_s": max(seg),
        "llm_first_sentence_median_s": statistics.median(llm),
        "export_s": ex["export_s"], "export_video_s": ex["video_s"],
        "memory_total_mib": mem["total_mib"],
    }
    report = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                          "load_avg": os.getloadavg()},
              "summary": summary, "first_segment": fs, "export": ex, "memory": mem,
              "targets": {"first_segment_without_llm_s": 1.0, "export_5min_s": 60, "memory_mib": 2048}}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2))

    print(f"{'figure':48s} {'value':>10s}  target")
    print(f"{'send -> first playable segment, LLM excluded':48s} {summary['first_segment_without_llm_median_s']:9.2f}s  <= 1.0 s (median of {len(seg)})")
    print(f"{'   worst turn':48s} {summary['first_segment_without_llm_max_s']:9.2f}s")
    print(f"{'LLM first sentence (shown apart)':48s} {summary['llm_first_sentence_median_s']:9.2f}s")
    print(f"{'export of a %.1f-minute conversation' % (ex['video_s'] / 60):48s} {ex['export_s']:9.2f}s  <= 60 s")
    print(f"{'resident memory (app + piper worker)':48s} {mem['total_mib']:8.0f}MiB  <= 2048 MiB")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
