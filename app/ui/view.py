"""What the UI shows of a conversation, as plain data (no gradio here: unit-testable).

Chat history in the Chatbot "messages" format, the emotion badge, and the choice lists of the
branch switcher, the edit picker and the tree's node picker.
"""

from __future__ import annotations

import html

from dialogue.turns import Speaker, Turn
from emotion import Emotion, EmotionState
from emotion.labels import TABLE

# One colour per emotion label (from the label table), used by the badge, the tree drawing and the timeline.
EMOTION_COLOURS: dict[Emotion, str] = {Emotion(s.name): s.colour for s in TABLE}


def snippet(text: str, limit: int = 48) -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def chat_messages(path: list[Turn], avatar_name: str) -> list[dict[str, str]]:
    """The path as Chatbot messages; an avatar turn's bubble ends with its feeling (`feeling_footer`)."""
    messages = []
    for turn in path:
        if turn.speaker is Speaker.USER:
            messages.append({"role": "user", "content": turn.text})
        else:
            messages.append({"role": "assistant", "content": f"{turn.text}\n\n{feeling_footer(turn)}"})
    return messages


def writing_bubble(avatar_name: str) -> dict[str, str]:
    """A Chatbot message that stands in for the avatar's reply while it is written (until its first
    sentence): three pulsing dots, so the history shows that an answer is on its way."""
    return {"role": "assistant",
            "content": f'<span class="wc-writing" title="{html.escape(avatar_name)} is writing">•••</span>'}


def emotion_word(label: Emotion) -> str:
    """HTML of an emotion's name as a small word in its label colour."""
    return f'<span class="wc-emotion" style="color:{EMOTION_COLOURS[label]}">{label.value}</span>'


def feeling_footer(turn: Turn) -> str:
    """HTML of an avatar turn's feeling for its bubble's footer: the labels its sentences were said
    with, in order, each once ("sad", or "sad → disgusted" where the arc moves; Turn.arc)."""
    labels: list[Emotion] = []
    for said in turn.arc or ():
        if not labels or labels[-1] is not said.emotion.label:
            labels.append(said.emotion.label)
    words = " → ".join(emotion_word(label) for label in labels or [turn.emotion.label])
    return f'<span class="wc-feeling">{words}</span>'


def emotion_badge(state: EmotionState | None, who: str = "") -> str:
    """HTML of a coloured pill naming the emotion and its intensity (empty state: a grey dash)."""
    if state is None:
        return '<span class="wc-badge" style="background:#ccc">—</span>'
    colour = EMOTION_COLOURS[state.label]
    prefix = f"{html.escape(who)}: " if who else ""
    return (f'<span class="wc-badge" style="background:{colour}">{prefix}{state.label.value} '
            f"{state.intensity:.1f}</span>")


def conversation_label(title: str, persona: str, updated_at: float, now: float | None = None) -> str:
    """A saved conversation in the picker: its title (its first message), persona and when it
    was last used ("today 14:05", "yesterday 09:30", "3 Dec 2026 18:00")."""
    import time

    now = time.time() if now is None else now
    day = time.strftime("%Y-%m-%d", time.localtime(updated_at))
    clock = time.strftime("%H:%M", time.localtime(updated_at))
    if day == time.strftime("%Y-%m-%d", time.localtime(now)):
        when = f"today {clock}"
    elif day == time.strftime("%Y-%m-%d", time.localtime(now - 86400)):
        when = f"yesterday {clock}"
    else:
        when = time.strftime("%-d %b %Y %H:%M", time.localtime(updated_at))
    return f"{snippet(title, 60)} · {persona} · {when}"


def branch_choices(branches: list[list[Turn]]) -> list[tuple[str, str]]:
    """(label, leaf id) per root-to-leaf branch: "branch N (k turns): …last text"."""
    return [(f"branch {i} ({len(b)} turns): {snippet(b[-1].text, 40)}", b[-1].id)
            for i, b in enumerate(branches, 1)]


def user_turn_choices(path: list[Turn]) -> list[tuple[str, str]]:
    """(label, id) of the user's own messages on the path, numbered from 1."""
    users = [t for t in path if t.speaker is Speaker.USER]
    return [(f"{i}. {snippet(t.text)}", t.id) for i, t in enumerate(users, 1)]


def node_choices(turns: list[Turn], depth_of: dict[str, int]) -> list[tuple[str, str]]:
    """(label, id) of every node, indented by depth: "[3] you: text…"."""
    out = []
    for t in turns:
        who = "you" if t.speaker is Speaker.USER else "avatar"
        out.append((f"{'  ' * depth_of[t.id]}[{depth_of[t.id]}] {who}: {snippet(t.text, 40)} ({t.id[:6]})", t.id))
    return out
