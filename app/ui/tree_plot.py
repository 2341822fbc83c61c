"""Matplotlib figures of a conversation: the talking tree and the emotion timeline of a path.

Pure functions: a tree (or a path) in, a `matplotlib.figure.Figure` out. They use the object API
(`Figure`, not `pyplot`), so concurrent sessions never share a global current figure.
"""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from app.ui.view import EMOTION_COLOURS, snippet
from dialogue.tree import TalkingTree
from dialogue.turns import Speaker, Turn

_SHAPE = {Speaker.USER: "s", Speaker.AVATAR: "o"}


def tree_layout(tree: TalkingTree) -> dict[str, tuple[float, float]]:
    """Node id -> (x, y): leaves spread one unit apart left to right, a parent centred over its
    children, y = -depth (the root on top)."""
    root = tree.root
    if root is None:
        return {}
    pos: dict[str, tuple[float, float]] = {}
    next_leaf = [0.0]

    def place(turn: Turn, depth: int) -> float:
        kids = tree.children(turn.id)
        if not kids:
            x = next_leaf[0]
            next_leaf[0] += 1.0
        else:
            xs = [place(k, depth + 1) for k in kids]
            x = (xs[0] + xs[-1]) / 2
        pos[turn.id] = (x, -float(depth))
        return x

    # Recursive: conversations stay far below the recursion limit.
    place(root, 0)
    return pos


def draw_tree(tree: TalkingTree, current: str | None) -> Figure:
    """The whole tree: squares = the person, circles = the avatar, fill = emotion colour, the
    current path drawn thick in black, other branches thin and grey; each node labelled with
    its depth and the start of its text."""
    pos = tree_layout(tree)
    on_path = {t.id for t in tree.path_to(current)} if current else set()
    width = max(6.0, 1.6 * (max((x for x, _ in pos.values()), default=0) + 1))
    height = max(3.0, 0.9 * (len({y for _, y in pos.values()}) + 1))
    fig = Figure(figsize=(min(width, 14), min(height, 12)), dpi=100)
    ax = fig.add_subplot()
    for turn in tree.turns():
        if turn.parent is not None:
            (x0, y0), (x1, y1) = pos[turn.parent], pos[turn.id]
            hot = turn.id in on_path
            ax.plot([x0, x1], [y0, y1], color="#222" if hot else "#bbb", lw=3 if hot else 1.2, zorder=1)
    for turn in tree.turns():
        x, y = pos[turn.id]
        hot = turn.id in on_path
        ax.scatter([x], [y], s=420 if hot else 260, marker=_SHAPE[turn.speaker],
                   c=EMOTION_COLOURS[turn.emotion.label], edgecolors="#111" if hot else "#777",
                   linewidths=2.5 if hot else 1, zorder=2)
        ax.annotate(snippet(turn.text, 22), (x, y), xytext=(15, -3), textcoords="offset points",
                    fontsize=8, color="#111" if hot else "#777")
    ax.legend(handles=_legend(tree), loc="upper right", fontsize=7, frameon=False)
    ax.set_axis_off()
    ax.margins(x=0.25, y=0.15)
    ax.set_title(f"{tree.title}  —  current path in bold", fontsize=10)
    fig.tight_layout()
    return fig


def _legend(tree: TalkingTree) -> list[Line2D]:
    shown = sorted({t.emotion.label for t in tree.turns()}, key=lambda e: e.value)
    handles = [Line2D([], [], marker="s", ls="", color="#555", label="you"),
               Line2D([], [], marker="o", ls="", color="#555", label="avatar")]
    handles += [Line2D([], [], marker="o", ls="", color=EMOTION_COLOURS[e], label=e.value) for e in shown]
    return handles


def draw_timeline(path: list[Turn]) -> Figure:
    """Valence and arousal per turn along `path`: the person (squares) and the avatar (circles)."""
    fig = Figure(figsize=(7, 3.2), dpi=100)
    axes = fig.subplots(1, 2, sharex=True)
    for ax, attr in zip(axes, ("valence", "arousal")):
        for speaker, colour in ((Speaker.USER, "#3b6fd8"), (Speaker.AVATAR, "#e07b00")):
            pts = [(i, getattr(t.emotion, attr)) for i, t in enumerate(path) if t.speaker is speaker]
            if pts:
                xs, ys = zip(*pts)
                ax.plot(xs, ys, marker=_SHAPE[speaker], color=colour,
                        label="you" if speaker is Speaker.USER else "avatar")
        ax.axhline(0, color="#ccc", lw=0.8)
        ax.set_ylim(-1.05, 1.05)
        ax.set_title(attr, fontsize=10)
        ax.set_xlabel("turn")
    axes[0].legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig
