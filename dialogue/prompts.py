"""Prompt building (pure): the persona, the emotional cues and the path become chat messages.

The system message holds the persona's prompt and description, the cues' summary and the output
format: a first line `[label intensity]` then the reply (see dialogue.llm.structured). The path is
rendered as alternating user/assistant messages, oldest dropped first to fit a character budget
(about 4 characters a token); the turn being answered is always kept.
"""

from __future__ import annotations

from dialogue.llm.base import PersonaBrief
from dialogue.turns import EmotionCues, Speaker, Turn
from emotion import Emotion
from emotion.labels import TABLE

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": ...}

# The label list of the prompt, from the label table (emotion.labels: each row's `prompt` says
# what the label means, its `answer` how to meet a person who feels it).
LABELS = ", ".join(s.name for s in TABLE)

FORMAT_INSTRUCTION = (
    "Answer in at most {n} short spoken sentences: no lists, no markdown, no emoji. "
    "Start with your feeling as a tag on its own line, [emotion intensity], where emotion is one of "
    f"{LABELS} and intensity is from 0 to 1. Example:\n[happy 0.6]\nThat is wonderful news!"
)
# For tiny models (SmolLM2-135M): long instructions drown them, and they rarely follow a format.
# One plain line on how to meet the person's current emotion helps them more than persona detail.
COMPACT_INSTRUCTION = "Reply kindly in one or two short sentences."
COMPACT_BY_EMOTION = {Emotion(s.name): s.answer for s in TABLE if s.answer}
COMPACT_TAG_INSTRUCTION = "First write your feeling like [happy 0.6]."


def format_tag(emotion: Emotion, intensity: float) -> str:
    return f"[{emotion.value} {intensity:.1f}]"


def system_message(
    persona: PersonaBrief, cues: EmotionCues, *, compact: bool = False, ask_tag: bool = True, max_sentences: int = 3
) -> str:
    """The system prompt. compact: a short one for tiny models (first sentence of the persona's
    prompt, the user's current emotion only)."""
    if compact:
        first = persona.system_prompt.strip().split("\n")[0]
        parts = [first.split(". ")[0].rstrip(".") + "." if first else f"You are {persona.name}."]
        parts.append(COMPACT_BY_EMOTION.get(cues.user_current.label, COMPACT_INSTRUCTION))
        if ask_tag:
            parts.append(COMPACT_TAG_INSTRUCTION)
        return " ".join(parts)
    parts = [p.strip() for p in (persona.system_prompt, persona.description, cues.summary()) if p.strip()]
    if ask_tag:
        parts.append(FORMAT_INSTRUCTION.format(n=max_sentences))
    else:
        parts.append(f"Answer in at most {max_sentences} short spoken sentences: no lists, no markdown, no emoji.")
    return "\n\n".join(parts)


def path_messages(path: list[Turn], *, budget_chars: int, with_tags: bool = True) -> list[Message]:
    """The path as chat messages, most recent kept within `budget_chars` (the last turn always,
    cut from its start if it alone is too long). Avatar turns carry their emotion tag when
    `with_tags`, so the model sees the format it is asked for. Consecutive turns of one speaker
    are merged (several servers' templates require alternation); empty turns are skipped."""
    msgs: list[Message] = []
    for turn in path:
        text = turn.text.strip()
        if not text:
            continue
        if turn.speaker is Speaker.AVATAR:
            role = "assistant"
            if with_tags:
                text = f"{format_tag(turn.emotion.label, turn.emotion.intensity)}\n{text}"
        else:
            role = "user"
        if msgs and msgs[-1]["role"] == role:
            msgs[-1] = {"role": role, "content": msgs[-1]["content"] + "\n" + text}
        else:
            msgs.append({"role": role, "content": text})
    kept: list[Message] = []
    used = 0
    for msg in reversed(msgs):
        size = len(msg["content"])
        if not kept and size > budget_chars:
            kept.append({"role": msg["role"], "content": msg["content"][-budget_chars:]})
            break
        if used + size > budget_chars:
            break
        kept.append(msg)
        used += size
    kept.reverse()
    return kept


def build_messages(
    persona: PersonaBrief,
    path: list[Turn],
    cues: EmotionCues,
    *,
    budget_chars: int = 6000,
    compact: bool = False,
    ask_tag: bool = True,
    max_sentences: int = 3,
) -> list[Message]:
    """System message + the path's messages, ready for a chat-completions API or a chat template.

    budget_chars bounds the path's text (the system message comes on top).
    compact: the short system prompt for tiny models; ask_tag: ask for the `[label x]` line.
    """
    system = system_message(persona, cues, compact=compact, ask_tag=ask_tag, max_sentences=max_sentences)
    return [{"role": "system", "content": system}] + path_messages(
        path, budget_chars=budget_chars, with_tags=ask_tag
    )
