"""`warmchat demo --out DIR`: a short scripted conversation on embedded defaults, exported.

Holds five user turns of mixed emotions with the default persona, regenerates one reply (a
branch), renders the avatar speaking and listening, and writes the MP4, SRT, JSON and CSV of
the current path into DIR. No browser, no configuration, no network.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from app.conversation import Conversation
from app.turn_events import ReplyMedia, ReplySaved, TurnFailed
from app.personas import get_persona
from app.settings import Settings

log = logging.getLogger(__name__)

SCRIPT: tuple[str, ...] = (
    "Hi! I just got back from a wonderful trip to the mountains.",
    "But honestly I feel a bit sad that it is over. Work starts tomorrow.",
    "/regen",
    "My boss keeps shouting at everyone and it makes me so angry.",
    "Wait, really? Glaciers can actually sing?",
    "Thank you, talking with you made me feel much better.",
)


def run_demo(settings: Settings, out_dir: Path) -> int:
    from app.export import export_path
    from app.services import build_services, warm_up

    t_start = time.perf_counter()
    persona = get_persona(settings.persona, settings.personas_dir)
    print(f"warmchat demo: {persona.display_name} ({persona.emotion_profile} profile, avatar {persona.avatar}); "
          f"data in {settings.data_dir}")
    services = build_services(settings, with_media=True)
    print(f"loaded the language model, voice, motion model and avatar in {warm_up(services, persona):.1f} s")
    conv = Conversation.start(services, persona, title="warmchat demo")
    print(f"{persona.display_name}: {persona.greeting}")
    for line in SCRIPT:
        if line == "/regen":
            print("(regenerating the last reply: a new branch)")
            events = conv.regenerate()
        else:
            print(f"you: {line}")
            events = conv.send(line)
        for event in events:
            if isinstance(event, ReplySaved):
                e = event.turn.emotion
                first = event.timings.get("first_media")
                llm = event.timings.get("llm_first_sentence", 0.0)
                extra = f", first video after {first - llm:.2f} s of rendering" if first is not None else ""
                print(f"{persona.display_name} [{e.label.value} {e.intensity:.1f}]: {event.turn.text}"
                      f"  (LLM first sentence {llm:.2f} s{extra})")
            elif isinstance(event, TurnFailed):
                print(f"! {event.message}")
                return 1
            elif isinstance(event, ReplyMedia):
                log.info("segment %s (%.1f s)", event.path, event.duration_s)
    print(f"branches in the tree: {len(conv.tree.branches())}")
    result = export_path(settings, conv.id, out_dir, pipeline=services.avatar)  # reuse the loaded stages
    for f in (result.mp4, result.srt, result.json, result.csv):
        print(f"wrote {f}")
    print(f"{result.duration_s:.1f} s of video; demo took {time.perf_counter() - t_start:.0f} s. "
          "Start the browser app with: .venv/bin/warmchat serve")
    return 0
