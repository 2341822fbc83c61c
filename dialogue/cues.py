"""Reverse-level traversal: the emotional history of a conversation, read from its talking tree.

Starting at the current turn, the traversal climbs towards the root one level at a time. Level 0 is
the current turn, level 1 its parent, and so on; each level holds the turn on the path and that
turn's siblings (the replies the person regenerated away, the versions of their own message they
edited). At most `max_levels` levels are read; everything below is computed from those levels only.

Weighting. A turn on the path at level l weighs ``decay ** l``; a sibling at level l weighs
``sibling_weight * decay ** l`` (defaults decay=0.6, sibling_weight=0.5, so the parent's
alternatives count half as much as the parent: 1, 0.6, 0.36, 0.216, ... on the path and
0.5, 0.3, 0.18, ... beside it). Why: emotions fade, so what was just said matters most, and an
exponential decay per turn is the simplest fading with one interpretable knob (after
log(0.5)/log(decay) ~ 1.4 turns a turn counts half). Siblings are not on the branch being
continued, yet the person saw them and reacted to them (a reply they regenerated because it felt
cold still tells how the exchange went), so they count, but less than the path: a regenerated
angry reply moves the mood less than an angry reply the person kept.

What is computed (see `EmotionCues`):
- dominant: `weighted_mean` of every visited turn's emotion with the weights above;
- user_current: the emotion of the user turn nearest the current turn on the path (neutral if none);
- user_trend / avatar_trend: (valence, arousal) slope per turn of that speaker, by weighted least
  squares over that speaker's turns on the path (x = 0, 1, 2, ... oldest first; weights as above,
  so recent turns pull harder); 0 with fewer than two such turns;
- salient: the three visited turns of largest weight x intensity (intensity 0 never counts), plus
  every visited turn whose valence differs from its parent's by more than 0.5 (a sharp change),
  ordered by weight x intensity, largest first;
- avatar_recent: the avatar's emotions on the path, most recent first, at most three.
"""

from __future__ import annotations

from collections.abc import Callable

from dialogue.tree import TalkingTree
from dialogue.turns import EmotionCues, SalientMoment, Speaker, Turn
from emotion import EmotionState, weighted_mean

SHARP_CHANGE = 0.5  # |valence - parent's valence| above which a turn is a salient change
TOP_SALIENT = 3
RECENT_AVATAR = 3


def reverse_levels(tree: TalkingTree, node_id: str, max_levels: int = 8) -> list[list[Turn]]:
    """The levels read by the traversal: level l is [path turn at distance l, *its siblings].

    Levels run from the current turn (index 0) up to the root or `max_levels` levels, whichever
    comes first; siblings are ordered oldest first.

    Raises:
        TreeError: `node_id` is not in the tree.
        ValueError: `max_levels` < 1.
    """
    if max_levels < 1:
        raise ValueError(f"max_levels must be >= 1, got {max_levels}")
    path = tree.path_to(node_id)
    return [[turn, *tree.siblings(turn.id)] for turn in path[::-1][:max_levels]]


def emotion_cues(
    tree: TalkingTree,
    node_id: str,
    *,
    decay: float = 0.6,
    sibling_weight: float = 0.5,
    max_levels: int = 8,
) -> EmotionCues:
    """Gather the emotional cues seen from `node_id` (usually the user turn being answered).

    Pure: reads the tree, returns a new `EmotionCues`. Weighting and outputs: see module docstring.

    Raises:
        TreeError: `node_id` is not in the tree.
        ValueError: `decay` not in (0, 1], `sibling_weight` not in [0, 1], `max_levels` < 1.
    """
    _check_weights(decay, sibling_weight)
    return _cues_from_levels(reverse_levels(tree, node_id, max_levels), tree.get, decay, sibling_weight)


def _check_weights(decay: float, sibling_weight: float) -> None:
    if not 0.0 < decay <= 1.0:
        raise ValueError(f"decay must be in (0, 1], got {decay}")
    if not 0.0 <= sibling_weight <= 1.0:
        raise ValueError(f"sibling_weight must be in [0, 1], got {sibling_weight}")


def emotion_cues_if_added(tree: TalkingTree, turn: Turn, *, decay: float = 0.6, sibling_weight: float = 0.5,
                          max_levels: int = 8) -> EmotionCues:
    """The cues `emotion_cues` would give for `turn` once added to the tree as the newest child of
    `turn.parent`, without adding it (a reply's prompt built ahead, while the person still speaks).

    Raises:
        TreeError: `turn.parent` is not in the tree.
        ValueError: as `emotion_cues`.
    """
    _check_weights(decay, sibling_weight)
    if max_levels < 1:
        raise ValueError(f"max_levels must be >= 1, got {max_levels}")
    if turn.parent is None:
        levels = [[turn]]
    else:
        levels = [[turn, *tree.children(turn.parent)]] + (
            reverse_levels(tree, turn.parent, max_levels - 1) if max_levels > 1 else [])

    def get(turn_id: str) -> Turn | None:
        return turn if turn_id == turn.id else (tree.get(turn_id) if turn_id in tree else None)

    return _cues_from_levels(levels, get, decay, sibling_weight)


