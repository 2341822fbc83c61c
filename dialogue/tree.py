"""The talking tree: every turn of a conversation, with regenerations and edits as sibling branches.

A conversation is a rooted tree of `Turn`s held in a `networkx.DiGraph` (edge parent -> child, the
node attribute "turn" holds the frozen record). Regenerating an avatar reply or editing a user turn
never changes an existing node: it adds a sibling under the same parent, so every version the person
saw stays in the tree (reverse-level traversal reads them, see dialogue/cues.py).

The tree is pure (no I/O); dialogue/store.py persists it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import networkx as nx
from pydantic import ValidationError

from dialogue.turns import EmotionCues, Speaker, Turn, new_id
from emotion import EmotionState

FORMAT = "warmchat.tree"
VERSION = 1


class TreeError(ValueError):
    """The tree cannot do what was asked: unknown id, a second root, a cycle, a bad document."""


class TalkingTree:
    """A conversation's turns as a rooted tree.

    conversation_id: the conversation this tree belongs to. title: its display name.
    current: the id of the turn the person is looking at (the end of the branch shown), or None
    while the tree is empty. `add`, `regenerate` and `edit` move it to the new turn.
    """

    def __init__(self, conversation_id: str, title: str = "") -> None:
        self.conversation_id = conversation_id
        self.title = title
        self.current: str | None = None
        self._g = nx.DiGraph()
        self._root: str | None = None
        self._seq = 0  # insertion counter: breaks created_at ties so ordering is deterministic

    # ---- building -------------------------------------------------------------------------
    def add(self, turn: Turn) -> Turn:
        """Add `turn` under its parent (or as the root when `turn.parent` is None); it becomes current.

        Raises:
            TreeError: the id is already in the tree, the parent is unknown, the turn is its own
                parent, or the tree already has a root.
        """
        if turn.id in self._g:
            raise TreeError(f"turn {turn.id!r} is already in the tree")
        if turn.parent is None:
            if self._root is not None:
                raise TreeError(f"tree already has a root ({self._root!r}); turn {turn.id!r} needs a parent")
            self._root = turn.id
        elif turn.parent == turn.id:
            raise TreeError(f"turn {turn.id!r} cannot be its own parent (cycle)")
        elif turn.parent not in self._g:
            raise TreeError(f"parent {turn.parent!r} of turn {turn.id!r} is not in the tree")
        self._g.add_node(turn.id, turn=turn, seq=self._seq)
        self._seq += 1
        if turn.parent is not None:
            self._g.add_edge(turn.parent, turn.id)
        self.current = turn.id
        return turn

    def regenerate(self, avatar_turn_id: str, new_turn: Turn) -> Turn:
        """Add `new_turn` as a new version of the avatar reply `avatar_turn_id` (a sibling branch).

        `new_turn.parent` may be None (it is set to the old reply's parent) or that same parent.

        Raises:
            TreeError: unknown id; the old or new turn is not the avatar's; the old turn is the
                root (a root has no parent to branch from); `new_turn.parent` is another turn.
        """
        old = self.get(avatar_turn_id)
        for t in (old, new_turn):
            if t.speaker is not Speaker.AVATAR:
                raise TreeError(f"regenerate needs avatar turns; {t.id!r} is the {t.speaker.value}'s")
        return self.add(self._as_sibling_of(old, new_turn))

    def edit(
        self,
        user_turn_id: str,
        new_text: str,
        *,
        emotion: EmotionState | None = None,
        turn_id: str | None = None,
        created_at: float | None = None,
    ) -> Turn:
        """Add an edited copy of the user turn `user_turn_id` as its sibling and return it.

        The copy keeps speaker and role; it gets `new_text`, a new id (`turn_id` or a fresh one),
        `created_at` (default now), `emotion` (default: the old turn's; pass the recognised emotion of
        the new text), no timings and no media (the old audio no longer matches the text).

        Raises:
            TreeError: unknown id; the turn is not the user's; it is the root.
        """
        old = self.get(user_turn_id)
        if old.speaker is not Speaker.USER:
            raise TreeError(f"edit needs a user turn; {user_turn_id!r} is {old.speaker.value}'s")
        new = Turn(
            id=turn_id or new_id(),
            parent=old.parent,
            speaker=old.speaker,
            avatar_role=old.avatar_role,
            text=new_text,
            emotion=old.emotion if emotion is None else emotion,
            created_at=time.time() if created_at is None else created_at,
        )
        return self.add(self._as_sibling_of(old, new))

    def _as_sibling_of(self, old: Turn, new: Turn) -> Turn:
        if old.parent is None:
            raise TreeError(f"turn {old.id!r} is the root; a root has no siblings")
        if new.parent is None:
            return new.model_copy(update={"parent": old.parent})
        if new.parent != old.parent:
            raise TreeError(f"new turn's parent {new.parent!r} is not {old.parent!r}, the parent of {old.id!r}")
        return new

    def set_current(self, turn_id: str) -> None:
        """Make `turn_id` the current turn. Raises TreeError for an unknown id."""
        self.get(turn_id)
        self.current = turn_id

    # ---- reading --------------------------------------------------------------------------
    @property
    def root(self) -> Turn | None:
        """The root turn, or None while the tree is empty."""
        return None if self._root is None else self.get(self._root)

    def __len__(self) -> int:
        return self._g.number_of_nodes()

    def __contains__(self, turn_id: object) -> bool:
        return turn_id in self._g

    def get(self, turn_id: str) -> Turn:
        """The turn with id `turn_id`. Raises TreeError when it is not in the tree."""
        try:
            return self._g.nodes[turn_id]["turn"]
        except KeyError:
            raise TreeError(f"no turn {turn_id!r} in conversation {self.conversation_id!r}") from None

    def turns(self) -> list[Turn]:
        """All turns, parents before children (in the order they were added)."""
        return [self._g.nodes[n]["turn"] for n in sorted(self._g, key=lambda n: self._g.nodes[n]["seq"])]

    def _order(self, ids: Iterable[str]) -> list[Turn]:
        key = lambda n: (self._g.nodes[n]["turn"].created_at, self._g.nodes[n]["seq"])  # noqa: E731
        return [self._g.nodes[n]["turn"] for n in sorted(ids, key=key)]

    def children(self, turn_id: str) -> list[Turn]:
        """The alternatives that follow `turn_id`, oldest first. Raises TreeError for an unknown id."""
        self.get(turn_id)
        return self._order(self._g.successors(turn_id))

    def siblings(self, turn_id: str) -> list[Turn]:
        """The other children of this turn's parent, oldest first (empty for the root).

        Raises TreeError for an unknown id.
        """
        turn = self.get(turn_id)
        if turn.parent is None:
            return []
        return [t for t in self.children(turn.parent) if t.id != turn_id]

    def path_to(self, turn_id: str) -> list[Turn]:
        """The turns from the root down to `turn_id`, both included. Raises TreeError for an unknown id."""
        path = [self.get(turn_id)]
        while path[-1].parent is not None:
            path.append(self.get(path[-1].parent))
        return path[::-1]

    def depth(self, turn_id: str) -> int:
        """Number of edges from the root (the root is at depth 0). Raises TreeError for an unknown id."""
        return len(self.path_to(turn_id)) - 1

    def leaf_of(self, turn_id: str) -> Turn:
        """The current end of the branch through `turn_id`: follow the most recent child down.

        Raises TreeError for an unknown id.
        """
        turn = self.get(turn_id)
        while kids := self.children(turn.id):
            turn = kids[-1]
        return turn

    def branches(self) -> list[list[Turn]]:
        """Every root-to-leaf path, in depth-first order with older alternatives first."""
        if self._root is None:
            return []
        out: list[list[Turn]] = []
        stack: list[list[Turn]] = [[self.get(self._root)]]
        while stack:
            path = stack.pop()
            kids = self.children(path[-1].id)
            if not kids:
                out.append(path)
            stack.extend(path + [k] for k in reversed(kids))
        return out

    def emotion_cues(self, turn_id: str, **weights: Any) -> "EmotionCues":
        """Reverse-level traversal from `turn_id`; see `dialogue.cues.emotion_cues` (same keywords).

        Raises TreeError for an unknown id, ValueError for bad weights.
        """
        from dialogue.cues import emotion_cues  # cues imports this module

        return emotion_cues(self, turn_id, **weights)

    # ---- documents ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready document: {"format": "warmchat.tree", "version": 1, ...}; turns parents first."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "conversation_id": self.conversation_id,
            "title": self.title,
            "current": self.current,
            "turns": [t.model_dump(mode="json") for t in self.turns()],
        }

    @classmethod
    def from_turns(
        cls, conversation_id: str, turns: Iterable[Turn], *, title: str = "", current: str | None = None
    ) -> "TalkingTree":
        """Build a tree from turns in any order; `current` defaults to the most recently created turn.

        Raises:
            TreeError: duplicate ids, a second root, a parent that is missing or part of a cycle,
                an unknown `current`.
        """
        pending: dict[str, Turn] = {}
        for t in turns:
            if t.id in pending:
                raise TreeError(f"turn {t.id!r} appears twice")
            pending[t.id] = t
        tree = cls(conversation_id, title)
        waiting: dict[str, list[Turn]] = {}  # parent id -> turns seen before their parent
        for t in pending.values():  # keeps the given order whenever parents already come first
            if t.parent is not None and t.parent not in tree:
                waiting.setdefault(t.parent, []).append(t)
                continue
            ready = [t]
            while ready:
                nxt = ready.pop(0)
                tree.add(nxt)  # raises on a second root
                ready[:0] = waiting.pop(nxt.id, [])
        if len(tree) != len(pending):
            stray = sorted(set(pending) - set(tree._g))
            missing = sorted({pending[i].parent for i in stray} - set(pending))  # type: ignore[arg-type]
            why = f"parents not in the tree: {missing}" if missing else "they form a cycle"
            raise TreeError(f"turns {stray[:5]} cannot be placed under the root; {why}")
        if current is not None:
            tree.set_current(current)
        elif tree._root is not None:
            tree.current = max(tree.turns(), key=lambda t: (t.created_at, tree._g.nodes[t.id]["seq"])).id
        return tree

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> "TalkingTree":
        """Rebuild a tree from `to_dict()` output.

        Raises:
            TreeError: not a warmchat.tree document, an unsupported version, invalid turns, or any
                structural problem `from_turns` reports.
        """
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise TreeError(f"not a {FORMAT} document (format={_peek(doc, 'format')!r})")
        if doc.get("version") != VERSION:
            raise TreeError(f"unsupported {FORMAT} version {doc.get('version')!r}; this build reads {VERSION}")
        cid, raw = doc.get("conversation_id"), doc.get("turns")
        if not isinstance(cid, str) or not cid:
            raise TreeError("tree document has no conversation_id")
        if not isinstance(raw, list):
            raise TreeError("tree document has no 'turns' list")
        try:
            turns = [Turn.model_validate(t) for t in raw]
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise TreeError(f"invalid turn in tree document: {where}: {first['msg']}") from None
        return cls.from_turns(cid, turns, title=str(doc.get("title") or ""), current=doc.get("current"))


def _peek(doc: object, key: str) -> object:
    return doc.get(key) if isinstance(doc, dict) else type(doc).__name__
