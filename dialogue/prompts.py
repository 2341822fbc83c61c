"""Prompt building (pure): the persona, the emotional cues and the path become chat messages.

The system message holds the persona's prompt and description, how a companion talks (spoken
sentences, a question back, never an assistant's lists or advice), the cues' summary and the
output format: a tag `[label intensity]` then the reply (see dialogue.llm.structured). The path is
rendered as alternating user/assistant messages, oldest dropped first to fit a character budget
(about 4 characters a token); the turn being answered is always kept.

For a local model whose KV cache is reused between turns (llama.cpp `cache_prompt`) the prompt is
laid out so that its prefix stays the same from turn to turn: `cues_last` moves the cues (which
change every turn) out of the system message into a short system note just before the message
being answered, and the few-shot turns (`few_shot`) sit right after the system message.
"""

from __future__ import annotations

from dataclasses import dataclass

from dialogue.llm.base import PersonaBrief
from dialogue.turns import EmotionCues, Speaker, Turn
from emotion import Emotion, EmotionState
from emotion.labels import TABLE
from emotion.response import EMPATHY

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": ...}

# The label list of the prompt, from the label table (emotion.labels: each row's `prompt` says
# what the label means, its `answer` how to meet a person who feels it). The companion prompt
# names the labels only: with the meanings ("sad: sorry, low, sympathetic") Qwen 1.5B tagged
# nearly every reply sad, a caring reply being "sympathetic".
LABELS = ", ".join(s.name for s in TABLE)

FORMAT_INSTRUCTION = (
    "Answer in at most {n} short spoken sentences: no lists, no markdown, no emoji. "
    "Start with your feeling as a tag on its own line, [emotion intensity], where emotion is one of "
    f"{LABELS} and intensity is from 0 to 1. Example:\n[happy 0.6]\nThat is wonderful news!"
)
# How a companion talks (not an assistant). Written for small instruct models, which follow short
# concrete rules better than a description of a character.
COMPANION_RULES = (
    "You are talking out loud with a person, face to face, as a friend, not as an assistant.\n"
    "- Answer exactly what they just said, in one or two short spoken sentences (under 30 words).\n"
    "- Often end with a short, warm question back about what they said.\n"
    "- Never give lists, steps, advice columns, code or markdown; never say you are an AI, a model "
    "or an assistant. If asked for code or a long explanation, say in a sentence that you would "
    "rather chat, and ask about it.\n"
    "- Begin every reply with your feeling as a tag, [emotion intensity], where emotion is one of "
    f"{LABELS} and intensity is from 0.1 to 1. The tag is not spoken."
)
# Few-shot turns (what the person said, their feeling, the answer): the format, the length, the
# tone, and that the tag follows the note; on topics the held-out benchmark set
# (bench/data/replies.json) does not use.
FEW_SHOT: tuple[tuple[str, EmotionState, str], ...] = (
    # The neutral turn first: a small model copies the tag of the turn nearest the conversation.
    ("Can you write me a Python script to sort my photos?", EmotionState.of(Emotion.NEUTRAL, 0.2),
     "[neutral 0.4] I'd rather just chat than write code, honestly. What kind of photos are they?"),
    ("My grandmother passed away last night.", EmotionState.of(Emotion.SAD, 0.8),
     "[sad 0.7] Oh, I'm so sorry. Were you two close?"),
    ("A deer walked right into our kitchen this morning!", EmotionState.of(Emotion.SURPRISED, 0.7),
     "[surprised 0.7] No way, right into the kitchen? What did you do?"),
    ("I finally finished my first marathon today!", EmotionState.of(Emotion.HAPPY, 0.8),
     "[happy 0.8] You did it, that's huge! How do your legs feel?"),
)
# How to meet the person's current emotion, as the few words of a feeling note (the label table's
# `answer` lines are whole instructions, made for the compact prompt of tiny models).
MEET: dict[Emotion, str] = {
    Emotion.NEUTRAL: "be warm and interested",
    Emotion.HAPPY: "share their joy",
    Emotion.SAD: "comfort them gently",
    Emotion.ANGRY: "stay calm and on their side, no lecture",
    Emotion.FEARFUL: "reassure them calmly",
    Emotion.SURPRISED: "be curious with them",
    Emotion.DISGUSTED: "share their distaste lightly",
}
# For tiny models (SmolLM2-135M): long instructions drown them, and they rarely follow a format.
# One plain line on how to meet the person's current emotion helps them more than persona detail.
COMPACT_INSTRUCTION = "Reply kindly in one or two short sentences."
COMPACT_BY_EMOTION = {Emotion(s.name): s.answer for s in TABLE if s.answer}
COMPACT_TAG_INSTRUCTION = "First write your feeling like [happy 0.6]."


