"""Prompt building (pure): the persona, the emotional cues and the path become chat messages.

The system message holds the persona's prompt and description, how a companion talks (spoken
sentences, a question back, never an assistant's lists or advice), the cues' summary and the
output format: a tag `[label intensity]` then the reply (see dialogue.llm.structured). The path is
rendered as alternating user/assistant messages, oldest dropped first to fit a character budget
(about 4 characters a token); the turn being answered is always kept.

For a local model whose KV cache is reused between turns (llama.cpp `cache_prompt`) the prompt is
laid out so that its prefix stays the same from turn to turn: `cues_last` moves the cues (which
change every turn) out of the system message into short system notes beside the messages, and the
few-shot turns (`few_shot`) are examples in the system message. Every earlier user message keeps
the very note it was answered with (rendered again from the path alone, `dialogue.cues.path_cues`),
and the oldest messages are dropped at fixed points, so the cached prefix holds from turn to turn:
only the new message, its note and the model's answer are evaluated. With `person_tag` the note
comes BEFORE each message (`mood_before`: the traversal of the path before it), so nothing but the
reply's start follows the message being answered: the prompt evaluated while the person typed or
spoke (app.live) is, up to their last words, the prompt of the reply.

`person_tag`: the tag names how the PERSON feels ("[angry]"), a plain reading a small model gets
right far more often than its own fitting feeling; the avatar's feeling is then the profile's
empathic answer to it (emotion.response.EMPATHY: anger and fear are met with concern), decided
by dialogue.llm.structured before the first sentence is released. When the text recognizer heard
the feeling clearly the prompt already ends with that tag as the reply's start (llama.cpp continues
it): no note to evaluate, no tag to write, the first sentence about 0.4 s sooner on 2 cores.
"""

from __future__ import annotations

from dataclasses import dataclass

from dialogue.cues import path_cues
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
# The companion rules with the person's feeling as the tag (`person_tag`, the embedded models).
PERSON_TAG_RULES = COMPANION_RULES.rsplit("\n- Begin", 1)[0] + (
    "\n- What they tell you happened to them, not to you: you are the friend listening. Do not repeat "
    "their words back or answer a question with the same question.\n"
    "- Be on their side. Do not tell them what they should do or feel: show you understand, then ask.\n"
    "- Begin every reply with the feeling you hear in them, as a tag: [emotion], where emotion is one of "
    f"{LABELS}. The tag is not spoken."
)
# Person-tag few-shot turns (what the person said, the answer): one or two per label and two questions
# to the avatar, on topics the held-out benchmark set (bench/data/replies.json) does not use.
PERSON_FEW_SHOT: tuple[tuple[str, str], ...] = (
    ("Can you write me a Python script to sort my photos?",
     "[neutral] I'd rather just chat than write code, honestly. What kind of photos are they?"),
    ("My grandmother passed away last night.", "[sad] Oh, I'm so sorry. Were you two close?"),
    ("What's your favourite food?", "[neutral] Oh, a good curry, every time. What about you?"),
    ("The bus driver saw me running and drove off anyway!",
     "[angry] Ugh, how rude of him! Did you have to wait long for the next one?"),
    ("I finally finished my first marathon today!", "[happy] You did it, that's huge! How do your legs feel?"),
    ("The dentist says I need a root canal and I'm dreading it.",
     "[fearful] Oh, that does sound scary. When do you have to go in?"),
    ("Is it true that koalas sleep most of the day?",
     "[neutral] It is, up to twenty hours! Have you ever seen one?"),
    ("The bin outside my flat is crawling with maggots.",
     "[disgusted] Eww, maggots, that's revolting! Has anyone come to empty it?"),
    ("A deer walked right into our kitchen this morning!",
     "[surprised] A deer, inside the house? How did you get it out?"),
    ("My sister read my diary and laughed about it with her friends!",
     "[angry] What? That's a real betrayal! What did she say when you found out?"),
    ("The old oak in our street turned out to be three hundred years old!",
     "[surprised] Three hundred years? Wow, I had no idea! Who found that out?"),
)
# Few-shot turns for the self-tag style (what the person said, the answer): the format, the
# length and the tone; on topics the held-out benchmark set does not use.
FEW_SHOT: tuple[tuple[str, str], ...] = (
    ("Can you write me a Python script to sort my photos?",
     "[neutral 0.4] I'd rather just chat than write code, honestly. What kind of photos are they?"),
    ("My grandmother passed away last night.", "[sad 0.7] Oh, I'm so sorry. Were you two close?"),
    ("A deer walked right into our kitchen this morning!",
     "[surprised 0.7] No way, right into the kitchen? What did you do?"),
    ("I finally finished my first marathon today!", "[happy 0.8] You did it, that's huge! How do your legs feel?"),
)
# How to meet the person's current emotion, as the few words of a feeling note (the label table's
# `answer` lines are whole instructions, made for the compact prompt of tiny models).
MEET: dict[Emotion, str] = {Emotion(s.name): s.meet for s in TABLE}
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