def path_cues(path: list[Turn], *, decay: float = 0.6, max_levels: int = 8) -> EmotionCues:
    """The cues seen from the last turn of a linear `path` (oldest first) with no siblings: what
    `emotion_cues` gives for that turn of a tree in which nothing was regenerated or edited.

    The prompt renders an earlier turn's note from it (dialogue.prompts), so the note is the same
    every time that turn is shown again (a cacheable prefix) unless a sibling is added later.

    Raises:
        ValueError: `path` is empty, `decay` not in (0, 1], `max_levels` < 1.
    """
    if not path:
        raise ValueError("path_cues needs at least one turn")
    if not 0.0 < decay <= 1.0:
        raise ValueError(f"decay must be in (0, 1], got {decay}")
    if max_levels < 1:
        raise ValueError(f"max_levels must be >= 1, got {max_levels}")
    by_id = {t.id: t for t in path}
    return _cues_from_levels([[t] for t in path[::-1][:max_levels]], by_id.get, decay, 0.0)


def _cues_from_levels(levels: list[list[Turn]], turn_by_id: Callable[[str], Turn | None], decay: float,
                      sibling_weight: float) -> EmotionCues:
    """The cues of the traversal's levels (level 0 first; each [path turn, *siblings])."""
    visited: list[tuple[Turn, float]] = []  # (turn, weight), current level first
    for level, (on_path, *alternatives) in enumerate(levels):
        w = decay**level
        visited.append((on_path, w))
        visited.extend((s, sibling_weight * w) for s in alternatives)
    # the path, oldest first, with each turn's weight
    path = [(lvl[0], decay**i) for i, lvl in enumerate(levels)][::-1]

    avatar_now = [t.emotion for t, _ in reversed(path) if t.speaker is Speaker.AVATAR]
    user_now = next((t.emotion for t, _ in reversed(path) if t.speaker is Speaker.USER), EmotionState())
    return EmotionCues(
        dominant=weighted_mean([(t.emotion, w) for t, w in visited]),
        user_current=user_now,
        user_trend=_trend([(t, w) for t, w in path if t.speaker is Speaker.USER]),
        avatar_trend=_trend([(t, w) for t, w in path if t.speaker is Speaker.AVATAR]),
        salient=_salient(turn_by_id, visited),
        avatar_recent=tuple(avatar_now[:RECENT_AVATAR]),
    )


def _trend(turns: list[tuple[Turn, float]]) -> tuple[float, float]:
    """Weighted least-squares slope of (valence, arousal) against turn index (0 = oldest)."""
    if len(turns) < 2:
        return (0.0, 0.0)
    ws = [w for _, w in turns]
    xs = [float(i) for i in range(len(turns))]
    total = sum(ws)
    x_mean = sum(w * x for w, x in zip(ws, xs)) / total
    sxx = sum(w * (x - x_mean) ** 2 for w, x in zip(ws, xs))

    def slope(ys: list[float]) -> float:
        y_mean = sum(w * y for w, y in zip(ws, ys)) / total
        return sum(w * (x - x_mean) * (y - y_mean) for w, x, y in zip(ws, xs, ys)) / sxx

    return (slope([t.emotion.valence for t, _ in turns]), slope([t.emotion.arousal for t, _ in turns]))


def _salient(turn_by_id: Callable[[str], Turn | None], visited: list[tuple[Turn, float]]) -> tuple[SalientMoment, ...]:
    """Top turns by weight x intensity, plus sharp valence changes against the parent
    (`turn_by_id`: a turn by id, None when it is not known)."""
    scored = [(t, w * t.emotion.intensity, i) for i, (t, w) in enumerate(visited)]
    # ties go to the more recent turn (lower visiting index)
    by_score = sorted(scored, key=lambda s: (-s[1], s[2]))
    chosen = {t.id for t, score, _ in by_score[:TOP_SALIENT] if score > 0}
    for t, _, _ in scored:
        parent = turn_by_id(t.parent) if t.parent is not None else None
        if parent is not None and abs(t.emotion.valence - parent.emotion.valence) > SHARP_CHANGE:
            chosen.add(t.id)
    return tuple(
        SalientMoment(turn_id=t.id, speaker=t.speaker, emotion=t.emotion, text=t.text, weight=score)
        for t, score, _ in by_score
        if t.id in chosen
    )