def format_tag(emotion: Emotion, intensity: float) -> str:
    return f"[{emotion.value} {intensity:.1f}]"


def _strength(intensity: float) -> str:
    return "strongly" if intensity >= 0.65 else "a little" if intensity < 0.35 else "clearly"


def feeling_note(feeling: EmotionState) -> str:
    """A short note on how the person feels in one message, and the feeling that fits the answer
    (the empathy table of emotion.response). Depends on that message alone, so the notes of
    earlier turns render the same every turn (a cacheable prefix)."""
    if feeling.label is Emotion.NEUTRAL or feeling.intensity < 0.15:
        # The text recognizer misses much ("I got the job I wanted!" reads neutral): the model
        # judges, and no tag is suggested (a suggested [neutral] was copied onto sad news).
        return "Their feeling is not clear from their voice: judge it from their words, and tag your own."
    answer = EMPATHY.get(feeling.label, feeling.label)
    return (f"They feel {_strength(feeling.intensity)} {feeling.label.value}: {MEET[feeling.label]}. "
            f"Your tag: [{answer.value}].")


def cue_note(cues: EmotionCues) -> str:
    """The note after the message being answered: its feeling (`feeling_note`) first, then what
    the reverse-level traversal adds (the mood so far, its trend, the avatar's recent feelings)."""
    parts = [feeling_note(cues.user_current), cues.summary()]
    recent = [e.label.value for e in cues.avatar_recent]
    if recent:
        parts.append(f"You recently felt {', '.join(recent)}.")
    return " ".join(parts)


def system_message(
    persona: PersonaBrief,
    cues: EmotionCues | None,
    *,
    compact: bool = False,
    ask_tag: bool = True,
    max_sentences: int = 3,
    companion: bool = False,
) -> str:
    """The system prompt. compact: a short one for tiny models (first sentence of the persona's
    prompt, the user's current emotion only). companion: the companion rules (COMPANION_RULES,
    which include the tag format). cues None: left out (sent as a note, see `cue_note`)."""
    if compact:
        first = persona.system_prompt.strip().split("\n")[0]
        parts = [first.split(". ")[0].rstrip(".") + "." if first else f"You are {persona.name}."]
        label = cues.user_current.label if cues is not None else Emotion.NEUTRAL
        parts.append(COMPACT_BY_EMOTION.get(label, COMPACT_INSTRUCTION))
        if ask_tag:
            parts.append(COMPACT_TAG_INSTRUCTION)
        return " ".join(parts)
    summary = cues.summary() if cues is not None else ""
    parts = [p.strip() for p in (persona.system_prompt, persona.description, summary) if p.strip()]
    if companion:
        parts.append(COMPANION_RULES)
    elif ask_tag:
        parts.append(FORMAT_INSTRUCTION.format(n=max_sentences))
    else:
        parts.append(f"Answer in at most {max_sentences} short spoken sentences: no lists, no markdown, no emoji.")
    return "\n\n".join(parts)


def few_shot_messages(notes: bool = False) -> list[Message]:
    """FEW_SHOT as user/assistant messages (with a feeling note after each user message when `notes`)."""
    out: list[Message] = []
    for said, feeling, answer in FEW_SHOT:
        out.append({"role": "user", "content": said})
        if notes:
            out.append({"role": "system", "content": feeling_note(feeling)})
        out.append({"role": "assistant", "content": answer})
    return out