HEARD_MIN = 0.35  # the text recognizer's intensity from which its reading of the person is trusted


def heard_clearly(feeling: EmotionState) -> Emotion | None:
    """The person's feeling when it was read clearly (not neutral, intensity >= HEARD_MIN), else
    None. A confident reading of the app's classifier always clears HEARD_MIN (emotion.learned),
    and so does a strong lexicon hit: either is seldom wrong when it is that clear."""
    if feeling.label is Emotion.NEUTRAL or feeling.intensity < HEARD_MIN:
        return None
    return feeling.label


def mood_before(cues: EmotionCues) -> str:
    """The note before a message (`person_tag`): what the reverse-level traversal of the path
    before it tells, in few words: the mood so far when it is not neutral, and the person's trend;
    "" when there is nothing to tell. It depends on the path before the message alone, so the
    prompt up to the message's end is evaluated while the person still types or speaks, and
    sending it evaluates only the message's last words and the reply's start (every token after
    the cached prefix costs about 25 ms on 2 cores)."""
    parts = []
    if cues.dominant.label is not Emotion.NEUTRAL:
        parts.append(f"Mood so far: mostly {cues.dominant.label.value}.")
    dv = cues.user_trend[0]
    if abs(dv) > 0.1:
        parts.append("They are warming up." if dv > 0 else "They are getting more upset.")
    return " ".join(parts)


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
    person_tag: bool = False,
) -> str:
    """The system prompt. compact: a short one for tiny models (first sentence of the persona's
    prompt, the user's current emotion only). companion: the companion rules (COMPANION_RULES,
    which include the tag format; PERSON_TAG_RULES with `person_tag`). cues None: left out (sent
    as a note, see `cue_note`)."""
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
        parts.append(PERSON_TAG_RULES if person_tag else COMPANION_RULES)
    elif ask_tag:
        parts.append(FORMAT_INSTRUCTION.format(n=max_sentences))
    else:
        parts.append(f"Answer in at most {max_sentences} short spoken sentences: no lists, no markdown, no emoji.")
    return "\n\n".join(parts)


def examples(person_tag: bool = False) -> str:
    """The few-shot turns (PERSON_FEW_SHOT with `person_tag`, else FEW_SHOT) as a block of the
    system message. Not as chat turns: a small model takes those for this conversation's past
    ("What kind of music do you like?" got "I'm so sorry about your grandmother")."""
    lines = ["Examples of how you answer (they are not part of this conversation):"]
    for said, answer in PERSON_FEW_SHOT if person_tag else FEW_SHOT:
        lines += [f"Person: {said}", f"You: {answer}"]
    return "\n".join(lines)


def example_answers(person_tag: bool = False) -> list[str]:
    """The examples' answers without their tags (a reply must not copy them)."""
    return [answer.split("] ", 1)[-1] for _, answer in (PERSON_FEW_SHOT if person_tag else FEW_SHOT)]


def avatar_tag(turn: Turn, answered: Turn | None, *, person_tag: bool) -> str:
    """An avatar turn's tag as the model would have written it: `[label intensity]` of its own
    feeling; with `person_tag`, the person's feeling: the user turn it answered when the avatar's
    feeling is the empathic answer to that, else the avatar's own label (EMPATHY maps every label
    but anger and fear to itself)."""
    if not person_tag:
        return format_tag(turn.emotion.label, turn.emotion.intensity)
    if answered is not None and EMPATHY.get(answered.emotion.label) is turn.emotion.label:
        return f"[{answered.emotion.label.value}]"
    return f"[{turn.emotion.label.value}]"


DROP_STEP = 0.5  # the history is cut at fixed points, this share of the budget apart


def _kept_from(sizes: list[int], budget_chars: int) -> int:
    """Index of the first message kept. The cut points are fixed by the oldest messages alone:
    message 0, then the first message at which the running size passes each multiple of
    DROP_STEP x budget. The first cut point whose rest fits the budget is taken, so as the
    conversation grows the start stays put for about DROP_STEP x budget of new text, and the
    prompt's prefix (with it the model's KV cache) holds for many turns. The last message is
    always kept."""
    step = max(1.0, budget_chars * DROP_STEP)
    total = sum(sizes)
    before, mark = 0, step
    for i, size in enumerate(sizes):
        if i == 0 or before >= mark:
            while before >= mark:
                mark += step
            if total - before <= budget_chars:
                return i
        before += size
    return len(sizes) - 1


