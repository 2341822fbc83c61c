"""Small builders for hand-made talking trees."""

from __future__ import annotations

from dialogue.tree import TalkingTree
from dialogue.turns import AvatarRole, Speaker, Turn
from emotion import EmotionState


def turn(tid: str, parent: str | None, who: str, label: str = "neutral", k: float = 0.0, t: float | None = None) -> Turn:
    """A turn by "user" or "avatar" with emotion `label` at intensity `k`, created at `t`."""
    speaker = Speaker.USER if who == "user" else Speaker.AVATAR
    role = AvatarRole.LISTENING if speaker is Speaker.USER else AvatarRole.SPEAKING
    return Turn(
        id=tid,
        parent=parent,
        speaker=speaker,
        avatar_role=role,
        text=f"{tid} says something",
        emotion=EmotionState.of(label, k),
        created_at=float(t if t is not None else 0.0),
    )


def chain(*specs: tuple[str, str, str, float], conversation_id: str = "c1") -> TalkingTree:
    """A linear tree from (id, who, label, intensity) specs, each the child of the one before."""
    tree = TalkingTree(conversation_id, title="hand-made")
    parent = None
    for i, (tid, who, label, k) in enumerate(specs):
        tree.add(turn(tid, parent, who, label, k, t=i))
        parent = tid
    return tree