def path_messages(path: list[Turn], *, budget_chars: int, with_tags: bool = True,
                  notes: bool = False) -> list[Message]:
    """The path as chat messages, most recent kept within `budget_chars` (the last turn always,
    cut from its start if it alone is too long). Avatar turns carry their emotion tag when
    `with_tags` (`[happy 0.6] text`, as the model writes it, so a cached prefix still matches),
    so the model sees the format it is asked for. Consecutive turns of one speaker
    are merged (several servers' templates require alternation); empty turns are skipped.
    notes: a system `feeling_note` after each user message but a last one (that one's note is
    the caller's: it carries the cues)."""
    msgs: list[Message] = []
    feelings: dict[int, EmotionState] = {}  # id(user message) -> the feeling of its last turn
    for turn in path:
        text = turn.text.strip()
        if not text:
            continue
        if turn.speaker is Speaker.AVATAR:
            role = "assistant"
            if with_tags:
                text = f"{format_tag(turn.emotion.label, turn.emotion.intensity)} {text}"
        else:
            role = "user"
        if msgs and msgs[-1]["role"] == role:
            msgs[-1] = {"role": role, "content": msgs[-1]["content"] + "\n" + text}
        else:
            msgs.append({"role": role, "content": text})
        if role == "user":
            feelings[id(msgs[-1])] = turn.emotion
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
    if not notes:
        return kept
    out: list[Message] = []
    for i, msg in enumerate(kept):
        out.append(msg)
        if msg["role"] == "user" and i < len(kept) - 1 and id(msg) in feelings:
            out.append({"role": "system", "content": feeling_note(feelings[id(msg)])})
    return out


def build_messages(
    persona: PersonaBrief,
    path: list[Turn],
    cues: EmotionCues,
    *,
    budget_chars: int = 6000,
    compact: bool = False,
    ask_tag: bool = True,
    max_sentences: int = 3,
    companion: bool = False,
    few_shot: bool = False,
    cues_last: bool = False,
) -> list[Message]:
    """System message + the path's messages, ready for a chat-completions API or a chat template.

    budget_chars bounds the path's text (the system message comes on top).
    compact: the short system prompt for tiny models; ask_tag: ask for the `[label x]` tag.
    companion: the companion rules; few_shot: FEW_SHOT turns after the system message;
    cues_last: the cues as a system note after the message being answered, and a short feeling
    note after every earlier user message (and few-shot turn), rendered from that turn alone: the
    prefix stays the same from turn to turn (cacheable) and the note sits where a small model
    heeds it most. For servers whose chat template accepts system messages anywhere (ChatML).
    """
    system = system_message(persona, None if cues_last else cues, compact=compact, ask_tag=ask_tag,
                            max_sentences=max_sentences, companion=companion)
    msgs = [{"role": "system", "content": system}]
    if few_shot:
        msgs += few_shot_messages(notes=cues_last)
    turns = path_messages(path, budget_chars=budget_chars, with_tags=ask_tag, notes=cues_last)
    if cues_last and turns and turns[-1]["role"] == "user":
        turns.append({"role": "system", "content": cue_note(cues)})
    return msgs + turns


@dataclass(frozen=True, slots=True)
class PromptStyle:
    """How one model is prompted (the arguments of `build_messages`) and how much it may say.

    Remote servers get the companion rules with the cues in the system message; the embedded
    models get a style from their ModelSpec (dialogue.llm.models).
    """

    compact: bool = False
    ask_tag: bool = True
    max_sentences: int = 3
    max_chars: int = 300
    budget_chars: int = 6000
    companion: bool = True
    few_shot: bool = False
    cues_last: bool = False

    def messages(self, persona: PersonaBrief, path: list[Turn], cues: EmotionCues) -> list[Message]:
        """build_messages with this style."""
        return build_messages(persona, path, cues, budget_chars=self.budget_chars, compact=self.compact,
                              ask_tag=self.ask_tag, max_sentences=self.max_sentences, companion=self.companion,
                              few_shot=self.few_shot, cues_last=self.cues_last)