def path_messages(path: list[Turn], *, budget_chars: int, with_tags: bool = True,
                  notes: bool = False, person_tag: bool = False) -> list[Message]:
    """The path as chat messages within `budget_chars` (see `_kept_from`; the last message always,
    cut from its start if it alone is too long). Avatar turns carry their tag when `with_tags`
    (`avatar_tag`: as the model writes it, so a cached prefix still matches). Consecutive turns of
    one speaker are merged (several servers' templates require alternation); empty turns are
    skipped. notes: a system note with each user message, the one it was answered with: with
    `person_tag` before every user message, `mood_before` of the path before it (`path_cues`);
    without, `cue_note` after every user message but a last one (that one's note is the caller's:
    it carries the cues)."""
    msgs: list[Message] = []
    spans: list[list[int]] = []  # per message: indices in `path` of its first and last turn
    last_user: Turn | None = None
    for i, turn in enumerate(path):
        text = turn.text.strip()
        if not text:
            continue
        if turn.speaker is Speaker.AVATAR:
            role = "assistant"
            if with_tags:
                text = f"{avatar_tag(turn, last_user, person_tag=person_tag)} {text}"
        else:
            role = "user"
            last_user = turn
        if msgs and msgs[-1]["role"] == role:
            msgs[-1] = {"role": role, "content": msgs[-1]["content"] + "\n" + text}
            spans[-1][1] = i
        else:
            msgs.append({"role": role, "content": text})
            spans.append([i, i])
    if not msgs:
        return []
    start = _kept_from([len(m["content"]) for m in msgs], budget_chars)
    kept = msgs[start:]
    if len(kept) == 1 and len(kept[0]["content"]) > budget_chars:
        kept = [{"role": kept[0]["role"], "content": kept[0]["content"][-budget_chars:]}]
    if not notes:
        return kept
    out: list[Message] = []
    for j, msg in enumerate(kept):
        first, last = spans[start + j]
        user = msg["role"] == "user"
        before = note_before(path[:first]) if user and person_tag else ""
        after = cue_note(path_cues(path[: last + 1])) if user and not person_tag and j < len(kept) - 1 else ""
        if before:
            out.append({"role": "system", "content": before})
        out.append(msg)
        if after:
            out.append({"role": "system", "content": after})
    return out


def note_before(path: list[Turn]) -> str:
    """The note before a user message that follows `path` (`person_tag`): `mood_before` of its
    cues, "" while no user turn is on it (a greeting's feeling is not the conversation's mood)."""
    if not any(t.speaker is Speaker.USER for t in path):
        return ""
    return mood_before(path_cues(path))


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
    person_tag: bool = False,
) -> list[Message]:
    """System message + the path's messages, ready for a chat-completions API or a chat template.

    budget_chars bounds the path's text (the system message comes on top).
    compact: the short system prompt for tiny models; ask_tag: ask for the `[label x]` tag.
    companion: the companion rules; few_shot: the few-shot turns at the end of the system message
    (`examples`); cues_last: the cues as system notes beside the messages (`path_messages`):
    without `person_tag` the current cues after the message being answered (`cue_note`), where a
    small model heeds them most; with it the traversal of the path before each user message,
    before it (`mood_before`). Either way every earlier message keeps the note it was answered
    with and the prefix stays the same from turn to turn (cacheable). For servers whose chat
    template accepts system messages anywhere (ChatML).
    person_tag: the tag names the person's feeling (see the module doc); when the text recognizer
    heard it clearly (`heard_clearly`) the prompt ends with the reply's start, that tag, for the
    server to continue (llama.cpp does; an OpenAI server may not: for the embedded models).
    """
    system = system_message(persona, None if cues_last else cues, compact=compact, ask_tag=ask_tag,
                            max_sentences=max_sentences, companion=companion, person_tag=person_tag)
    if few_shot:
        system += "\n\n" + examples(person_tag)
    msgs = [{"role": "system", "content": system}]
    turns = path_messages(path, budget_chars=budget_chars, with_tags=ask_tag, notes=cues_last, person_tag=person_tag)
    answering = bool(turns) and turns[-1]["role"] == "user"
    if cues_last and person_tag and not answering and path:
        # a prompt evaluated ahead of the person's next message (app.conversation.prefill_reply
        # after a reply) ends with the note that message will follow: it is in the cache too
        note = note_before(path)
    else:
        note = cue_note(cues) if cues_last and answering and not person_tag else ""
    if note:
        turns.append({"role": "system", "content": note})
    heard = heard_clearly(cues.user_current) if person_tag and answering else None
    if heard is not None:
        # The reply starts with the tag already written (llama.cpp continues a last assistant
        # message): the model need not judge, and neither evaluate a note nor write the tag.
        turns.append({"role": "assistant", "content": f"[{heard.value}]"})
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
    person_tag: bool = False

    def example_answers(self) -> list[str]:
        """The few-shot answers this style shows the model (none without few_shot)."""
        return example_answers(self.person_tag) if self.few_shot else []

    def messages(self, persona: PersonaBrief, path: list[Turn], cues: EmotionCues) -> list[Message]:
        """build_messages with this style."""
        return build_messages(persona, path, cues, budget_chars=self.budget_chars, compact=self.compact,
                              ask_tag=self.ask_tag, max_sentences=self.max_sentences, companion=self.companion,
                              few_shot=self.few_shot, cues_last=self.cues_last, person_tag=self.person_tag)
